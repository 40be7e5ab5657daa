"""Hooks hpekit adds to mmengine's Runner (registered in ``hpekit.registry.HOOKS``)."""
import json
import os.path as osp
import random

import numpy as np
import torch
from mmengine.dist import get_rank, is_main_process
from mmengine.hooks import Hook

from hpekit.registry import HOOKS
from hpekit.utils.io import to_builtin, write_json_atomic


def seed_everything(seed):
    """Seed Python's ``random``, numpy's global RNG and torch (CPU and CUDA) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed every RNG at the start of each training epoch from (seed, epoch, rank).

    mmengine seeds once per run, so a run resumed from a checkpoint draws different
    augmentations and dropout masks than the uninterrupted run. Seeding each epoch
    from ``randomness.seed`` + epoch (+ rank) makes an epoch's randomness independent
    of what ran before it: resuming at an epoch boundary continues exactly. DataLoader
    workers derive their seeds from torch's RNG (see ``seed_worker``), so they follow.

    Does nothing when the config sets no seed.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner):
        seed = runner.seed
        if seed is None:
            return
        seed_everything(seed + 100_003 * runner.epoch + 7_919 * get_rank())


@HOOKS.register_module()
class MetricsJsonHook(Hook):
    """Write every validation result to ``<work_dir>/metrics.json`` (rank 0 only).

    The file holds a JSON list, one object per evaluation:
    ``{"epoch": int, "iter": int, <metric>: float, ...}``; it is rewritten atomically
    after each evaluation so a person (or a plot script) can read it at any time.
    A resumed run keeps the file's records up to the resumed iteration (later ones
    are evaluated again), so it ends with the uninterrupted run's file. A record for
    an (epoch, iter) already in the file replaces it: a run resumed from the
    checkpoint of an epoch's last iteration validates that epoch again.
    """

    priority = 'LOW'

    def __init__(self, filename='metrics.json'):
        self.filename = filename
        self.history = []

    def before_train(self, runner):
        path = osp.join(runner.work_dir, self.filename)
        if runner.iter > 0 and osp.isfile(path):   # resumed in a work dir with history
            with open(path, encoding='utf-8') as f:
                self.history = [r for r in json.load(f) if r['iter'] <= runner.iter]

    def after_val_epoch(self, runner, metrics=None):
        if not metrics or not is_main_process():
            return
        record = {'epoch': runner.epoch, 'iter': runner.iter}
        record.update({k: to_builtin(v) for k, v in metrics.items()})
        self.history = [r for r in self.history
                        if (r.get('epoch'), r.get('iter')) != (record['epoch'], record['iter'])]
        self.history.append(record)
        write_json_atomic(osp.join(runner.work_dir, self.filename), self.history)


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
        from hpekit.visualization import plot_training_curves
        scalars = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
        if not is_main_process() or not osp.isfile(scalars):
            return
        out = osp.join(runner.work_dir, self.filename)
        plot_training_curves([scalars], out, keys=self.keys)
        runner.logger.info(f'Training curves written to {out}')


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put the model's 4-D parameters and buffers in ``torch.channels_last`` memory format.

    Faster convolutions on recent GPUs (tensor cores prefer NHWC); the values and the
    outputs are the same. Inputs in the default layout are converted by the first
    convolution. Enable with ``custom_hooks = [dict(type='ChannelsLastHook')]`` (or
    ``tools/benchmark.py --channels-last``).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner):
        runner.model.to(memory_format=torch.channels_last)


@HOOKS.register_module()
class DumpPredictionsHook(Hook):
    """Write every test sample's prediction (and ground truth) to a .npz or .json file.

    ``tools/test.py --dump FILE`` adds it. The model's outputs of each test batch (data
    samples: ``pred_joints_3d``, ``gt_joints_3d``, ``pred_instances``…) are gathered
    from every rank in dataset order and written by rank 0 with
    ``hpekit.utils.io.save_predictions``: plain arrays, no pickle, so reading the file
    (``load_predictions``, ``np.load(allow_pickle=False)``) cannot run code.

    Args:
        out_file (str): ``.npz`` or ``.json`` path (a ``.pkl`` name is refused).
    """

    priority = 'LOW'

    def __init__(self, out_file):
        from hpekit.utils.io import check_predictions_path
        check_predictions_path(out_file, 'DumpPredictionsHook: out_file')
        self.out_file = out_file
        self.results = []

    def before_test_epoch(self, runner):
        self.results = []

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from hpekit.utils.io import flatten_samples
        samples, _ = flatten_samples(outputs or [])
        self.results.extend(samples)

    def after_test_epoch(self, runner, metrics=None):
        from mmengine.dist import collect_results
        from hpekit.utils.io import save_predictions
        size = len(runner.test_dataloader.dataset)
        results = collect_results(self.results, size, device='cpu')
        if not is_main_process():
            return
        skipped = save_predictions(self.out_file, results)
        note = f' (not stored: {", ".join(skipped)})' if skipped else ''
        runner.logger.info(f'Predictions of {len(results)} samples written to '
                           f'{self.out_file}{note}')


# SafeCheckpointHook (default_hooks.checkpoint) lives in its own module; registered here.
from . import checkpoint_hook  # noqa: F401,E402
