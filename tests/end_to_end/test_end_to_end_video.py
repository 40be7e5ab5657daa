"""train → checkpoint → resume → test with the real command-line tools on synthetic data."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.datasets.synthetic.h36m import write_h36m_split

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'video_tiny.py'


def run_tool(tool, *args):
    """Run tools/<tool>.py in a fresh interpreter; return its combined output."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / f'{tool}.py'), *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f'{tool} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('h36m')
    write_h36m_split(str(root), num_train=12, num_valid=6, size=32, num_frames=4,
                     progress=False)
    return root


def data_options(data_root):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']


def assert_same_weights(path_a, path_b):
    a = load_checkpoint_file(str(path_a), map_location='cpu')['state_dict']
    b = load_checkpoint_file(str(path_b), map_location='cpu')['state_dict']
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs'


@pytest.fixture(scope='module')
def straight_run(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('straight')
    run_tool('train', CONFIG, '--work-dir', work, *data_options(data_root))
    return work


def test_training_writes_checkpoints_metrics_and_plot(straight_run):
    assert (straight_run / 'epoch_1.pth').is_file()
    assert (straight_run / 'epoch_2.pth').is_file()
    history = json.loads((straight_run / 'metrics.json').read_text())
    assert [h['epoch'] for h in history] == [1, 2]
    assert {'mpjpe', 'n_mpjpe', 'pa_mpjpe'} <= set(history[-1])
    assert all(h['pa_mpjpe'] <= h['mpjpe'] for h in history)
    assert (straight_run / 'curves.png').stat().st_size > 1000
    assert list(straight_run.glob('best_mpjpe_epoch_*.pth'))


def test_resume_continues_exactly(tmp_path, straight_run, data_root):
    # A run that stopped after epoch 1 leaves epoch_1.pth and last_checkpoint behind;
    # `--resume` (auto) must pick it up and end with the uninterrupted run's weights.
    work = tmp_path / 'resumed'
    work.mkdir()
    shutil.copy(straight_run / 'epoch_1.pth', work / 'epoch_1.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    out = run_tool('train', CONFIG, '--work-dir', work, '--resume', *data_options(data_root))
    assert 'resumed epoch: 1' in out
    assert_same_weights(work / 'epoch_2.pth', straight_run / 'epoch_2.pth')
    # The optimizer state and schedule continued too (lr halved after epoch 1).
    ckpt = load_checkpoint_file(str(work / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['optimizer']['param_groups'][0]['lr'] == pytest.approx(5e-4)


def test_resume_without_epoch_seeding_would_differ(tmp_path, straight_run, data_root):
    # Guard that the test above can fail: without EpochSeedHook and the loop's
    # per-iteration seeding the resumed run draws other flips, colours and dropout
    # masks than the uninterrupted one.
    work = tmp_path / 'unseeded'
    run_tool('train', CONFIG, '--work-dir', work, '--resume', straight_run / 'epoch_1.pth',
             *data_options(data_root), 'custom_hooks=[]', 'train_cfg.reseed_per_iter=False')
    a = load_checkpoint_file(str(work / 'epoch_2.pth'))['state_dict']
    b = load_checkpoint_file(str(straight_run / 'epoch_2.pth'))['state_dict']
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_resume_from_explicit_path(tmp_path, straight_run, data_root):
    work = tmp_path / 'from_path'
    run_tool('train', CONFIG, '--work-dir', work, '--resume', straight_run / 'epoch_1.pth',
             *data_options(data_root))
    assert_same_weights(work / 'epoch_2.pth', straight_run / 'epoch_2.pth')


def test_test_tool_reports_metrics_and_dumps_predictions(tmp_path, straight_run, data_root):
    dump = tmp_path / 'preds.npz'
    run_tool('test', CONFIG, straight_run / 'epoch_2.pth', '--work-dir', tmp_path,
             '--dump', dump, *data_options(data_root))
    result = json.loads((tmp_path / 'test_metrics.json').read_text())
    history = json.loads((straight_run / 'metrics.json').read_text())
    # Testing the last checkpoint on the val split reproduces the last validation.
    assert result['metrics']['mpjpe'] == pytest.approx(history[-1]['mpjpe'], rel=1e-5)
    from hpekit.fileio import load_predictions
    preds = load_predictions(dump)   # plain arrays: nothing is unpickled
    assert len(preds) == 6
    assert tuple(preds[0]['pred_joints_3d'].shape) == (4, 17, 3)
    png = tmp_path / 'poses.png'
    run_tool('plot_pose3d', dump, '--out', png, '--num', 3)
    import cv2
    image = cv2.imread(str(png))
    assert image is not None and image.shape[1] > image.shape[0] > 200
