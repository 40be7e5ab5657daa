"""One model trained on the synthetic COCO twin (17 keypoints) and the synthetic MPII
twin (16 keypoints) mixed into one 21-keypoint set (``CombinedDataset`` +
``KeypointConverter``), validated with ``PCKAccuracy`` on both val sets mixed the same
way: the per-keypoint table covers the keypoints of both sets."""
import json
import math
from pathlib import Path

import pytest
from tool_loader import load_tool

from hpekit.datasets import keypoint_names, parse_pose_metainfo

ROOT = Path(__file__).resolve().parents[2]
COMBINED = 'configs/_base_/datasets/coco_mpii_combined.py'
COCO_TO_COMBINED = [(i, i) for i in range(17)]
MPII_TO_COMBINED = [(0, 16), (1, 14), (2, 12), (3, 11), (4, 13), (5, 15), (6, 17), (7, 18),
                    (8, 19), (9, 20), (10, 10), (11, 8), (12, 6), (13, 5), (14, 7), (15, 9)]

CONFIG = '''
_base_ = ['{root}/configs/_base_/default_runtime.py']
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(
    type='TopDownPoseEstimator', data_preprocessor=dict(type='ImageDataPreprocessor'),
    backbone=dict(type='StackedHourglass', num_stacks=2, num_blocks=1, channels=16,
                  num_joints=21, depth=2, stem='conv7x7', block=dict(type='PreActBottleneck')),
    head=dict(type='MultiStageHeatmapHead', num_joints=21, decoder=codec,
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, shift_heatmap=False))
metainfo = dict(from_file='{combined}')
coco_converter = [dict(type='KeypointConverter', num_keypoints=21, mapping={coco_map})]
mpii_converter = [dict(type='KeypointConverter', num_keypoints=21, mapping={mpii_map})]
train_pipeline = [
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.2,
         rotate_factor=20, rotate_prob=0.4, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs', meta_keys=('sample_idx', 'image_id', 'center', 'bbox_size',
                                           'input_size', 'flip_indices', 'img_scale',
                                           'bbox'))]


def parts(split, coco_split):
    return [dict(type='CocoDataset', data_root='{coco}',
                 ann_file=f'annotations/person_keypoints_{{coco_split}}2017.json',
                 data_prefix=dict(img=f'{{coco_split}}2017/'),
                 input_size=codec['input_size'], pipeline=coco_converter),
            dict(type='MPIIDataset', data_root='{mpii}',
                 ann_file=f'annotations/mpii_{{split}}.json', pipeline=mpii_converter)]


train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CombinedDataset', metainfo=metainfo, datasets=parts('train', 'train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CombinedDataset', metainfo=metainfo, datasets=parts('val', 'val'),
                 pipeline=val_pipeline, test_mode=True))
val_evaluator = dict(type='PCKAccuracy', thr=0.2, norm_item='bbox')
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
val_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
default_hooks = dict(logger=dict(interval=1), checkpoint=None)
# the runtime's hooks without the pictures (curves, val predictions): not tested here
custom_hooks = [dict(type='HpekitSetupHook'), dict(type='EpochSeedHook'),
                dict(type='MetricsJsonHook')]
'''


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    from hpekit.datasets.synthetic.coco import write_coco_split
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    root = tmp_path_factory.mktemp('mixed')
    write_coco_split(str(root / 'coco'), num_train=8, num_val=3, image_size=(192, 144),
                     seed=1, progress=False)
    write_mpii_split(str(root / 'mpii'), num_train=6, num_val=3, image_size=(192, 144),
                     seed=1, progress=False)
    path = root / 'mixed.py'
    # the pairs as lists: the Runner's config dump formats lists of tuples slowly
    path.write_text(CONFIG.format(root=ROOT, combined=COMBINED, coco=root / 'coco',
                                  mpii=root / 'mpii',
                                  coco_map=[list(pair) for pair in COCO_TO_COMBINED],
                                  mpii_map=[list(pair) for pair in MPII_TO_COMBINED]))
    return path


def test_one_model_trains_on_both_sets_and_reports_every_keypoint_of_both(config, tmp_path):
    runner = load_tool('train').main([str(config), '--work-dir', str(tmp_path)])
    sizes = [len(d) for d in runner.train_dataloader.dataset.datasets]
    assert min(sizes) > 0   # both sets were trained on
    record = json.loads((tmp_path / 'metrics.json').read_text())[-1]
    names = keypoint_names(parse_pose_metainfo(dict(from_file=COMBINED)))
    coco = keypoint_names(parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py')))
    mpii = keypoint_names(parse_pose_metainfo(dict(from_file='configs/_base_/datasets/mpii.py')))
    assert set(names) == set(coco) | set(mpii) and len(names) == 21
    table = {name: record[f'PCK/{name}'] for name in names}   # every keypoint reported
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in table.values()), table
    assert math.isfinite(record['PCK'])
