"""Loss and metric curves plotted to ``<work_dir>/curves.png`` after training."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from hpekit.registry import HOOKS
from hpekit.visualization import plot_training_curves


@HOOKS.register_module()
class CurvePlotHook(Hook):
    """After training, plot loss and validation-metric curves to ``<work_dir>/curves.png``.

    Reads the run's ``vis_data/scalars.json`` written by mmengine's LocalVisBackend.
    ``keys`` selects the curves (default: the loss and every metric found).
    """

    priority = 'LOWEST'

    def __init__(self, filename='curves.png', keys=None):
        self.filename = filename
        self.keys = keys

    def after_run(self, runner):
        scalars = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
        if not is_main_process() or not osp.isfile(scalars):
            return
        out = osp.join(runner.work_dir, self.filename)
        plot_training_curves([scalars], out, keys=self.keys)
        runner.logger.info(f'Training curves written to {out}')
