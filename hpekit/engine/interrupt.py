"""Ctrl-C (SIGINT) in a training run: stop promptly, say where, exit with status 130.

Ctrl-C sends SIGINT to the whole foreground process group: the training process and
its DataLoader workers. Python's own handling loses it in three places:

- a SIGINT that arrives while the main process forks a worker runs its handler inside
  an ``os.register_at_fork`` callback (logging's ``_releaseLock``), where CPython
  prints ``Exception ignored in …`` and drops the ``KeyboardInterrupt``: the run goes
  on and ends with status 0;
- a worker interrupted during its start-up (before torch's worker loop catches
  ``KeyboardInterrupt``) exits with status 1, and the main process stops with
  "DataLoader worker … exited unexpectedly" instead of the interrupt;
- mmengine turns a ``KeyboardInterrupt`` inside ``Config.pretty_text`` (a bare
  ``except:``) into a ``SyntaxError``.

``interrupt_guard()`` (used by ``tools/train.py``) therefore records every SIGINT
before raising ``KeyboardInterrupt``, blocks SIGINT while the process forks, and makes
forked children (the DataLoader workers) ignore it: the main process alone decides,
and stops them. ``InterruptHook`` re-raises a recorded interrupt at the next
iteration or epoch boundary of training or validation, so a swallowed one still stops
the run within one iteration. ``stop_interrupted`` ends the run: it stops the
children, releases the work dir's lock, and logs ``interrupted by SIGINT at epoch E
iter I; last checkpoint: PATH`` (E and I count completed epochs and iterations, as
the checkpoint names do). Checkpoints are written atomically, so none is half
written; ``--resume auto`` continues from the one named.
"""
import contextlib
import glob
import multiprocessing
import os
import signal
import sys
import time

from mmengine.hooks import CheckpointHook, Hook

from hpekit.fileio import WorkDirLock
from hpekit.registry import HOOKS

EXIT_STATUS = 128 + signal.SIGINT   # 130, what shells report for a Ctrl-C


class _Guard:
    """The state of the guard: whether it is on and whether a SIGINT arrived."""

    active = False
    interrupted = False
    fork_hooks = False   # os.register_at_fork callbacks cannot be removed: register once


def _on_sigint(signum, frame):
    """Record the interrupt, then raise it (it may be swallowed; the record stays)."""
    _Guard.interrupted = True
    raise KeyboardInterrupt


def _block_sigint():
    """Before a fork: hold SIGINT back, so neither process handles it mid-fork."""
    if _Guard.active:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _unblock_sigint_in_parent():
    """After a fork, in the parent: let a held-back SIGINT through.

    Its handler runs right here, inside a fork callback, where CPython would print
    and drop the ``KeyboardInterrupt``; it is dropped quietly instead: the record
    stays and ``InterruptHook`` raises it at the next iteration.
    """
    if _Guard.active:
        with contextlib.suppress(KeyboardInterrupt):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _ignore_sigint_in_child():
    """After a fork, in the child (a DataLoader worker): ignore SIGINT from now on.

    Setting ``SIG_IGN`` discards a SIGINT held back since the fork; the main process
    handles the interrupt and stops its workers.
    """
    if _Guard.active:
        _Guard.active = False
        with contextlib.suppress(ValueError):   # not the main thread: keep the handler
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def interrupt_guard():
    """Record SIGINT and keep it from forked children while the block runs.

    Must be entered in the main thread. On leaving, the previous SIGINT handler is
    restored (``interrupted()`` keeps its answer until the next guard).
    """
    _Guard.interrupted = False
    previous = signal.signal(signal.SIGINT, _on_sigint)
    if not _Guard.fork_hooks and hasattr(os, 'register_at_fork'):
        os.register_at_fork(before=_block_sigint, after_in_parent=_unblock_sigint_in_parent,
                            after_in_child=_ignore_sigint_in_child)
        _Guard.fork_hooks = True
    _Guard.active = True
    try:
        yield
    finally:
        _Guard.active = False
        signal.signal(signal.SIGINT, previous)


def interrupted():
    """Whether a SIGINT arrived since the guard was entered."""
    return _Guard.interrupted


def check_interrupt():
    """Raise ``KeyboardInterrupt`` if a SIGINT arrived (also one that was swallowed)."""
    if _Guard.interrupted:
        raise KeyboardInterrupt


@HOOKS.register_module()
class InterruptHook(Hook):
    """Stop at the next iteration or epoch boundary once a SIGINT arrived.

    A ``KeyboardInterrupt`` swallowed on its way (see the module doc) would let the run
    go on; this hook raises it again. It runs last, so an iteration's checkpoint is
    saved first. ``tools/train.py`` registers it; without ``interrupt_guard`` it does
    nothing.
    """

    priority = 'LOWEST'

    def before_train_epoch(self, runner):
        check_interrupt()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        check_interrupt()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        check_interrupt()

    def before_val_epoch(self, runner):
        check_interrupt()

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        check_interrupt()

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        check_interrupt()

    def after_val_epoch(self, runner, metrics=None):
        check_interrupt()


def _child_pids():
    """Pids of this process's children (Linux: /proc/<pid>/task/*/children)."""
    pids = set()
    for path in glob.glob(f'/proc/{os.getpid()}/task/*/children'):
        with contextlib.suppress(OSError), open(path) as f:
            pids.update(int(pid) for pid in f.read().split())
    return pids


def _kill_and_reap(pids, timeout):
    """SIGKILL the children ``pids`` and wait (up to ``timeout`` s) until they are gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                alive.discard(pid)
        time.sleep(0.01 if alive else 0)


def stop_children(timeout=5.0):
    """Terminate this process's children (DataLoader workers) and reap them.

    multiprocessing's processes get SIGTERM, then SIGKILL if still alive after
    ``timeout`` s; a child it does not know (a worker forked while its ``start()`` was
    interrupted) gets SIGKILL. torch's SIGCHLD handler (it reports workers killed by a
    signal as errors) is switched off first: here they are stopped on purpose.
    """
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    known = multiprocessing.active_children()
    for process in known:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in known:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(timeout)
    _kill_and_reap(_child_pids() - {process.pid for process in known}, timeout)


def last_checkpoint(runner):
    """The checkpoint ``last_checkpoint`` of the runner's checkpoint folder names, or None."""
    folder = runner.work_dir
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and hasattr(hook, '_ckpt_dir'):
            folder = hook._ckpt_dir(runner)
    try:
        with open(os.path.join(folder, 'last_checkpoint')) as f:
            return f.read().strip() or None
    except OSError:
        return None


def interrupt_message(runner):
    """``interrupted by SIGINT at epoch E iter I; last checkpoint: PATH`` (or before training)."""
    if runner is None:
        return ('interrupted by SIGINT before training started; this run wrote no '
                'checkpoint')
    return (f'interrupted by SIGINT at epoch {runner.epoch} iter {runner.iter}; last '
            f'checkpoint: {last_checkpoint(runner) or "none"}')


def stop_interrupted(runner):
    """End an interrupted run: stop the workers, unlock the work dir, log where it stopped.

    Further SIGINTs are ignored meanwhile (this takes at most a few seconds). Returns
    ``EXIT_STATUS`` (130) for ``SystemExit``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_children()
    if runner is not None:
        WorkDirLock(runner.work_dir).release()
    message = interrupt_message(runner)
    if runner is not None:
        runner.logger.warning(message)
    else:
        print(message, file=sys.stderr, flush=True)
    return EXIT_STATUS
