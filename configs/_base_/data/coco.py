# COCO person keypoints, top-down (MMPose's layout and settings): one crop per person,
# 17 keypoints (configs/_base_/datasets/coco.py). Files expected under data_root
# (see docs/data_preparation.md):
#   annotations/person_keypoints_{train,val}2017.json   COCO keypoint annotations
#   train2017/, val2017/                                  the images
#   person_detection_results/COCO_val2017_detections_AP_H_56_person.json
#                                 MMPose's val person detections (56 AP), used for val
# A synthetic stand-in: python tools/make_synthetic_data.py coco --out data/coco_synthetic
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
# The target geometry, defined once (as MMPose's configs do): the transforms below
# take `input_size=codec['input_size']`, GenerateTarget `encoder=codec`, and a model
# config inheriting this file gives its head `decoder=_base_.codec` (CocoDataset fits
# every person box to TopdownAffine's aspect ratio). A config that changes `codec`
# re-states the pipelines, the loaders' `pipeline` and the head's `decoder` (see
# configs/coco/hg2-bottleneck_b32-210e_coco-256x256.py).
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# MMPose's COCO augmentation with hpekit's transforms: half-body crops (probability
# 0.3, at least 9 labelled keypoints), flip (0.5), box scale ±35 %, rotation ±45°
# (probability 0.6). RandomHalfBody only replaces the box, so it comes first and
# LoadImage decodes at reduced size for the final box.
# RandomHalfBody fits its box to the codec's input aspect ratio (as MMPose refits every
# box), so half-body crops of the 192×256 input are not stretched.
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.65, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.35,
         rotate_factor=45, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
# CocoMetric reads id, img_id, category_id and bbox_score from each sample;
# PCKAccuracy reads bbox.
val_meta_keys = ('sample_idx', 'image_id', 'center', 'bbox_size', 'input_size',
                 'heatmap_size', 'flip_indices', 'img_scale', 'id', 'img_id',
                 'category_id', 'bbox', 'bbox_score')
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
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
# Validation on MMPose's person detections (as MMPose's reported numbers); set
# bbox_file=None to evaluate on ground-truth boxes.
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_val2017.json',
                 bbox_file=data_root + 'person_detection_results/'
                 'COCO_val2017_detections_AP_H_56_person.json',
                 data_prefix=dict(img='val2017/'), pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader

# OKS AP/AR through pycocotools (keys coco/AP, coco/AP .5, …, coco/AR (L)).
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
