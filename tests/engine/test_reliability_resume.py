"""A run killed with SIGKILL mid-epoch and restarted with --resume auto ends exactly
like the uninterrupted run (weights bit-identical, metrics.json equal)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.datasets.synthetic.h36m import write_h36m_split

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'video_tiny.py'
KILL_AFTER = 4   # iterations per epoch: 12 clips / batch 4 = 3 → iteration 4 is mid-epoch 2

# A hook that, once the checkpoint of iteration N is on disk, signals and waits to be
# killed: the test then kills the process at a known point, inside epoch 2.
STALL_HOOK = '''
import time
from mmengine.hooks import Hook
from hpekit.registry import HOOKS

@HOOKS.register_module()
class StallAfterIterHook(Hook):
    priority = 'LOWEST'   # after CheckpointHook wrote iter_N.pth

    def __init__(self, iteration, marker):
        self.iteration, self.marker = iteration, marker

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            open(self.marker, 'w').close()
            time.sleep(600)
'''


def _env(extra_path=None):
    path = str(ROOT) + (os.pathsep + str(extra_path) if extra_path else '')
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS='1')


def _train_cmd(config, work, data_root, *options):
    return [sys.executable, str(ROOT / 'tools' / 'train.py'), str(config), '--work-dir',
            str(work), '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}',
            # iteration checkpoints, and workers whose random draws must be replayed
            'default_hooks.checkpoint.by_epoch=False', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=-1', 'train_dataloader.num_workers=2',
            *options]


def _run(cmd, env=None):
    proc = subprocess.run(cmd, cwd=ROOT, env=env or _env(), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f'failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


def _weights(path):
    return load_checkpoint_file(str(path), map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('h36m')
    write_h36m_split(str(root), num_train=12, num_valid=6, size=32, num_frames=4,
                     progress=False)
    return root


@pytest.fixture(scope='module')
def straight(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('straight')
    _run(_train_cmd(CONFIG, work, data_root))
    return work


@pytest.fixture(scope='module')
def killed(tmp_path_factory, data_root):
    """A run SIGKILLed right after its iteration-4 checkpoint (inside epoch 2)."""
    work = tmp_path_factory.mktemp('killed')
    plugin = tmp_path_factory.mktemp('plugin')
    (plugin / 'stall_hook.py').write_text(STALL_HOOK)
    marker = work / 'stalled'
    config = plugin / 'stall_config.py'
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\n"
                      "custom_imports = dict(imports=['stall_hook'])\n"
                      "custom_hooks = [dict(type='EpochSeedHook'), dict(type='MetricsJsonHook'),\n"
                      f"    dict(type='StallAfterIterHook', iteration={KILL_AFTER},"
                      f" marker={str(marker)!r})]\n")
    proc = subprocess.Popen(_train_cmd(config, work, data_root), cwd=ROOT, env=_env(plugin),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert marker.exists(), 'the training never reached the kill point'
    os.killpg(proc.pid, signal.SIGKILL)   # the trainer and its DataLoader workers
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return work


def test_killed_run_left_a_mid_epoch_checkpoint(killed):
    assert (killed / 'last_checkpoint').read_text().strip().endswith(f'iter_{KILL_AFTER}.pth')
    meta = load_checkpoint_file(str(killed / f'iter_{KILL_AFTER}.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (1, KILL_AFTER)   # epoch 2 (0-based 1) underway
    assert not (killed / f'iter_{KILL_AFTER + 1}.pth').exists()
    assert [r['epoch'] for r in json.loads((killed / 'metrics.json').read_text())] == [1]


def test_resume_auto_after_sigkill_matches_the_uninterrupted_run(killed, straight, data_root):
    out = _run(_train_cmd(CONFIG, killed, data_root) + ['--resume', 'auto'])
    assert f'iter_{KILL_AFTER}.pth' in out
    assert 'skipping its first 1 of 3 batches' in out
    final = 'iter_6.pth'
    a, b = _weights(killed / final), _weights(straight / final)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs after resume'
    assert (json.loads((killed / 'metrics.json').read_text())
            == json.loads((straight / 'metrics.json').read_text()))


def test_without_per_iteration_seeding_the_resumed_run_differs(tmp_path, straight, data_root):
    # Guard that the test above can fail: resuming from the same mid-epoch checkpoint
    # without reseeding per iteration draws other dropout masks than the straight run.
    _run(_train_cmd(CONFIG, tmp_path, data_root, 'train_cfg.reseed_per_iter=False')
         + ['--resume', str(straight / f'iter_{KILL_AFTER}.pth')])
    a, b = _weights(tmp_path / 'iter_6.pth'), _weights(straight / 'iter_6.pth')
    assert any(not torch.equal(a[k], b[k]) for k in a)
