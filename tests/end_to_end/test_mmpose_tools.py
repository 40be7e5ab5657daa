"""Every entry point takes an MMPose 1.x config file and checkpoint as they are.

The configs and checkpoints are tests/fixtures/mmpose/ (made by MMPose 1.3.2 itself;
see its README.md): MMPose's shipped COCO configs with ``data_root='data/coco/'``, made
small in width only. The data is hpekit's synthetic COCO twin, in MMPose's layout; the
only options given are the ones a user gives MMPose's tools too: ``data_root=DIR``
(hpekit's option moving every dataset and evaluator file under DIR, also the
evaluator's ``ann_file`` that MMPose's config joins to its data_root as one string),
and a small run: batch size, epochs, no loader worker processes
(``num_workers=0`` needs ``persistent_workers=False`` as in MMPose: the configs set it
True).

- ``tools/test.py``: COCO AP written to test_metrics.json; HRNet's val set reads
  MMPose's person detections file (``bbox_file``, moved under DIR; the synthetic
  detections are copied to MMPose's file name), RTMPose's the ground-truth boxes.
- ``tools/train.py``: one epoch from the MMPose checkpoint (``load_from``), validated,
  checkpoint saved. RTMPose-m's recipe runs as translated: EMAHook, PipelineSwitchHook
  (switched at epoch 0 through its ``custom_hooks`` index in the translated config:
  hpekit's runtime hooks come first), YOLOXHSVRandomAug, Albumentation.
- ``tools/demo.py`` draws a fixture scene; ``tools/export_onnx.py`` writes a graph that
  gives MMPose's own network outputs (the fixtures' ``.npz``) under ONNX Runtime.

The tools run in this process (their ``main``), as other tests call them, except one
``tools/test.py`` command line, run as a user runs it.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_loader import load_tool

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.config.cli_options import set_data_root
from hpekit.config.setup import load_config
from hpekit.datasets.synthetic.coco import write_coco_split

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'mmpose'
MODELS = ('rtmpose_t', 'hrnet_plain')
IMAGES = json.loads((FIXTURES / 'images.json').read_text())
COCO_KEYS = {f'coco/{k}' for k in ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR',
                                    'AR .5', 'AR .75', 'AR (M)', 'AR (L)')}
MMPOSE_ROOT = 'data/coco/'   # the fixtures' data_root, as MMPose ships it
# Several Runners in one process share mmengine's visualizer instance (named in the
# config); a tool run from the command line makes one.
pytestmark = pytest.mark.filterwarnings(
    'ignore:.*instance named of visualizer has been created:UserWarning')


def config(name):
    return str(FIXTURES / f'{name}.py')


def checkpoint(name):
    return str(FIXTURES / f'{name}.pth')


def no_workers(*loaders):
    return [f'{loader}_dataloader.{key}' for loader in loaders
            for key in ('num_workers=0', 'persistent_workers=False')]


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    """The synthetic COCO twin, with its person detections also under the name MMPose's
    HRNet configs read (``bbox_file``); returns (root, detections)."""
    root = tmp_path_factory.mktemp('coco')
    written = write_coco_split(str(root), num_train=4, num_val=3, image_size=(160, 120),
                               seed=3, progress=False)
    bbox_file = Config.fromfile(config('hrnet_plain')).test_dataloader.dataset.bbox_file
    assert bbox_file.startswith(MMPOSE_ROOT)
    shutil.copy(written['val_detections'], root / bbox_file[len(MMPOSE_ROOT):])
    detections = json.loads(Path(written['val_detections']).read_text())
    return root, detections, written


def test_data_root_moves_a_translated_mmpose_configs_files(tmp_path):
    """data_root=DIR on an MMPose config: datasets, the bbox_file and the evaluators'
    ann_file ('data/coco/annotations/...', already joined in MMPose's file) move."""
    cfg = load_config(config('hrnet_plain'), {'data_root': str(tmp_path)})
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == str(tmp_path)
    for split in ('val', 'test'):
        assert cfg[f'{split}_evaluator'].ann_file == \
            str(tmp_path / 'annotations' / 'person_keypoints_val2017.json')
        assert cfg[f'{split}_dataloader'].dataset.bbox_file == str(
            tmp_path / 'person_detection_results' /
            'COCO_val2017_detections_AP_H_56_person.json')
    # a path beside the old root, not under it, stays
    cfg = Config(dict(data_root='data/coco', test_evaluator=dict(
        type='CocoMetric', ann_file='data/coco2/val.json')))
    assert set_data_root(cfg, 'x').test_evaluator.ann_file == 'data/coco2/val.json'


@pytest.mark.parametrize('name', MODELS)
def test_test_tool(tmp_path, coco, name):
    root, detections, written = coco
    dump = tmp_path / 'preds.npz'
    metrics = load_tool('test').main([
        config(name), checkpoint(name), '--work-dir', str(tmp_path), '--dump', str(dump),
        '--cfg-options', f'data_root={root}', *no_workers('test')])
    assert COCO_KEYS <= set(metrics)
    saved = json.loads((tmp_path / 'test_metrics.json').read_text())
    assert saved['metrics'] == pytest.approx(metrics)
    samples = int(np.load(dump)['__num_samples__'])
    if name == 'hrnet_plain':   # one sample per detection of MMPose's bbox_file
        assert samples == len(detections)
    else:                        # RTMPose's val set: the ground-truth boxes
        assert samples == written['num_val_people']


@pytest.mark.slow
def test_test_command_line(tmp_path, coco):
    """The command line itself, in a fresh interpreter."""
    root = coco[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'test.py'), config('rtmpose_t'),
         checkpoint('rtmpose_t'), '--work-dir', str(tmp_path), '--cfg-options',
         f'data_root={root}', *no_workers('test')],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((tmp_path / 'test_metrics.json').read_text())['metrics']
    assert COCO_KEYS <= set(metrics)


def _hook(runner, name):
    found = [h for h in runner.hooks if type(h).__name__ == name]
    assert found, f'{name} not among the hooks'
    return found[0]


@pytest.mark.slow
@pytest.mark.parametrize('name', ['rtmpose_m', 'hrnet_plain'])
def test_train_tool_from_the_mmpose_checkpoint(tmp_path, coco, name):
    root = coco[0]
    options = [f'data_root={root}', f'load_from={checkpoint(name)}',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
               'train_dataloader.batch_size=4', 'default_hooks.logger.interval=1',
               *no_workers('train', 'val')]
    if name.startswith('rtmpose'):
        hooks = [h['type'] for h in load_config(config(name)).custom_hooks]
        options.append(f'custom_hooks.{hooks.index("PipelineSwitchHook")}.switch_epoch=0')
    runner = load_tool('train').main([config(name), '--work-dir', str(tmp_path),
                                      '--cfg-options', *options])
    history = json.loads((tmp_path / 'metrics.json').read_text())
    assert COCO_KEYS <= set(history[-1])
    # hpekit's own checkpoint (message hub, EMA state): its safe loader's allow-list
    saved = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'), map_location='cpu')
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')
    # trained from MMPose's weights: two tiny warm-up steps away from them
    source = torch.load(checkpoint(name), map_location='cpu')['state_dict']
    assert set(saved['state_dict']) == set(source)
    for key, want in source.items():
        if want.is_floating_point() and not key.endswith(('running_mean', 'running_var')):
            diff = (saved['state_dict'][key] - want).abs().max().item()
            assert diff <= 1e-3 * max(1.0, want.abs().max().item()), key
    if name.startswith('rtmpose'):
        assert 'ema_state_dict' in saved   # EMAHook(ExpMomentumEMA)
        switch = _hook(runner, 'PipelineSwitchHook')
        assert switch.switched
        pipeline = runner.train_dataloader.dataset.pipeline
        names = [type(t).__name__ for t in pipeline.transforms]
        assert {'YOLOXHSVRandomAug', 'Albumentation'} <= set(names), names


@pytest.mark.parametrize('name', MODELS)
def test_demo_tool(tmp_path, name):
    scene = IMAGES['scene_a']
    out = tmp_path / 'drawn.png'
    boxes = [str(v) for box in scene['bboxes_xyxy'] for v in ['--bbox', *box]]
    load_tool('demo').main([config(name), checkpoint(name), str(FIXTURES / scene['file']),
                            '--out', str(out), *boxes])
    drawn = cv2.imread(str(out))
    source = cv2.imread(str(FIXTURES / scene['file']))
    assert drawn.shape == source.shape
    assert np.abs(drawn.astype(int) - source).max() > 100   # the skeletons


@pytest.mark.parametrize('name', MODELS)
def test_export_tool_gives_mmposes_outputs(tmp_path, name):
    ort = pytest.importorskip('onnxruntime')
    out = tmp_path / f'{name}.onnx'
    info = load_tool('export_onnx').main([config(name), checkpoint(name), '--out', str(out)])
    assert info['check']['passed']
    assert json.loads((tmp_path / f'{name}.json').read_text())['outputs'] == info['outputs']
    # MMPose's network inputs (after its data preprocessor) back to RGB 0..255 images
    ref = np.load(FIXTURES / f'{name}.npz')
    preprocessor = Config.fromfile(config(name)).model.data_preprocessor
    mean = np.array(preprocessor.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.array(preprocessor.std, np.float32).reshape(1, 3, 1, 1)
    images = ref['inputs'] * std + mean
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    got = session.run(None, {session.get_inputs()[0].name: images.astype(np.float32)})
    for key, value in zip(info['outputs'], got):
        want = ref[key]
        np.testing.assert_allclose(value, want, rtol=0,
                                   atol=1e-4 * float(want.max() - want.min()), err_msg=key)
