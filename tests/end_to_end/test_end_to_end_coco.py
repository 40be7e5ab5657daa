"""train → test on tiny synthetic COCO with the real command-line tools: the model's AP
is far above the mean-pose baseline (tools/mean_pose_baseline_2d.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tool_loader import load_tool

from hpekit.datasets.synthetic.coco import write_coco_split

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'coco_tiny.py'
COCO_KEYS = {f'coco/{k}' for k in ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR',
                                    'AR .5', 'AR .75', 'AR (M)', 'AR (L)')}


def run_tool(tool, *args):
    """Run tools/<tool>.py in a fresh interpreter; return its combined output."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / f'{tool}.py'),
                           *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, \
        f'{tool} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    # 60 small images: about 105 training people, 24 val people.
    write_coco_split(str(root), num_train=60, num_val=12, image_size=(320, 240), seed=3,
                     progress=False)
    return root


def data_options(root):
    """--cfg-options moving every dataset and evaluator file under ``root``."""
    return ['--cfg-options', f'data_root={root}']


@pytest.fixture(scope='module')
def trained(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('work')
    run_tool('train', CONFIG, '--work-dir', work, *data_options(data_root))
    return work


@pytest.mark.slow
def test_trained_model_beats_the_mean_pose_baseline(tmp_path, trained, data_root):
    history = json.loads((trained / 'metrics.json').read_text())
    assert COCO_KEYS <= set(history[-1])
    checkpoint = (trained / 'last_checkpoint').read_text().strip()
    out = run_tool('test', CONFIG, checkpoint, '--work-dir', tmp_path,
                   *data_options(data_root))
    assert 'Average Precision' in out   # COCOeval's table, logged
    model = json.loads((tmp_path / 'test_metrics.json').read_text())['metrics']
    assert model['coco/AP'] == pytest.approx(history[-1]['coco/AP'], abs=1e-9)
    result = load_tool('mean_pose_baseline_2d').main(
        [str(CONFIG), '--work-dir', str(tmp_path), *data_options(data_root)])
    baseline = result['baseline']['coco/AP']
    print(f'tiny COCO: model AP {model["coco/AP"]:.3f}, mean-pose baseline AP '
          f'{baseline:.3f}')
    assert 0.0 <= baseline < 0.2
    assert model['coco/AP'] >= max(3 * baseline, baseline + 0.1)
    assert (tmp_path / 'baseline_2d.json').is_file()


def test_baseline_on_detection_boxes(data_root):
    """The baseline tool evaluates on the synthetic person detections (bbox_file)."""
    dets = data_root / 'person_detection_results' / 'val2017_detections.json'
    options = data_options(data_root) + [f'test_dataloader.dataset.bbox_file={dets}',
                                         'test_dataloader.dataset.bbox_score_thr=0.5']
    result = load_tool('mean_pose_baseline_2d').main([str(CONFIG), '--work-dir',
                                                      str(data_root / 'none'), *options])
    assert 0.0 <= result['baseline']['coco/AP'] < 0.3
