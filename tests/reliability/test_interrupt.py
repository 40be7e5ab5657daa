"""Ctrl-C (SIGINT to the whole process group) at the moments DataLoader workers start.

A real (tiny) training run with 2 workers per loader runs in its own session; the
fork server's ``worker_start`` fault touches a marker just before the N-th worker
process starts, and the test sends SIGINT to the group either then (the main process
is about to fork) or as soon as that worker appears among the run's children (the
worker is starting up, the main process is inside its fork callbacks). Before the
fix, the interrupt was swallowed there and the run finished with status 0, or it
ended with "DataLoader worker … exited unexpectedly".

Each run must end with status 130, the line ``interrupted by SIGINT at epoch E iter
I; last checkpoint: PATH``, no process left in its session, the work dir's lock
free, every checkpoint loadable; ``--resume auto`` then finishes the training.
"""
import fcntl
import glob
import os
import signal
import time
from pathlib import Path

import pytest
from conftest import ForkServer, train_argv

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.engine.interrupt import check_interrupt, interrupt_guard, interrupt_message, interrupted
from hpekit.fileio import WorkDirLock

WORKERS = ('train_dataloader.num_workers=2', 'val_dataloader.num_workers=2')
# Worker starts over the run (2 per loader): 1-2 epoch 1's training, 3-4 its
# validation, 5-6 epoch 2's training. (start, when SIGINT is sent, epoch and
# iterations done when the run stops, the checkpoint last_checkpoint names then.)
MOMENTS = [
    (2, 'after_fork', 0, 0, None),
    (3, 'after_fork', 1, 3, 'iter_3.pth'),
    (6, 'before_fork', 1, 3, 'iter_3.pth'),
]


def _children(pid):
    """Pids of ``pid``'s children."""
    found = set()
    for path in glob.glob(f'/proc/{pid}/task/*/children'):
        try:
            found.update(int(p) for p in Path(path).read_text().split())
        except OSError:
            pass
    return found


def _session_members(sid):
    """Live (not zombie) processes of session ``sid``."""
    members = []
    for path in glob.glob('/proc/[0-9]*/stat'):
        try:
            fields = Path(path).read_text().rsplit(') ', 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != 'Z':
            members.append(int(path.split('/')[2]))
    return members


def _wait_for(condition, pid, log, what, timeout=120):
    """Poll ``condition()`` until true; fail if the run ``pid`` ended first."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline or ForkServer._exited(pid):
            raise AssertionError(f'{what} did not happen; log: {Path(log).read_text()[-3000:]}')
        time.sleep(0.001)


def interrupt_run(server, argv, log, marker, start, when):
    """Start a run, SIGINT its process group at worker start ``start``; its exit code."""
    pid = server.start(argv, log, dict(phase='worker_start', start=start, marker=str(marker)))
    _wait_for(marker.exists, pid, log, f'worker start {start}')
    if when == 'after_fork':
        before = _children(pid)
        _wait_for(lambda: _children(pid) - before, pid, log, f'the fork of worker {start}')
    os.killpg(pid, signal.SIGINT)
    code = server.wait()
    left = _session_members(pid)
    for member in left:   # do not leak them into other tests
        os.kill(member, signal.SIGKILL)
    assert not left, f'processes of the run survived it: {left}'
    return code


def assert_lock_free(work):
    """Nobody holds the work dir's lock, and its holder record was cleared."""
    path = work / WorkDirLock.NAME
    assert path.read_text() == ''
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises if still held
    finally:
        os.close(fd)


def assert_checkpoints_load(work, expected):
    """Every checkpoint loads, and ``last_checkpoint`` names ``expected`` (or is absent)."""
    for path in work.glob('*.pth'):
        load_checkpoint_file(str(path), map_location='cpu')
    assert not list(work.glob('.*.tmp'))
    pointer = work / 'last_checkpoint'
    if expected is None:
        assert not pointer.exists() and not list(work.glob('*.pth'))
    else:
        assert pointer.read_text().strip() == str(work / expected)


def test_sigint_while_workers_start(tmp_path, fork_server, fault_config, data_root):
    work = None
    for start, when, epoch, iters, checkpoint in MOMENTS:
        work = tmp_path / f'start{start}_{when}'
        log = tmp_path / f'start{start}_{when}.out'
        argv = train_argv(fault_config, work, data_root, *WORKERS)
        code = interrupt_run(fork_server, argv, log, tmp_path / f'start{start}.marker',
                             start, when)
        text = log.read_text()
        assert code == 130, f'worker start {start} ({when}): exit {code}; {text[-3000:]}'
        last = str(work / checkpoint) if checkpoint else 'none'
        assert (f'interrupted by SIGINT at epoch {epoch} iter {iters}; last checkpoint: '
                f'{last}') in text, text[-3000:]
        for wrong in ('exited unexpectedly', 'Failed to format the config',
                      'Exception ignored in: <function _releaseLock'):
            assert wrong not in text, text[-3000:]
        assert_lock_free(work)
        assert_checkpoints_load(work, checkpoint)
    # The last run stopped as epoch 2's workers started: resume it.
    log = tmp_path / 'resume.out'
    code = fork_server.run(train_argv(fault_config, work, data_root, *WORKERS), log)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert f'--resume auto: resuming from {work / "iter_3.pth"}' in text
    assert load_checkpoint_file(str(work / 'iter_6.pth'))['meta']['iter'] == 6
    assert_lock_free(work)


def test_guard_keeps_a_swallowed_interrupt():
    """A KeyboardInterrupt caught on its way (as in a fork callback) is raised again."""
    previous = signal.getsignal(signal.SIGINT)
    with interrupt_guard():
        assert not interrupted()
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)   # the handler runs here and raises at once
        except KeyboardInterrupt:
            pass   # swallowed
        assert interrupted()
        with pytest.raises(KeyboardInterrupt):
            check_interrupt()
    assert signal.getsignal(signal.SIGINT) is previous
    assert interrupt_message(None).startswith('interrupted by SIGINT before training')


def test_forked_child_ignores_sigint_under_the_guard():
    """A child forked under the guard (a DataLoader worker) ignores SIGINT: the parent
    stops it. Without the guard the same child is interrupted."""
    def child_status():
        pid = os.fork()
        if pid == 0:   # SIGINT to itself: exit 0 if it is ignored, 1 if it interrupts
            code = 1
            try:
                os.kill(os.getpid(), signal.SIGINT)
                code = 0 if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else 2
            finally:
                os._exit(code)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    with interrupt_guard():
        assert child_status() == 0
    assert child_status() == 1
