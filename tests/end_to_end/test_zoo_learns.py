"""The quick HRNet and RTMPose configs learn: each trains on a tiny synthetic COCO twin
(tools/train.py's ``main``, in this process) until its loss has fallen and its COCO AP
is far above the mean-pose baseline (tools/mean_pose_baseline_2d.py).

The configs are ``configs/coco/hrnet_synthetic-quick.py`` (HRNet, MMPose's 'origin'
grid, MSE on heatmaps) and ``configs/coco/rtmpose_synthetic-quick.py`` (CSPNeXt +
RTMCCHead, SimCC + KL loss, AdamW, EMA, the stage-2 pipeline switch), as
``make demo-hrnet`` / ``make demo-rtmpose`` train them, with only the data (60 small
images, about 106 training people, 24 val people), the batch size and the number of
epochs fitted to a test (the schedule rescaled to them) and one validation at the end.
Seeded (the configs' seeds), so a run repeats; each takes 25–45 s on 2 shared CPU
cores (one torch thread, tests/conftest.py).
"""
import json
from pathlib import Path

import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.config.cli_options import set_data_root
from hpekit.config.setup import load_config
from hpekit.datasets.synthetic.coco import write_coco_split

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs' / 'coco'


def hrnet_schedule(cfg, epochs):
    """The quick config's Adam schedule over ``epochs``: ×0.1 for the last 2."""
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[epochs - 2],
                                gamma=0.1)]


def rtmpose_schedule(cfg, epochs):
    """The quick config's AdamW schedule over ``epochs``: warm-up over 20 iterations,
    cosine to 5 % over the last 2 epochs, the stage-2 pipeline for the last one."""
    lr = cfg.optim_wrapper.optimizer.lr
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=20),
        dict(type='CosineAnnealingLR', eta_min=lr * 0.05, begin=epochs - 2, end=epochs,
             T_max=2, by_epoch=True, convert_to_iter_based=True)]
    switches = [h for h in cfg.custom_hooks if h['type'] == 'PipelineSwitchHook']
    assert len(switches) == 1
    switches[0]['switch_epoch'] = epochs - 1


# config → (epochs, batch size, schedule fitted to them, the AP it must reach at least)
RUNS = {
    'hrnet_synthetic-quick.py': (10, 8, hrnet_schedule, 0.5),
    'rtmpose_synthetic-quick.py': (20, 16, rtmpose_schedule, 0.35),
}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    write_coco_split(str(root), num_train=60, num_val=12, image_size=(320, 240), seed=3,
                     progress=False)
    return str(root)


def fitted_config(name, root, work_dir):
    """The quick config with the tiny data, the test's epochs and one validation at
    the end, written to ``work_dir`` (what tools/train.py reads)."""
    epochs, batch_size, schedule, _ = RUNS[name]
    cfg = load_config(str(CONFIGS / name))
    set_data_root(cfg, root)
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    schedule(cfg, epochs)
    cfg.default_hooks.checkpoint.interval = epochs
    cfg.default_hooks.logger.interval = 50
    path = Path(work_dir) / name
    cfg.dump(str(path))
    return path


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(RUNS))
def test_quick_config_learns(name, data_root, tmp_path):
    epochs, _, _, min_ap = RUNS[name]
    config = fitted_config(name, data_root, tmp_path)
    runner = load_tool('train').main([str(config), '--work-dir', str(tmp_path)])

    losses = np.asarray(runner.message_hub.get_scalar('train/loss').data[0], np.float64)
    per_epoch = len(losses) // epochs
    assert per_epoch >= 5 and len(losses) == per_epoch * epochs
    first, last = losses[:per_epoch].mean(), losses[-per_epoch:].mean()
    assert np.isfinite(losses).all()
    assert last < 0.8 * first, f'{name}: mean loss {first:.4g} in epoch 1, {last:.4g} last'

    hooks = {type(hook).__name__: hook for hook in runner.hooks}
    if 'PipelineSwitchHook' in hooks:   # the last epoch trained with the stage-2 pipeline
        switch = hooks['PipelineSwitchHook']
        assert switch.switched
        assert runner.train_dataloader.dataset.pipeline is switch._pipeline

    history = json.loads((tmp_path / 'metrics.json').read_text())
    model_ap = history[-1]['coco/AP']
    result = load_tool('mean_pose_baseline_2d').main([str(config), '--work-dir',
                                                      str(tmp_path)])
    baseline = result['baseline']['coco/AP']
    print(f'{name}: loss {first:.4g} → {last:.4g}; AP {model_ap:.3f}, mean-pose '
          f'baseline {baseline:.3f}')
    assert 0.0 <= baseline < 0.2
    assert model_ap >= max(min_ap, 3 * baseline, baseline + 0.2)
