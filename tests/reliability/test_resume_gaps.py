"""Two gaps an independent fault trial left open; both resume with ``--resume auto``.

1. Ctrl-C during epoch 1's validation, epoch checkpoints: ``epoch_1.pth`` was saved
   before that validation (``after_train_epoch``), so the resumed run started epoch 2
   and ``metrics.json`` silently lacked epoch 1's record. ``ExactResumeTrainLoop`` now
   validates such an epoch first (``_finish_interrupted_validation``).
2. The disk full while a new best checkpoint is saved (its own write, or the latest
   checkpoint's write that follows it): the resumed run ends with exactly one best
   file, the real best, named by the message hub; no temporary or stale best is left.

In-process runners, as tests/reliability/test_data_lost.py.
"""
import errno
import itertools
import json
import os

import pytest
from conftest import assert_same_weights, build_runner, log_text
from mmengine.hooks import Hook

import hpekit.fileio as hpekit_io
from hpekit.checkpoint.files import CheckpointWriteError
from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.registry import HOOKS

EPOCHS = {'default_hooks.checkpoint.by_epoch': True}   # epoch_1.pth, epoch_2.pth
_NAMES = itertools.count()


def _runner(config, work, data_root, **options):
    # a visualizer of its own (see test_data_lost._runner)
    return build_runner(config, work, data_root,
                        **{'visualizer.name': f'resume_gaps_{next(_NAMES)}'}, **options)


def _metrics(work):
    return json.loads((work / 'metrics.json').read_text())


def _pth(work):
    return sorted(n for n in os.listdir(work) if n.endswith('.pth'))


def _temps(work):
    return sorted(n for n in os.listdir(work) if n.endswith('.tmp'))


def _hub(path):
    return load_checkpoint_file(str(path), map_location='cpu')['message_hub']['runtime_info']


@HOOKS.register_module(force=True)
class CtrlCAtValidationHook(Hook):
    """Test helper: a Ctrl-C (``KeyboardInterrupt``, what Python's SIGINT handler
    raises) at the first validation iteration after epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if runner.epoch == self.epoch:
            raise KeyboardInterrupt


# ------------------------------------- case 1: Ctrl-C during the first validation
def test_ctrl_c_at_first_validation_then_resume_validates_epoch_1_first(
        tmp_path, fault_config, data_root):
    straight = tmp_path / 'straight'
    _runner(fault_config, straight, data_root, **EPOCHS).train()
    assert [(r['epoch'], r['iter']) for r in _metrics(straight)] == [(1, 3), (2, 6)]

    work = tmp_path / 'work'
    hooks = [dict(type='EpochSeedHook'), dict(type='MetricsJsonHook'),
             dict(type='CtrlCAtValidationHook', epoch=1)]
    with pytest.raises(KeyboardInterrupt):
        _runner(fault_config, work, data_root, custom_hooks=hooks, **EPOCHS).train()
    assert _pth(work) == ['epoch_1.pth']                  # saved before the validation
    assert not (work / 'metrics.json').exists()

    runner = _runner(fault_config, work, data_root, resume='auto', **EPOCHS)
    runner.train()
    log = log_text(runner)
    assert 'Resumed after epoch 1 (iteration 3), whose validation did not finish ' \
           '(metrics.json has no record of it; the run was interrupted): validating ' \
           'epoch 1 before training on.' in log
    # epoch 1 has its record (before: only epoch 2's), equal to the uninterrupted run's
    assert _metrics(work) == _metrics(straight)
    # and the resume is still exact: same weights, same files, same best
    assert_same_weights(work / 'epoch_2.pth', straight / 'epoch_2.pth')
    assert _pth(work) == _pth(straight)
    assert _hub(work / 'epoch_2.pth')['best_ckpt'] == _hub(straight / 'epoch_2.pth')['best_ckpt']

    # Resuming the finished run again repeats no validation: its epoch_2.pth was saved
    # again after the validation (a new best), and says so.
    assert _hub(work / 'epoch_2.pth')['hpekit_validated_iter'] == 6   # a new best
    again = _runner(fault_config, work, data_root, resume='auto', **EPOCHS)
    again.train()
    assert 'whose validation did not finish' not in log_text(again)
    assert _metrics(work) == _metrics(straight)


# ----------------------------------------- case 2: disk full while saving a new best
class _FullDisk:
    """A file whose every write fails with ENOSPC."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def write(self, data):
        raise OSError(errno.ENOSPC, 'No space left on device')


@pytest.fixture(scope='module')
def straight_iters(tmp_path_factory, fault_config, data_root):
    """The uninterrupted run of the fault config (iteration checkpoints, keep all)."""
    work = tmp_path_factory.mktemp('straight_iters') / 'work'
    _runner(fault_config, work, data_root).train()
    # the second validation is a new best: it replaces the first one's
    assert [n for n in _pth(work) if n.startswith('best_')] == ['best_mpjpe_iter_6.pth']
    return work


@pytest.mark.parametrize('full_at', ['the new best', 'the latest, after the new best'])
def test_disk_full_while_saving_a_new_best_then_resume_leaves_one_real_best(
        tmp_path, monkeypatch, full_at, fault_config, data_root, straight_iters):
    work = tmp_path / 'work'
    # the epoch-2 validation's saves: best_mpjpe_iter_6.pth, then iter_6.pth again
    target, nth = (('.best_mpjpe_iter_6.pth.', 1) if full_at == 'the new best'
                   else ('.iter_6.pth.', 2))
    opened = []
    real_open = open

    def filling_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        name = os.path.basename(os.readlink(f'/proc/self/fd/{file}')) \
            if isinstance(file, int) else ''
        if name.startswith(target):
            opened.append(name)
            if len(opened) == nth:
                return _FullDisk(f)
        return f

    monkeypatch.setattr(hpekit_io, 'open', filling_open, raising=False)
    with pytest.raises(CheckpointWriteError) as err:
        _runner(fault_config, work, data_root).train()
    monkeypatch.undo()
    assert err.value.errno == errno.ENOSPC and '(the disk is full)' in str(err.value)
    assert _temps(work) == []
    bests = [n for n in _pth(work) if n.startswith('best_')]
    assert bests == (['best_mpjpe_iter_3.pth'] if full_at == 'the new best'
                     else ['best_mpjpe_iter_3.pth', 'best_mpjpe_iter_6.pth'])
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_6.pth')

    # Space freed: resumed to the end.
    runner = _runner(fault_config, work, data_root, resume='auto')
    runner.train()
    log = log_text(runner)
    assert f'--resume auto: resuming from {work / "iter_6.pth"}' in log
    assert _pth(work) == _pth(straight_iters)                   # one best, no stale one
    assert _temps(work) == []
    assert f'Removed {work / "best_mpjpe_iter_3.pth"}' in log
    # the real best: the uninterrupted run's file, scored as the best record
    assert_same_weights(work / 'best_mpjpe_iter_6.pth', straight_iters / 'best_mpjpe_iter_6.pth')
    hub = _hub(work / 'iter_6.pth')
    assert hub['best_ckpt'] == 'best_mpjpe_iter_6.pth'
    metrics = _metrics(work)
    assert metrics == _metrics(straight_iters)
    assert hub['best_score'] == min(r['mpjpe'] for r in metrics)
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_6.pth')
    assert_same_weights(work / 'iter_6.pth', straight_iters / 'iter_6.pth')
