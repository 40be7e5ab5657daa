# COCO person keypoints, top-down, with MMPose's geometry and augmentation (its
# td-hm_* configs: HRNet, SimpleBaseline): the data part of configs/coco/hrnet-*.py.
# It differs from configs/_base_/data/coco.py (hpekit's own recipe: 'edges' grid,
# scale ±35 %, rotation ±45°) so that MMPose's published checkpoints evaluate as in
# MMPose and a run here trains as MMPose's config does:
# - MMPose's crop and heatmap grid: TopdownAffine(grid='origin') and
#   MSRAHeatmap(grid='origin') (the heads refuse a crop and a codec on different grids);
# - MMPose's RandomFlip (0.5), RandomHalfBody (0.3, at least 9 labelled keypoints) and
#   RandomBBoxTransform defaults (scale 0.5–1.5, rotation ±80° with probability 0.6) as
#   TopdownAffine's draws; MMPose's centre shift (±16 % with probability 0.3) is not
#   drawn (hpekit's TopdownAffine jitters scale and rotation only);
# - test crops from the fully decoded image (LoadImage reduce_decode=False), the pixels
#   MMPose's LoadImage gives; training decodes at reduced size where the smallest scale
#   draw (min_box_scale = 1 - scale_factor) keeps the input's resolution;
# - CocoMetric with MMPose's OKS-NMS (nms_mode='oks_nms') on MMPose's person detections.
# Files expected under data_root as for configs/_base_/data/coco.py (see
# docs/data_preparation.md).
#
# Why a base of the data and not one per codec: mmengine evaluates a base before the
# child that inherits it, so the pipelines below hold this file's codec *values*; a
# model config with another codec (384×288, UDP, DARK) re-declares `codec` and
# re-states the pipelines, the loaders' `pipeline` and the head's `decoder` with it
# (hpekit.config.checks.check_codec refuses a child that changes only `codec`).
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2,
             grid='origin')

# RandomHalfBody only replaces the box, so it comes first and LoadImage decodes for
# the final box.
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.5, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.5, rotate_factor=80, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
# CocoMetric reads id, img_id, category_id and bbox_score from each sample;
# PCKAccuracy reads bbox.
val_meta_keys = ('sample_idx', 'image_id', 'center', 'bbox_size', 'input_size',
                 'heatmap_size', 'flip_indices', 'img_scale', 'id', 'img_id',
                 'category_id', 'bbox', 'bbox_score')
val_pipeline = [
    dict(type='LoadImage', reduce_decode=False, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         augment=False),
    dict(type='PackPoseInputs', meta_keys=val_meta_keys),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,
    # Scoped name: the Runner looks worker_init_fn up in mmengine's root registry.
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
# Validation on MMPose's person detections (56 AP), as MMPose's reported numbers; set
# bbox_file=None to evaluate on ground-truth boxes.
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_val2017.json',
                 bbox_file=data_root + 'person_detection_results/'
                 'COCO_val2017_detections_AP_H_56_person.json',
                 data_prefix=dict(img='val2017/'), pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader

# OKS AP/AR through pycocotools (coco/AP, coco/AP .5, …), after MMPose's OKS-NMS.
val_evaluator = dict(type='CocoMetric', nms_mode='oks_nms',
                     ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
