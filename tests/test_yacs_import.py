"""HRNet / SimpleBaseline YAML experiments imported as hpekit configs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope

from hpekit.datasets.synthetic_mpii import write_mpii_split
from hpekit.engine.config_setup import load_config
from hpekit.engine.yacs_import import YacsImportError, load_yacs_experiment, read_yaml
from hpekit.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / 'configs' / 'yacs_examples' / 'res50_256x256_d256x3_adam_lr1e-3.yaml'
TINY = ROOT / 'tests' / 'data' / 'hourglass_tiny.yaml'


def transforms(pipeline, name):
    return [t for t in pipeline if t['type'] == name]


def write_yaml(tmp_path, text, name='exp.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_simplebaseline_example_maps_model_data_and_schedule():
    cfg, report = load_yacs_experiment(str(EXAMPLE))
    assert cfg.model.backbone.type == 'ResNet' and cfg.model.backbone.depth == 50
    assert cfg.model.backbone.init_cfg.checkpoint == 'checkpoints/resnet50_imagenet.pth'
    head = cfg.model.head
    assert head.type == 'DeconvHeatmapHead' and head.in_channels == 2048
    assert tuple(head.deconv_channels) == (256, 256, 256) and head.final_kernel == 1
    train = cfg.train_dataloader
    assert train.batch_size == 32 and train.num_workers == 4
    affine = transforms(train.dataset.pipeline, 'TopdownAffine')[0]
    assert tuple(affine.input_size) == (256, 256)
    assert (affine.scale_factor, affine.rotate_factor, affine.flip_prob) == (0.25, 30, 0.5)
    # PROB_HALF_BODY -1 switches half-body crops off.
    assert not transforms(train.dataset.pipeline, 'RandomHalfBody')
    heat = transforms(train.dataset.pipeline, 'GenerateHeatmaps')[0]
    assert tuple(heat.heatmap_size) == (64, 64) and heat.sigma == 2
    assert cfg.val_dataloader.dataset.ann_file == 'annotations/mpii_val.json'
    assert cfg.val_evaluator.gt_file == 'data/mpii/annotations/mpii_gt_val.mat'
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=0.001)  # no WD for Adam
    assert cfg.param_scheduler == [dict(type='MultiStepLR', by_epoch=True,
                                        milestones=[90, 120], gamma=0.1)]
    assert cfg.train_cfg.max_epochs == 140 and cfg.resume is True
    assert cfg.default_hooks.logger.interval == 100
    # SHIFT_HEATMAP true is HRNet's flip compensation: reported, not copied.
    assert cfg.model.test_cfg == dict(flip_test=True, shift_heatmap=False)
    assert {'TEST.SHIFT_HEATMAP', 'GPUS', 'TRAIN.WD', 'OUTPUT_DIR'} <= set(report.ignored)


@pytest.mark.parametrize('path', [EXAMPLE, TINY])
def test_every_key_is_either_mapped_or_reported(path):
    _, report = load_yacs_experiment(str(path))
    keys = set(read_yaml(str(path)))
    assert set(report.mapped) | set(report.ignored) == keys
    assert not set(report.mapped) & set(report.ignored)
    assert not report.rejected
    text = report.warning_text()
    assert str(path) in text and all(f'  {key}:' in text for key in report.ignored)


def test_resnet18_depth_sets_head_channels_and_builds(tmp_path):
    text = EXAMPLE.read_text().replace('NUM_LAYERS: 50', 'NUM_LAYERS: 18') \
        .replace("PRETRAINED: 'checkpoints/resnet50_imagenet.pth'", "PRETRAINED: ''")
    cfg, _ = load_yacs_experiment(write_yaml(tmp_path, text))
    assert cfg.model.head.in_channels == 512 and cfg.model.backbone.init_cfg is None
    init_default_scope('hpekit')
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        heatmaps = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert heatmaps[-1].shape == (1, 16, 16, 16)


def test_init_weights_false_drops_the_pretrained_backbone(tmp_path):
    text = EXAMPLE.read_text().replace('NAME: pose_resnet',
                                       'NAME: pose_resnet\n  INIT_WEIGHTS: false')
    cfg, report = load_yacs_experiment(write_yaml(tmp_path, text))
    assert cfg.model.backbone.init_cfg is None
    assert 'MODEL.PRETRAINED' in report.ignored


def test_unmappable_keys_fail_together_naming_file_and_keys(tmp_path):
    text = (EXAMPLE.read_text().replace('NAME: pose_resnet', 'NAME: pose_resnet\n'
                                        '  TAG_PER_JOINT: true')
            .replace('USE_TARGET_WEIGHT: true', 'USE_TARGET_WEIGHT: true\n'
                     '  USE_OHKM: true')
            .replace('  - 64\n  - 64', '  - 48\n  - 64')
            .replace('DATASET: mpii', 'DATASET: coco')
            + 'FOO:\n  BAR: 1\n')
    path = write_yaml(tmp_path, text)
    with pytest.raises(YacsImportError) as err:
        load_yacs_experiment(path)
    message = str(err.value)
    assert path in message
    for key in ('LOSS.USE_OHKM', 'MODEL.HEATMAP_SIZE', 'DATASET.DATASET', 'FOO.BAR'):
        assert f'  {key}:' in message
    assert 'MODEL.TAG_PER_JOINT' not in message  # ignorable: a warning, not an error


def test_unknown_model_and_bad_values_are_errors(tmp_path):
    path = write_yaml(tmp_path, 'MODEL:\n  NAME: pose_hrnet\n  EXTRA:\n    STAGE2: 1\n'
                      'TRAIN:\n  LR: fast\n  OPTIMIZER: lion\n')
    with pytest.raises(YacsImportError) as err:
        load_yacs_experiment(path)
    message = str(err.value)
    assert "MODEL.NAME: 'pose_hrnet'" in message and 'MODEL.EXTRA.STAGE2' in message
    assert "TRAIN.LR: expected a number >= 1e-12, got 'fast'" in message
    assert "TRAIN.OPTIMIZER: 'lion'" in message
    with pytest.raises(FileNotFoundError, match='missing.yaml'):
        load_yacs_experiment(str(tmp_path / 'missing.yaml'))
    broken = write_yaml(tmp_path, 'MODEL: [unclosed\n', 'broken.yaml')
    with pytest.raises(YacsImportError, match='broken.yaml'):
        load_yacs_experiment(broken)


def test_load_config_reads_yaml_and_merges_cfg_options():
    cfg = load_config(str(TINY), {'train_dataloader.batch_size': 3})
    assert cfg.default_scope == 'hpekit'
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.model.backbone.channels == 16 and cfg.model.backbone.depth == 2
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.8,
                                               weight_decay=0.0005, nesterov=True)


def test_train_tool_runs_a_yaml_experiment(tmp_path):
    data = tmp_path / 'mpii'
    write_mpii_split(str(data), num_train=3, num_val=1, image_size=(320, 192), seed=5,
                     progress=False)
    exp = write_yaml(tmp_path, TINY.read_text().replace("'data/mpii/'", f"'{data}'"),
                     'hg_tiny.yaml')
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), exp,
                           '--work-dir', str(work)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'not mapped onto hpekit' in out and 'TEST.NMS_THRE' in out
    assert (work / 'epoch_1.pth').is_file()
    history = json.loads((work / 'metrics.json').read_text())
    assert [h['epoch'] for h in history] == [1] and 0.0 <= history[0]['PCKh'] <= 100.0
