"""Fork server of the kill loops: imports torch, mmengine and hpekit once, then runs
each requested ``tools/train.py`` invocation in a forked child (its own session, so
the test can SIGKILL it and anything it started), with an optional fault installed.

Protocol (JSON lines): the test writes ``{"argv": [...], "log": path, "fault": {...}}``;
the server answers ``{"pid": N}`` when the child started and ``{"pid": N, "exit": code}``
when it ended (``-9`` when killed). Forking saves ~4 s of imports per training run.

A fault (see ``install_fault``) makes the child touch ``marker`` and sleep at one
point of one checkpoint save, where the test kills it:

- ``write``: inside writing the temporary file of ``file`` (after ``offset`` bytes);
- ``before_rename`` / ``after_rename``: just before / after that file is renamed
  onto its final name;
- ``pointer_write``: inside writing ``last_checkpoint`` when it is about to name
  ``file`` (half of the text written);
- ``after_pointer``: once ``last_checkpoint`` names ``file``;
- ``after_delete``: right after an old checkpoint was deleted while
  ``last_checkpoint`` names ``file``;
- ``random_time``: touch ``marker`` (without stalling) when training iteration
  ``iteration`` starts, and ``limit_marker`` when the next one starts; the test kills
  the run a random moment after the first, at the latest at the second;
- ``worker_start``: touch ``marker`` (without stalling) just before the
  ``start``-th DataLoader worker process is started (counted over the whole run:
  train and validation loaders), for the interrupt test.

A run that ends with ``SystemExit(code)`` (an interrupted run: 130) exits with that
code.
"""
import builtins
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _stall(marker):
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)


class _StallingFile:
    """A file whose writes stall (after ``offset`` bytes) until the process is killed."""

    def __init__(self, f, offset, marker):
        self.f, self.left, self.marker = f, offset, marker

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def write(self, data):
        if len(data) >= self.left:
            self.f.write(data[:max(self.left, 1)])
            self.f.flush()
            _stall(self.marker)
        self.left -= len(data)
        return self.f.write(data)


def _pointer_names(work_dir, name):
    try:
        return Path(work_dir, 'last_checkpoint').read_text().strip().endswith('/' + name)
    except OSError:
        return False


def install_fault(fault):
    if not fault:
        return
    import hpekit.fileio as hio
    phase, name, marker = fault['phase'], fault.get('file'), fault['marker']
    work_dir = fault.get('work_dir')
    real_open, real_replace, real_remove = builtins.open, os.replace, os.remove

    if phase in ('write', 'pointer_write'):
        def fault_open(file, mode='r', *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            target = os.path.basename(os.readlink(f'/proc/self/fd/{file}')) \
                if isinstance(file, int) else os.path.basename(str(file))
            if phase == 'write' and target.startswith(f'.{name}.'):
                return _StallingFile(f, int(fault.get('offset', 1000)), marker)
            if phase == 'pointer_write' and target.startswith('.last_checkpoint.'):
                return _PointerStall(f, name, marker)
            return f
        hio.open = fault_open
    elif phase in ('before_rename', 'after_rename', 'after_pointer'):
        def fault_replace(src, dst, *args, **kwargs):
            base = os.path.basename(str(dst))
            if phase == 'before_rename' and base == name:
                _stall(marker)
            real_replace(src, dst, *args, **kwargs)
            if phase == 'after_rename' and base == name:
                _stall(marker)
            if phase == 'after_pointer' and base == 'last_checkpoint' and \
                    _pointer_names(work_dir, name):
                _stall(marker)
        os.replace = fault_replace
    elif phase == 'after_delete':
        def fault_remove(path, *args, **kwargs):
            real_remove(path, *args, **kwargs)
            if str(path).endswith('.pth') and _pointer_names(work_dir, name):
                _stall(marker)
        os.remove = fault_remove
    elif phase == 'random_time':
        from hpekit.engine.loops import ExactResumeTrainLoop
        run_iter = ExactResumeTrainLoop.run_iter

        def marking_run_iter(loop, idx, data_batch):
            if loop.runner.iter + 1 == fault['iteration']:
                Path(marker).write_text(str(os.getpid()))
            if loop.runner.iter + 1 == fault['iteration'] + 1:   # the latest kill moment
                Path(fault['limit_marker']).write_text(str(os.getpid()))
            return run_iter(loop, idx, data_batch)
        ExactResumeTrainLoop.run_iter = marking_run_iter
    elif phase == 'worker_start':
        _mark_worker_start(fault['start'], marker)
    else:
        raise ValueError(f'unknown fault phase {phase!r}')


def _mark_worker_start(start, marker):
    """Touch ``marker`` just before the ``start``-th process (a DataLoader worker) starts."""
    import multiprocessing.process
    real_start = multiprocessing.process.BaseProcess.start
    started = [0]

    def marking_start(process):
        started[0] += 1
        if started[0] == start:
            Path(marker).write_text(str(os.getpid()))
        return real_start(process)
    multiprocessing.process.BaseProcess.start = marking_start


class _PointerStall(_StallingFile):
    """``last_checkpoint``'s temporary file: stall after half of a text naming ``name``."""

    def __init__(self, f, name, marker):
        super().__init__(f, 0, marker)
        self.name = name

    def write(self, data):
        if data.endswith('/' + self.name):
            self.f.write(data[:len(data) // 2])
            self.f.flush()
            _stall(self.marker)
        return self.f.write(data)


def main():
    sys.path.insert(0, str(ROOT))
    import mmengine.runner  # noqa: F401  (the slow imports, done once)
    import torch  # noqa: F401
    for name in ('hpekit.engine', 'hpekit.models', 'hpekit.datasets', 'hpekit.evaluation',
                 'hpekit.visualization'):
        importlib.import_module(name)
    spec = importlib.util.spec_from_file_location('hpekit_tool_train',
                                                  ROOT / 'tools' / 'train.py')
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:   # the training run
            code = 1
            try:
                os.setsid()
                fd = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                install_fault(request.get('fault'))
                train.main(request['argv'])
                code = 0
            except SystemExit as stop:   # an interrupted run: 130
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:   # noqa: B036  (report everything, then exit)
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({'pid': pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({'pid': pid, 'exit': os.waitstatus_to_exitcode(status)}),
              flush=True)


if __name__ == '__main__':
    main()
