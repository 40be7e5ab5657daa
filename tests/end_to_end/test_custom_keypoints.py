"""The worked example of docs/custom_keypoints.md, step by step, as a new user runs it:
a 9-keypoint lab-animal set written in labelme's and CVAT's formats by our generator →
``labelme2coco`` / ``cvat2coco`` → ``check_dataset`` → fine-tuning RTMPose
(``configs/custom/rtmpose_animals-quick.py``) from a COCO-17 checkpoint with the head
re-initialised → ``tools/test.py`` with per-keypoint tables → prediction pictures.

Every tool runs in this process (``load_tool``) from a working folder holding ``data/``,
as the page's commands run from the repository root. Sizes are cut to seconds: 24
images, 2 epochs of batch 8; what is checked is that each step
hands the next what it needs, not how well the model learns.
"""
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from tool_loader import load_tool

from hpekit.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'custom' / 'rtmpose_animals-quick.py'
COCO_CONFIG = ROOT / 'configs' / 'coco' / 'rtmpose_synthetic-quick.py'
NAMES = ['nose', 'left_ear', 'right_ear', 'neck', 'left_forepaw', 'right_forepaw',
         'left_hindpaw', 'right_hindpaw', 'tail_base']
SKELETON = ('nose-left_ear,nose-right_ear,left_ear-neck,right_ear-neck,neck-left_forepaw,'
            'neck-right_forepaw,neck-tail_base,tail_base-left_hindpaw,tail_base-right_hindpaw')
# 2 epochs (the stage-2 switch and the cosine phase lie beyond them), no validation
SHORT = ['train_cfg.max_epochs=2', 'train_dataloader.batch_size=8']


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A working folder with data/animals_labelme (24 images), data/animals_cvat (the
    same animals in CVAT's format) and a COCO-17 checkpoint of the RTMPose model."""
    root = tmp_path_factory.mktemp('custom_keypoints')
    make = load_tool('make_synthetic_data').main
    for form in ('labelme', 'cvat'):
        make(['custom', '--out', str(root / 'data' / f'animals_{form}'), '--format', form,
              '--num', '24', '--seed', '0', '--no-progress'])
    from hpekit.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(Config.fromfile(str(COCO_CONFIG)).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, root / 'coco17.pth')
    return root


def test_the_worked_example_runs_step_by_step(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    load_tool('dataset_converters/labelme2coco').main([
        'data/animals_labelme', '--out-dir', 'data/animals_coco', '--skeleton', SKELETON])
    meta = Config.fromfile('data/animals_coco/metainfo.py').dataset_info
    assert [meta.keypoint_info[i]['name'] for i in range(9)] == NAMES
    assert meta.keypoint_info[1]['swap'] == 'right_ear'

    load_tool('dataset_converters/cvat2coco').main([
        'data/animals_cvat/annotations.xml', '--images', 'data/animals_cvat/images',
        '--out-dir', 'data/animals_cvat_coco'])
    assert Path('data/animals_cvat_coco/metainfo.py').is_file()
    cvat = json.loads(Path('data/animals_cvat_coco/annotations/train.json').read_text())
    assert cvat['categories'][0]['keypoints'] == NAMES and cvat['categories'][0]['skeleton']

    status = load_tool('misc/check_dataset').main([str(CONFIG), '--out-dir', 'check'])
    assert status in (0, None)
    report = json.loads(Path('check/dataset_check.json').read_text())
    assert Path('check/samples_after_pipeline.jpg').stat().st_size > 0
    assert 'train' in json.dumps(report) and 'tail_base' in json.dumps(report)

    runner = load_tool('train').main([
        str(CONFIG), '--work-dir', 'work', '--cfg-options', 'load_from=coco17.pth', *SHORT])
    assert runner.iter > 0
    log = next(Path('work').rglob('*.log')).read_text()
    assert "keep the model's initial values (default_hooks.checkpoint_keys.reinitialize)" \
        in log
    checkpoint = Path('work/last_checkpoint').read_text().strip()

    metrics = load_tool('test').main([str(CONFIG), checkpoint, '--work-dir', 'work'])
    for key in ('coco/AP', 'PCK', 'AUC', 'EPE'):
        assert key in metrics, sorted(metrics)
    table = Path('work/test_per_keypoint.md').read_text()
    assert all(name in table for name in NAMES), table

    load_tool('visualize_predictions').main([str(CONFIG), checkpoint, '--out',
                                             'work/predictions.png', '--num', '2'])
    assert Path('work/predictions.png').stat().st_size > 0
