# COCO person keypoints, top-down, as MMPose's RTMPose configs train and test
# (rtmpose-*_8xb256-420e_coco-256x192): the data part of configs/coco/rtmpose-*.py.
# - SimCC targets (SimCCLabel: 2 bins per input px, σ (4.9, 5.66) px on x and y, not
#   normalised) on MMPose's 'origin' crop grid (TopdownAffine(grid='origin'));
# - stage 1: flip (0.5), half-body crops (0.3, at least 9 labelled keypoints), box scale
#   0.6–1.4, rotation ±80° (probability 0.6), then YOLOX's HSV jitter and
#   albumentations' Blur (0.1), MedianBlur (0.1) and one CoarseDropout hole of 20–40 %
#   of each side (always);
# - stage 2 (`train_pipeline_stage2`, set by the model config's PipelineSwitchHook for
#   the last 30 epochs): box scale 0.75–1.25, rotation ±60°, CoarseDropout with
#   probability 0.5;
# - MMPose's centre shifts (RandomBBoxTransform's shift_factor) are not drawn (hpekit's
#   TopdownAffine jitters scale and rotation only);
# - test crops from the fully decoded image (LoadImage reduce_decode=False), the pixels
#   MMPose's LoadImage gives; validation on the ground-truth boxes, as MMPose's RTMPose
#   files (their bbox_file is commented out; MMPose's reported AP uses its person
#   detections: set val_dataloader.dataset.bbox_file=data_root + 'person_detection_
#   results/COCO_val2017_detections_AP_H_56_person.json' to match it), OKS-NMS.
# YOLOXHSVRandomAug and Albumentation need the albumentations package
# (requirements/albumentations.txt).
# A model config with another codec re-declares `codec` and re-states the three
# pipelines, the loaders' `pipeline` and the head (configs/_base_/data/coco_mmpose.py
# says why).
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
codec = dict(type='SimCCLabel', input_size=(192, 256), sigma=(4.9, 5.66),
             simcc_split_ratio=2.0, normalize=False, use_dark=False)

# RandomHalfBody only replaces the box, so it comes first and LoadImage decodes for
# the final box.
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.6, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.4, rotate_factor=80, rotate_prob=0.6, flip_prob=0.5),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4,
             min_holes=1, min_height=0.2, min_width=0.2, p=1.0),
    ]),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_pipeline_stage2 = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.75, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.25, rotate_factor=60, rotate_prob=0.6, flip_prob=0.5),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4,
             min_holes=1, min_height=0.2, min_width=0.2, p=0.5),
    ]),
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
    batch_size=256,
    num_workers=10,
    persistent_workers=False,
    # Scoped name: the Runner looks worker_init_fn up in mmengine's root registry.
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=10,
    persistent_workers=False,
    drop_last=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_val2017.json', bbox_file=None,
                 data_prefix=dict(img='val2017/'), pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader

# OKS AP/AR through pycocotools (coco/AP, coco/AP .5, …), after MMPose's OKS-NMS.
val_evaluator = dict(type='CocoMetric', nms_mode='oks_nms',
                     ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
