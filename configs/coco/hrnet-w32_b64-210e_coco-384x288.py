# HRNet-W32 on COCO person keypoints at 288×384 (W×H), MMPose's
# td-hm_hrnet-w32_8xb64-210e_coco-384x288: hrnet-w32_b64-210e_coco-256x192.py with
# 72×96 heatmaps (σ 3); the same network (28.5 M parameters), augmentation, flip test
# and schedule.
# MMPose reports 76.0 AP on COCO val2017 (hrnet_coco.yml); its published checkpoint
# td-hm_hrnet-w32_8xb64-210e_coco-384x288-ca5956af_20220909.pth loads as it is.
# ImageNet weights: as the base (checkpoints/hrnet_w32-36af842e.pth).
_base_ = ['./hrnet-w32_b64-210e_coco-256x192.py']

# Another codec: every part that uses it is re-stated below (the base's pipelines and
# head were computed with the base's codec when it was read;
# configs/_base_/data/coco_mmpose.py, whose augmentation this repeats).
codec = dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3,
             grid='origin')

model = dict(head=dict(decoder=codec))

train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.5, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.5, rotate_factor=80, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', reduce_decode=False, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         augment=False),
    dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
