"""Fixtures of the fault-injection suite: tiny data, a fault config, a fork server."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hpekit.datasets.synthetic.h36m import write_h36m_split

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TINY = ROOT / 'tests' / 'configs' / 'video_tiny.py'
ITERS = 6   # 12 clips / batch 4 = 3 iterations per epoch, 2 epochs

# The tiny video run without the picture hooks (fast); iteration checkpoints; the
# best checkpoint by MPJPE. Retention comes from --cfg-options.
FAULT_CONFIG = f'''_base_ = [{str(TINY)!r}]
custom_hooks = [dict(type='EpochSeedHook'), dict(type='MetricsJsonHook')]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=1, max_keep_ckpts=-1,
                                     save_best='mpjpe', rule='less'))
'''


def env():
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')


@pytest.fixture(scope='session')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('h36m')
    write_h36m_split(str(root), num_train=12, num_valid=4, size=32, num_frames=4,
                     progress=False)
    return root


@pytest.fixture(scope='session')
def fault_config(tmp_path_factory):
    path = tmp_path_factory.mktemp('config') / 'fault_tiny.py'
    path.write_text(FAULT_CONFIG)
    return path


def train_argv(config, work_dir, data_root, *options, resume=True):
    argv = [str(config), '--work-dir', str(work_dir), '--cfg-options',
            *(f'{loader}.dataset.data_root={data_root}'
              for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
            *options]
    return argv + (['--resume', 'auto'] if resume else [])


class ForkServer:
    """Client of tests/reliability/fork_server.py (one training run at a time)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(HERE / 'fork_server.py')],
                                     cwd=ROOT, env=env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != '{"ready": true}':
            self.proc.kill()
            raise RuntimeError(f'the fork server did not start (its error is above): {line!r}')

    def start(self, argv, log, fault=None):
        self.proc.stdin.write(json.dumps({'argv': [str(a) for a in argv], 'log': str(log),
                                          'fault': fault}) + '\n')
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())['pid']

    def wait(self):
        return json.loads(self.proc.stdout.readline())['exit']

    def run(self, argv, log, fault=None, marker=None, delay=0.0, limit_marker=None,
            timeout=120):
        """Run one training; kill it ``delay`` s after ``marker`` appears (at the latest
        when ``limit_marker`` appears).

        Returns 'killed' or the exit code (the run ended first).
        """
        pid = self.start(argv, log, fault)
        deadline = time.time() + timeout
        killed = False
        while time.time() < deadline:
            if marker is not None and Path(marker).exists():
                break
            if self._exited(pid):
                return self.wait()
            time.sleep(0.01)
        else:
            raise AssertionError(f'run timed out; log: {Path(log).read_text()[-3000:]}')
        end = time.time() + delay
        while time.time() < end and not self._exited(pid) and \
                not (limit_marker is not None and Path(limit_marker).exists()):
            time.sleep(0.002)
        try:
            os.killpg(pid, signal.SIGKILL)
            killed = True
        except ProcessLookupError:
            pass
        code = self.wait()
        return 'killed' if killed and code == -signal.SIGKILL else code

    @staticmethod
    def _exited(pid):
        try:   # the server reaps it; a zombie or a gone pid both mean "ended"
            with open(f'/proc/{pid}/stat') as f:
                return f.read().split(') ')[1].startswith('Z')
        except FileNotFoundError:
            return True

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope='session')
def fork_server():
    server = ForkServer()
    yield server
    server.close()


@pytest.fixture(scope='session')
def straight(tmp_path_factory, fork_server, fault_config, data_root):
    """The uninterrupted run (keep all checkpoints): the reference of every resume."""
    work = tmp_path_factory.mktemp('straight')
    start = time.time()
    code = fork_server.run(train_argv(fault_config, work, data_root, resume=False),
                           work.parent / 'straight.out')
    assert code == 0, (work.parent / 'straight.out').read_text()[-3000:]
    (work.parent / 'straight.seconds').write_text(f'{time.time() - start:.3f}')
    return work


_RUNNERS = iter(range(10**6))


def build_runner(config, work_dir, data_root, resume=None, **options):
    """A Runner of ``config`` in this process (``options`` as --cfg-options)."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from hpekit.config.setup import load_config, setup_train_config
    opts = {f'{loader}.dataset.data_root': str(data_root)
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    opts.update(options)
    cfg = setup_train_config(load_config(str(config), opts), str(config),
                             work_dir=str(work_dir), resume=resume)
    # Runners made within one second would share mmengine's logger (and log file).
    cfg.experiment_name = f'fault_{Path(work_dir).name}_{next(_RUNNERS)}'
    init_default_scope('hpekit')
    return Runner.from_cfg(cfg)


def log_text(runner):
    return (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()


def weights(path):
    from hpekit.checkpoint.loading import load_checkpoint_file
    return load_checkpoint_file(str(path), map_location='cpu')['state_dict']


def assert_same_weights(a, b):
    import torch
    a, b = weights(a), weights(b)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs'


@pytest.fixture(autouse=True)
def one_intra_op_thread():
    """Runs in this process compute with one thread, as the forked runs do: resumed and
    uninterrupted runs are compared bit for bit, and a multi-threaded CPU reduction
    may split its work differently between two runs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
