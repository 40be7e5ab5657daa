"""train → test → visualize with the real command-line tools on tiny synthetic MPII."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from hpekit.datasets.synthetic.mpii import write_mpii_split

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'mpii_tiny.py'
PCKH_KEYS = {'Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'PCKh',
             'PCKh (plain mean)', 'PCKh@0.1'}


def run_tool(tool, *args):
    """Run tools/<tool>.py in a fresh interpreter; return its combined output."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / f'{tool}.py'),
                           *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f'{tool} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('mpii')
    # Small images: people shrink to fit, so 6 images give about 10 persons.
    write_mpii_split(str(root), num_train=4, num_val=2, image_size=(320, 192), seed=3,
                     progress=False)
    return root


def data_options(root):
    """--cfg-options pointing every dataloader and evaluator at ``root``."""
    gt = root / 'annotations' / 'mpii_gt_val.mat'
    return ['--cfg-options', *[f'{split}_dataloader.dataset.data_root={root}'
                               for split in ('train', 'val', 'test')],
            f'val_evaluator.gt_file={gt}', f'test_evaluator.gt_file={gt}']


@pytest.fixture(scope='module')
def trained(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('work')
    run_tool('train', CONFIG, '--work-dir', work, *data_options(data_root))
    return work


@pytest.fixture(scope='module')
def tested(tmp_path_factory, trained, data_root):
    """One tools/test.py run on the last checkpoint with MMPose's options (--data-root
    for every file, --show-dir with --interval 2, --out): (its work dir, its output,
    the --out file, the --show-dir folder). The tests below check different things of
    this one run (a test.py start costs several seconds)."""
    base = tmp_path_factory.mktemp('test')
    checkpoint = (trained / 'last_checkpoint').read_text().strip()
    shown, out = base / 'shown', base / 'results' / 'mpii.json'
    output = run_tool('test', CONFIG, checkpoint, '--work-dir', base / 'test',
                      '--data-root', data_root, '--show-dir', shown, '--interval', 2,
                      '--out', out)
    return dict(work=base / 'test', output=output, out=out, shown=shown)


def test_training_writes_checkpoints_metrics_and_plot(trained):
    assert (trained / 'epoch_1.pth').is_file() and (trained / 'epoch_2.pth').is_file()
    history = json.loads((trained / 'metrics.json').read_text())
    assert [h['epoch'] for h in history] == [1, 2]
    assert PCKH_KEYS <= set(history[-1])
    assert all(0.0 <= h['PCKh'] <= 100.0 for h in history)
    assert list(trained.glob('best_PCKh_epoch_*.pth'))
    assert (trained / 'curves.png').stat().st_size > 1000


def test_test_tool_reproduces_the_last_validation(tested, trained):
    result = json.loads((tested['work'] / 'test_metrics.json').read_text())
    assert PCKH_KEYS <= set(result['metrics'])
    history = json.loads((trained / 'metrics.json').read_text())
    assert result['metrics']['PCKh'] == pytest.approx(history[-1]['PCKh'], abs=1e-6)
    assert 'MPII PCKh@0.5' in tested['output']


def test_visualization_tool_writes_a_grid(tmp_path, trained, data_root):
    png = tmp_path / 'vis' / 'predictions.png'
    run_tool('visualize_predictions', CONFIG, trained / 'epoch_2.pth', '--out', png,
             '--num', 3, '--size', 96, *data_options(data_root))
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 200


def test_mmpose_command_lines(tmp_path, tested, data_root):
    """MMPose's habits: --data-root for every file, --no-validate, --show-dir,
    --out (metrics, plus the official preds.mat beside them), a config by name."""
    # --cfg-options data_root=DIR works too: it moves every dataset and evaluator file
    from hpekit.config.setup import load_config
    cfg = load_config(str(CONFIG), {'data_root': str(data_root)})
    assert cfg.test_evaluator.gt_file == str(data_root / 'annotations' / 'mpii_gt_val.mat')
    work = tmp_path / 'novalidate'
    run_tool('train', CONFIG, '--work-dir', work, '--data-root', data_root,
             '--no-validate', '--cfg-options', 'train_cfg.max_epochs=1')
    assert (work / 'epoch_1.pth').is_file() and not (work / 'metrics.json').exists()
    shown, out = tested['shown'], tested['out']   # test.py with --data-root
    assert 'PCKh' in json.loads(out.read_text())
    assert (out.parent / 'mpii_preds.mat').is_file()
    num_val = len(json.loads((data_root / 'annotations' / 'mpii_val.json').read_text()))
    pictures = sorted(shown.glob('*.png'))
    assert len(pictures) == (num_val + 1) // 2
    assert cv2.imread(str(pictures[0])).shape == (64, 128, 3)   # crop: gt | prediction


@pytest.mark.parametrize('mode, size', [('transformed', (64, 64)), ('original', None)])
def test_browse_dataset_draws_training_samples(tmp_path, data_root, mode, size):
    out = tmp_path / mode
    run_tool('misc/browse_dataset', CONFIG, '--output-dir', out, '--mode', mode,
             '--num', 3, '--cfg-options', f'data_root={data_root}')
    pictures = sorted(out.glob('*.jpg'))
    assert len(pictures) == 3
    image = cv2.imread(str(pictures[0]))
    if size:
        assert image.shape[:2] == size[::-1]
    else:
        assert image.shape[0] > 64   # the full (possibly reduced-decoded) image
