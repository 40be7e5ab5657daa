"""Every test sample's prediction written to a ``.npz`` or ``.json`` file (``--dump``)."""
from mmengine.dist import collect_results, is_main_process
from mmengine.hooks import Hook

from hpekit.fileio import check_predictions_path, flatten_samples, save_predictions
from hpekit.registry import HOOKS


@HOOKS.register_module()
class DumpPredictionsHook(Hook):
    """Write every test sample's prediction (and ground truth) to a .npz or .json file.

    ``tools/test.py --dump FILE`` adds it. The model's outputs of each test batch (data
    samples: ``pred_joints_3d``, ``gt_joints_3d``, ``pred_instances``…) are gathered
    from every rank in dataset order and written by rank 0 with
    ``hpekit.fileio.save_predictions``: plain arrays, no pickle, so reading the file
    (``load_predictions``, ``np.load(allow_pickle=False)``) cannot run code.

    Args:
        out_file (str): ``.npz`` or ``.json`` path (a ``.pkl`` name is refused).
    """

    priority = 'LOW'

    def __init__(self, out_file):
        check_predictions_path(out_file, 'DumpPredictionsHook: out_file')
        self.out_file = out_file
        self.results = []

    def before_test_epoch(self, runner):
        self.results = []

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        samples, _ = flatten_samples(outputs or [])
        self.results.extend(samples)

    def after_test_epoch(self, runner, metrics=None):
        size = len(runner.test_dataloader.dataset)
        results = collect_results(self.results, size, device='cpu')
        if not is_main_process():
            return
        skipped = save_predictions(self.out_file, results)
        note = f' (not stored: {", ".join(skipped)})' if skipped else ''
        runner.logger.info(f'Predictions of {len(results)} samples written to '
                           f'{self.out_file}{note}')
