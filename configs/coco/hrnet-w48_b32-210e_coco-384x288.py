# HRNet-W48 on COCO person keypoints at 288×384 (W×H), MMPose's
# td-hm_hrnet-w48_8xb32-210e_coco-384x288: hrnet-w48_b32-210e_coco-256x192.py (its
# network, 63.6 M parameters, batch and schedule) with 72×96 heatmaps (σ 3).
# MMPose reports 76.7 AP on COCO val2017 (hrnet_coco.yml); its published checkpoint
# td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915.pth loads as it is.
# ImageNet weights: as the base (checkpoints/hrnet_w48-8ef0771d.pth).
_base_ = ['./hrnet-w48_b32-210e_coco-256x192.py']

# Another codec: every part that uses it is re-stated below, as in
# hrnet-w32_b64-210e_coco-384x288.py (a config has one _base_ chain, and this one
# keeps W48's network, batch and schedule).
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
