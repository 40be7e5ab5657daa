# HRNet-W32 with DARK (Zhang et al., 2020) on COCO person keypoints, MMPose's
# td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192: hrnet-w32_b64-210e_coco-256x192.py
# (network, crops, augmentation, flip test, schedule) with MSRAHeatmap(unbiased=True):
# unbiased gaussian targets (centred on the sub-pixel keypoint) and DARK decoding
# (heatmap blur + second-order Taylor refinement).
# MMPose reports 75.7 AP on COCO val2017 (hrnet_dark_coco.yml); its published checkpoint
# td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192-0e00bf12_20220914.pth loads as it is.
# ImageNet weights: as the base (checkpoints/hrnet_w32-36af842e.pth).
_base_ = ['./hrnet-w32_b64-210e_coco-256x192.py']

# Another codec, same input size and grid: the parts given the codec itself are
# re-stated (the targets and the head's decoding); the val pipeline takes only
# codec['input_size'], unchanged, and is kept from the base.
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2,
             unbiased=True, grid='origin')

model = dict(head=dict(decoder=codec))

train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.5, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.5, rotate_factor=80, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
