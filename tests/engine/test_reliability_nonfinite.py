"""A NaN loss stops training naming the iteration and the loss terms (or is skipped)."""
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from hpekit.checkpoint.files import NonFiniteCheckpointError
from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.config.setup import load_config, setup_train_config
from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from hpekit.registry import HOOKS

ROOT = Path(__file__).resolve().parents[2]
POISONED_ITER = 4   # 1-based, as the log and the error count iterations


@HOOKS.register_module(force=True)
class PoisonLabelsHook(Hook):
    """Test helper: NaN ground truth in one batch (1-based ``iteration``)."""

    def __init__(self, iteration):
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.iteration:
            sample = data_batch['data_samples'][0]
            sample.gt_joints_3d = torch.full_like(torch.as_tensor(sample.gt_joints_3d),
                                                  float('nan'))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('h36m')
    write_h36m_split(str(root), num_train=12, num_valid=4, size=32, num_frames=4,
                     progress=False)
    return root


def _runner(work_dir, data_root, action, check_finite=True):
    """The tiny video run with iteration checkpoints and a NaN label at POISONED_ITER."""
    options = {f'{loader}.dataset.data_root': str(data_root)
               for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    options.update({'default_hooks.checkpoint.by_epoch': False,
                    'default_hooks.checkpoint.interval': 1,
                    'default_hooks.checkpoint.max_keep_ckpts': -1,
                    'custom_hooks': [dict(type='PoisonLabelsHook', iteration=POISONED_ITER)]})
    if action is not None:
        options['default_hooks.nonfinite_loss.action'] = action
    options['default_hooks.checkpoint.check_finite'] = check_finite
    config = ROOT / 'tests' / 'configs' / 'video_tiny.py'
    cfg = setup_train_config(load_config(str(config), options), str(config),
                             work_dir=str(work_dir))
    if action is None:
        cfg.default_hooks.pop('nonfinite_loss')
    # Runners made within one second would share mmengine's logger (and log file).
    cfg.experiment_name = f'nonfinite_{work_dir.name}'
    init_default_scope('hpekit')
    return Runner.from_cfg(cfg)


def _all_finite(state_dict):
    return all(torch.isfinite(v).all() for v in state_dict.values() if v.is_floating_point())


def test_nan_loss_stops_naming_iteration_and_terms_and_keeps_last_good_checkpoint(
        tmp_path, data_root):
    runner = _runner(tmp_path, data_root, 'stop')
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert f'iteration {POISONED_ITER} ' in message and 'loss_joints=nan' in message
    last = (tmp_path / 'last_checkpoint').read_text().strip()
    assert last.endswith(f'iter_{POISONED_ITER - 1}.pth')
    assert not (tmp_path / f'iter_{POISONED_ITER}.pth').exists()   # no NaN model saved
    assert _all_finite(load_checkpoint_file(last)['state_dict'])
    assert _all_finite(runner.model.state_dict())   # the bad step was not applied


def test_skip_action_skips_the_step_counts_it_and_finishes(tmp_path, data_root):
    runner = _runner(tmp_path, data_root, 'skip')
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.skipped == 1
    assert (tmp_path / 'iter_6.pth').is_file()   # trained to the end
    assert _all_finite(load_checkpoint_file(str(tmp_path / 'iter_6.pth'))['state_dict'])
    log = (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()
    assert f'non-finite loss at iteration {POISONED_ITER}' in log
    assert '1 iteration(s) with a non-finite loss were skipped' in log


def test_without_the_loss_guard_the_checkpoint_guard_stops_before_saving(
        tmp_path, data_root):
    # The NaN step is applied (no loss hook), but SafeCheckpointHook finds the NaN
    # weights before the save: nothing non-finite is written or pointed at.
    runner = _runner(tmp_path, data_root, None)
    with pytest.raises(NonFiniteCheckpointError) as err:
        runner.train()
    message = str(err.value)
    assert f'iter_{POISONED_ITER}.pth' in message and 'state_dict.' in message
    assert f'iter_{POISONED_ITER - 1}.pth' in message   # what last_checkpoint still names
    assert not (tmp_path / f'iter_{POISONED_ITER}.pth').exists()
    last = (tmp_path / 'last_checkpoint').read_text().strip()
    assert last.endswith(f'iter_{POISONED_ITER - 1}.pth')
    assert _all_finite(load_checkpoint_file(last)['state_dict'])


def test_without_either_guard_the_nan_reaches_the_weights(tmp_path, data_root):
    # Guard that the tests above can fail: the same run without the hook ends with NaN
    # weights
    # (mmengine itself does not look at the loss; the NaN weights only surface later,
    # at validation, where the 3D metric refuses NaN predictions).
    runner = _runner(tmp_path, data_root, None, check_finite=False)
    with pytest.raises(ValueError, match='pred holds NaN or Inf'):
        runner.train()
    assert not _all_finite(runner.model.state_dict())


def test_bad_action_is_refused():
    with pytest.raises(ValueError, match="'stop' or 'skip'"):
        NonFiniteLossHook(action='ignore')
