"""SafeCheckpointHook under faults: a full disk, damaged checkpoints and pointer, stale
temporary files, a second run in the same work dir, a resume under another data plan,
a resume at an epoch's last iteration, NaN in the optimizer state."""
import errno
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from conftest import ITERS, assert_same_weights, build_runner, env, log_text
from mmengine.hooks import Hook

import hpekit.fileio as hpekit_io
from hpekit.checkpoint.files import CheckpointWriteError, NonFiniteCheckpointError
from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.checkpoint.resume import ResumeMismatchError
from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.fileio import WorkDirLock, WorkDirLockedError
from hpekit.registry import HOOKS


def _copy(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('2*'))   # not the log dirs
    return dst


def _temps(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith('.') and n.endswith('.tmp'))


# ----------------------------------------------------------------------- full disk
class _FullDisk:
    """A file whose writes fail with ENOSPC after ``room`` bytes."""

    def __init__(self, f, room):
        self.f, self.room = f, room

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, 'No space left on device')
        self.room -= len(data)
        return self.f.write(data)


def test_disk_full_mid_save_keeps_the_old_checkpoint_and_names_the_path(
        tmp_path, monkeypatch, fault_config, data_root, straight):
    work = tmp_path / 'work'
    real_open = open

    def filling_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        target = os.path.basename(os.readlink(f'/proc/self/fd/{file}')) \
            if isinstance(file, int) else ''
        return _FullDisk(f, 300_000) if target.startswith('.iter_4.pth.') else f

    monkeypatch.setattr(hpekit_io, 'open', filling_open, raising=False)
    runner = build_runner(fault_config, work, data_root,
                          **{'default_hooks.checkpoint.max_keep_ckpts': 1})
    with pytest.raises(CheckpointWriteError) as err:
        runner.train()
    monkeypatch.undo()
    message = str(err.value)
    assert err.value.errno == errno.ENOSPC
    assert f'could not write checkpoint {work / "iter_4.pth"} (the disk is full)' in message
    assert 'MiB free in' in message and 'previous checkpoints and last_checkpoint are intact' \
        in message
    # max_keep_ckpts=1: the old checkpoint is still there, complete, and pointed at.
    assert sorted(n for n in os.listdir(work) if n.startswith('iter_')) == ['iter_3.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
    load_checkpoint_file(str(work / 'iter_3.pth'))
    assert _temps(work) == []
    # Space freed: --resume auto continues and ends exactly like the uninterrupted run.
    build_runner(fault_config, work, data_root, resume='auto',
                 **{'default_hooks.checkpoint.max_keep_ckpts': 1}).train()
    assert_same_weights(work / f'iter_{ITERS}.pth', straight / f'iter_{ITERS}.pth')


# --------------------------------------------------------- damaged files on resume
def test_resume_auto_skips_a_damaged_pointer_and_damaged_newest_checkpoints(
        tmp_path, fault_config, data_root, straight):
    work = _copy(straight, tmp_path / 'work')
    (work / 'last_checkpoint').write_text('')                        # killed mid-write
    newest = work / 'iter_6.pth'
    newest.write_bytes(newest.read_bytes()[:5000])                   # truncated
    data = bytearray((work / 'iter_5.pth').read_bytes())
    data[len(data) // 2] ^= 0xFF                                     # a flipped bit
    (work / 'iter_5.pth').write_bytes(bytes(data))
    for name in ('.iter_7.pth.k2j4h5g6.tmp', '.last_checkpoint.a1b2c3d4.tmp'):
        (work / name).write_bytes(b'partial')                        # killed saves
    (work / 'notes.tmp').write_text('not ours')                      # left alone
    runner = build_runner(fault_config, work, data_root, resume='auto')
    runner.train()
    log = log_text(runner)
    assert f'{work / "last_checkpoint"}: is empty' in log
    assert f'{newest}: checkpoint {newest} could not be read' in log
    assert 'iter_5.pth is corrupt: the checksum' in log
    assert f'Resuming from {work / "iter_4.pth"}, the newest one that loads' in log
    assert "Removed " + str(work / '.iter_7.pth.k2j4h5g6.tmp') in log
    assert _temps(work) == [] and (work / 'notes.tmp').exists()
    assert_same_weights(work / f'iter_{ITERS}.pth', straight / f'iter_{ITERS}.pth')
    assert (json.loads((work / 'metrics.json').read_text())
            == json.loads((straight / 'metrics.json').read_text()))


def test_resume_auto_with_no_loadable_checkpoint_is_an_error_listing_each(
        tmp_path, fault_config, data_root):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'iter_2.pth').write_bytes(b'\0' * 100)
    (work / 'last_checkpoint').write_text(str(work / 'iter_9.pth'))
    runner = build_runner(fault_config, work, data_root, resume='auto')
    with pytest.raises(Exception, match=r'no checkpoint in .* can be loaded:\n.*'
                                        r'last_checkpoint: names .*iter_9.pth, which does '
                                        r'not exist\n.*iter_2.pth'):
        runner.train()


# ------------------------------------------------------------ lock and empty dir
HOLD_LOCK = '''
import sys, time
from hpekit.fileio import WorkDirLock
WorkDirLock(sys.argv[1]).acquire()
print('locked', flush=True)
time.sleep(600)
'''


def test_a_second_run_in_the_same_work_dir_is_refused_and_a_dead_ones_lock_taken_over(
        tmp_path, fault_config, data_root):
    work = tmp_path / 'work'
    holder = subprocess.Popen([sys.executable, '-c', HOLD_LOCK, str(work)], env=env(),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        runner = build_runner(fault_config, work, data_root, resume='auto',
                              **{'train_cfg.max_epochs': 1})
        with pytest.raises(WorkDirLockedError) as err:
            runner.train()
        message = str(err.value)
        assert f'work dir {work} is in use by another training run: pid {holder.pid}' \
            in message and 'choose another --work-dir' in message
        assert not list(work.glob('*.pth'))   # it stopped before training
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    runner = build_runner(fault_config, work, data_root, resume='auto',
                          **{'train_cfg.max_epochs': 1})
    runner.train()
    log = log_text(runner)
    assert f'Took over the lock {work}/.hpekit_train.lock of an earlier run (pid ' \
           f'{holder.pid}' in log
    assert f'--resume auto: no checkpoint found in {work} (no last_checkpoint, no *.pth): ' \
           f'training starts from scratch' in log
    assert (work / 'iter_3.pth').exists()
    # Released at the end: the next run in this dir may start.
    assert WorkDirLock(str(work)).acquire() is None


# ----------------------------------------------------------------- resume planning
def test_resume_under_another_batch_size_or_dataset_is_refused(
        tmp_path, fault_config, data_root, straight):
    work = _copy(straight, tmp_path / 'work')
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    runner = build_runner(fault_config, work, data_root, resume='auto',
                          **{'train_dataloader.batch_size': 2})
    with pytest.raises(ResumeMismatchError) as err:
        runner.train()
    message = str(err.value)
    assert f'cannot resume from {work / "iter_4.pth"}' in message
    assert 'batch size 4 per process × 1 process(es), 12 training samples → 3 iterations' \
        in message and 'batch size 2 per process' in message and '6 iterations' in message
    assert 'load_from=' in message
    other = tmp_path / 'other_data'
    write_h36m_split(str(other), num_train=8, num_valid=4, size=32, num_frames=4,
                     progress=False)
    runner = build_runner(fault_config, work, other, resume='auto')
    with pytest.raises(ResumeMismatchError, match=r'8 training samples → 2 iterations .*'
                                                  r'changed: dataset_len, iters_per_epoch'):
        runner.train()
    assert not (work / 'iter_5.pth').read_bytes() == b''   # nothing was touched


@HOOKS.register_module(force=True)
class StopBeforeIterHook(Hook):
    """Test helper: the run stops (an exception) before iteration ``iteration + 1``."""

    def __init__(self, iteration):
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.iteration:
            raise KeyboardInterrupt('stopped by the test')


def test_resume_at_an_epochs_last_iteration_writes_each_validation_once(
        tmp_path, fault_config, data_root, straight):
    # Without a best checkpoint, iter_3.pth is saved before epoch 1's validation, so
    # the resumed run validates epoch 1 again: its record must replace the old one.
    work = tmp_path / 'work'
    options = {'default_hooks.checkpoint.save_best': None}
    runner = build_runner(fault_config, work, data_root, **options, custom_hooks=[
        dict(type='EpochSeedHook'), dict(type='MetricsJsonHook'),
        dict(type='StopBeforeIterHook', iteration=3)])
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    first = json.loads((work / 'metrics.json').read_text())
    assert [(r['epoch'], r['iter']) for r in first] == [(1, 3)]
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
    runner = build_runner(fault_config, work, data_root, resume='auto', **options)
    runner.train()
    assert 'skipping its first 3 of 3 batches' in log_text(runner)
    records = json.loads((work / 'metrics.json').read_text())
    assert [(r['epoch'], r['iter']) for r in records] == [(1, 3), (2, 6)]
    assert records == json.loads((straight / 'metrics.json').read_text())


# ------------------------------------------------------------------ non-finite state
@HOOKS.register_module(force=True)
class PoisonOptimizerStateHook(Hook):
    """Test helper: NaN in Adam's second moment after the step of ``iteration``
    (the weights stay finite; the loss stays finite)."""

    priority = 'HIGH'   # before the checkpoint hook

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            state = next(iter(runner.optim_wrapper.optimizer.state.values()))
            state['exp_avg_sq'].view(-1)[0] = float('nan')


@pytest.mark.parametrize('check', [True, False], ids=['guard', 'no_guard'])
def test_nan_in_the_optimizer_state_is_never_checkpointed(tmp_path, fault_config,
                                                          data_root, check):
    work = tmp_path / 'work'
    runner = build_runner(fault_config, work, data_root, **{
        'custom_hooks': [dict(type='PoisonOptimizerStateHook', iteration=4)],
        'default_hooks.checkpoint.check_finite': check, 'train_cfg.max_epochs': 2})
    if not check:   # guard: the test can fail — the NaN state is saved and pointed at
        with pytest.raises(Exception):
            runner.train()
        state = load_checkpoint_file(str(work / 'iter_4.pth'))['optimizer']['state']
        assert any(not torch.isfinite(s['exp_avg_sq']).all() for s in state.values())
        return
    with pytest.raises(NonFiniteCheckpointError) as err:
        runner.train()
    message = str(err.value)
    assert f'not saving checkpoint {work / "iter_4.pth"}' in message
    assert 'optimizer.state.' in message and '.exp_avg_sq (1 of ' in message
    assert f'last_checkpoint still names {work / "iter_3.pth"}' in message
    assert not (work / 'iter_4.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')


def test_bad_retention_values_are_refused():
    from hpekit.engine.hooks.checkpoint import SafeCheckpointHook
    for bad in (0, -2, 1.5, '3', True):
        with pytest.raises(ValueError, match='max_keep_ckpts must be an int >= 1, or -1'):
            SafeCheckpointHook(interval=1, max_keep_ckpts=bad)
    with pytest.raises(ValueError, match='interval must be an int >= 1, or -1'):
        SafeCheckpointHook(interval=0)
    with pytest.raises(ValueError, match='local files only'):
        SafeCheckpointHook(interval=1, out_dir='s3://bucket/ckpts')
