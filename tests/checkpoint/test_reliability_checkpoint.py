"""Checkpoints are written atomically; checkpoint keys that do not fit are refused."""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger

from hpekit.checkpoint.files import CheckpointWriteError, write_checkpoint
from hpekit.checkpoint.loading import (AtomicLocalBackend, CheckpointError, compare_state_dicts,
                                       load_checkpoint_file)
from hpekit.engine.hooks import CheckpointKeysHook, CheckpointMismatchError
from hpekit.fileio import atomic_open

ROOT = Path(__file__).resolve().parents[2]


def _state(value, n=10):
    return {'state_dict': {'w': torch.full((n,), float(value))}, 'meta': {'iter': int(value)}}


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / 'latest.pth'
    write_checkpoint(_state(1), str(path))

    def disk_full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(CheckpointWriteError, match=rf'{path} \(the disk is full\)') as err:
        write_checkpoint(_state(2, n=1000), str(path))
    assert err.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert torch.equal(load_checkpoint_file(str(path))['state_dict']['w'], torch.ones(10))
    assert [p.name for p in tmp_path.iterdir()] == ['latest.pth']   # no temporary left


def test_atomic_backend_put_is_atomic(tmp_path, monkeypatch):
    # AtomicLocalBackend is what register_all_modules() installs for mmengine's own
    # writes (hpekit's checkpoint hook does not need it).
    path = tmp_path / 'a.bin'
    AtomicLocalBackend().put(b'old', str(path))
    monkeypatch.setattr(os, 'fsync', lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, 'x')))
    with pytest.raises(OSError):
        AtomicLocalBackend().put(b'new', str(path))
    assert path.read_bytes() == b'old'


def test_atomic_open_replaces_only_on_success(tmp_path):
    path = tmp_path / 'last_checkpoint'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_open(str(path), 'w') as f:
            f.write('half')
            raise RuntimeError('killed')
    assert path.read_text() == 'old'
    with atomic_open(str(path), 'w') as f:
        f.write('new')
    assert path.read_text() == 'new'
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)   # permissions as open() gives
    assert [p.name for p in tmp_path.iterdir()] == ['last_checkpoint']


# Writes checkpoint A, then starts writing checkpoint B with a file object that writes
# half of B, signals, and waits to be killed.
KILL_DURING_SAVE = '''
import builtins, sys, time
import torch
import hpekit.fileio as hpekit_io
import mmengine.fileio.backends.local_backend as local_backend
from mmengine.runner.checkpoint import save_checkpoint
from hpekit.checkpoint.files import write_checkpoint

path, marker, writer = sys.argv[1:4]
save = save_checkpoint if writer == 'mmengine' else write_checkpoint
save({'state_dict': {'w': torch.zeros(1000)}}, path)

class HalfThenHang:
    def __init__(self, f):
        self.f = f
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.f.__exit__(*exc)
    def __getattr__(self, name):
        return getattr(self.f, name)
    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        builtins.open(marker, 'w').close()
        time.sleep(600)

def hanging_open(*args, **kwargs):
    return HalfThenHang(builtins.open(*args, **kwargs))

hpekit_io.open = local_backend.open = hanging_open
save({'state_dict': {'w': torch.ones(200000)}}, path)
'''


def _kill_during_save(tmp_path, writer):
    script = tmp_path / 'save.py'
    script.write_text(KILL_DURING_SAVE)
    path, marker = tmp_path / 'ckpt' / 'epoch_1.pth', tmp_path / 'writing'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(marker), writer],
                            env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert marker.exists(), f'the save never started: {proc.stderr.read() if proc.poll() else ""}'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return path


def test_sigkill_during_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = _kill_during_save(tmp_path, 'hpekit')
    assert torch.equal(load_checkpoint_file(str(path))['state_dict']['w'], torch.zeros(1000))
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert len(leftovers) == 1 and leftovers[0].startswith('.epoch_1.pth.') and \
        leftovers[0].endswith('.tmp'), leftovers


def test_sigkill_during_a_plain_mmengine_save_corrupts_the_file(tmp_path):
    # Guard that the test above can fail: mmengine's own save truncates first.
    path = _kill_during_save(tmp_path, 'mmengine')
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        load_checkpoint_file(str(path))


# ------------------------------------------------------------------ corrupt files
def test_a_flipped_byte_in_a_tensor_is_caught_by_the_checksum(tmp_path):
    path = tmp_path / 'flipped.pth'
    torch.save(_state(0, n=10000), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF   # inside the tensor's bytes: torch alone loads it
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r'is corrupt: the checksum of its member '
                                              r'\S+/data/0 does not match'):
        load_checkpoint_file(str(path))


def test_random_bytes_are_refused_naming_the_file(tmp_path):
    path = tmp_path / 'noise.pth'
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match=rf"{path}: .*not in torch's zip format"):
        load_checkpoint_file(str(path))


# ---------------------------------------------------------------- mismatched keys
def test_compare_state_dicts_names_missing_unexpected_and_shapes():
    model = {'a': torch.zeros(2), 'b': torch.zeros(3, 4), 'c': torch.zeros(1)}
    ckpt = {'a': torch.zeros(2), 'b': torch.zeros(4, 3), 'd': torch.zeros(5)}
    assert compare_state_dicts(model, ckpt) == {
        'missing': ['c'], 'unexpected': ['d'], 'shape_mismatch': [('b', (4, 3), (3, 4))]}
    assert compare_state_dicts(model, model) == {
        'missing': [], 'unexpected': [], 'shape_mismatch': []}


def _runner(model):
    return SimpleNamespace(model=model, logger=MMLogger.get_instance('test_reliability'))


def test_keys_hook_raises_on_shape_mismatch_naming_keys():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    state = {f'module.{k}': v for k, v in model.state_dict().items()}   # DDP prefix
    state['module.1.weight'] = torch.zeros(5, 4)
    with pytest.raises(CheckpointMismatchError) as err:
        CheckpointKeysHook().after_load_checkpoint(_runner(model), {'state_dict': state})
    assert '1.weight (5, 4) vs (2, 4)' in str(err.value)
    assert 'allow_shape_mismatch=True' in str(err.value)
    assert '0.weight' not in str(err.value)   # the 'module.' prefix was revised away


def test_keys_hook_refuses_missing_and_unexpected_unless_partial_is_allowed():
    model = torch.nn.Linear(3, 4)
    state = {'weight': torch.zeros(4, 3), 'extra.bias': torch.zeros(1)}
    runner = _runner(model)
    with pytest.raises(CheckpointMismatchError) as err:
        CheckpointKeysHook().after_load_checkpoint(runner, {'state_dict': state})
    message = str(err.value)
    assert 'missing in the checkpoint (1 of 2 model keys): bias' in message
    assert 'unexpected (in the checkpoint, not in the model): extra.bias' in message
    assert 'allow_partial=True' in message
    messages = []
    runner.logger = SimpleNamespace(warning=messages.append)
    CheckpointKeysHook(allow_partial=True).after_load_checkpoint(
        runner, {'state_dict': state})
    assert len(messages) == 1 and 'extra.bias' in messages[0] and 'bias' in messages[0]
    state.update(weight=torch.zeros(1), bias=torch.zeros(4))
    with pytest.raises(CheckpointMismatchError, match='allow_shape_mismatch=True'):
        CheckpointKeysHook(allow_partial=True).after_load_checkpoint(
            runner, {'state_dict': state})
    CheckpointKeysHook(allow_partial=True, allow_shape_mismatch=True).after_load_checkpoint(
        runner, {'state_dict': state})
    assert 'weight (1,) vs (4, 3)' in messages[-1]


@pytest.mark.parametrize('checkpoint, expected', [
    ({'state_dict': {}, 'meta': {}}, "state_dict is empty"),
    ({'model': {'weight': torch.zeros(4, 3), 'bias': torch.zeros(4)}},
     "has no 'state_dict'; its top-level keys are \\['model'\\].*wrapped \\(e.g. under "
     "'model'\\)"),
    ({'state_dict': {'conv.weight': torch.zeros(2, 2)}}, 'another model'),
])
def test_keys_hook_refuses_checkpoints_of_which_nothing_fits_even_if_partial(
        checkpoint, expected):
    with pytest.raises(CheckpointMismatchError, match=expected):
        CheckpointKeysHook(allow_partial=True, allow_shape_mismatch=True) \
            .after_load_checkpoint(_runner(torch.nn.Linear(3, 4)), checkpoint)


def test_test_tool_stops_on_a_mismatched_checkpoint_before_testing(tmp_path):
    # The real path: tools/test.py → Runner.load_checkpoint → the hook, before any batch.
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from hpekit.config.setup import load_config, setup_test_config
    from hpekit.datasets.synthetic.h36m import write_h36m_split
    from hpekit.registry import MODELS
    write_h36m_split(str(tmp_path), num_train=1, num_valid=2, size=32, num_frames=4,
                     progress=False)
    cfg = load_config(str(ROOT / 'tests' / 'configs' / 'video_tiny.py'),
                      {'test_dataloader.dataset.data_root': str(tmp_path)})
    init_default_scope('hpekit')
    state = MODELS.build(cfg.model).state_dict()
    state['head.fc_out.weight'] = torch.zeros(7, 7)
    state.pop(sorted(state)[0])
    ckpt = tmp_path / 'bad.pth'
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    runner = Runner.from_cfg(setup_test_config(cfg, 'video_tiny.py', str(ckpt),
                                               work_dir=str(tmp_path / 'work')))
    with pytest.raises(CheckpointMismatchError, match=r'head\.fc_out\.weight \(7, 7\)'):
        runner.test()
