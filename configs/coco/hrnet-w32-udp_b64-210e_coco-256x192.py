# HRNet-W32 with UDP (Huang et al., 2020) on COCO person keypoints, MMPose's
# td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192: hrnet-w32_b64-210e_coco-256x192.py
# (network, augmentation, schedule) with the unbiased data processing: crops on
# MMPose's 'corners' grid (TopdownAffine(use_udp=True) → grid='corners'), UDPHeatmap
# targets (gaussian, σ 2, 48×64) and decoding, flip test without the one-pixel shift
# (MMPose's shift_heatmap=False).
# MMPose reports 76.2 AP on COCO val2017 (hrnet_udp_coco.yml); its published checkpoint
# td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192-73ede547_20220914.pth loads as it is.
# ImageNet weights: as the base (checkpoints/hrnet_w32-36af842e.pth).
_base_ = ['./hrnet-w32_b64-210e_coco-256x192.py']

# Another codec (and crop grid): every part that uses it is re-stated below
# (configs/_base_/data/coco_mmpose.py, whose augmentation this repeats, says why).
codec = dict(type='UDPHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# `_delete_=True` where this codec meets the base's in a dict merge (the top-level
# `codec` and the head's `decoder`): replace the base's MSRAHeatmap dict instead of
# merging into it (its grid='origin' is no argument of UDPHeatmap). The pipelines are
# lists, which a child replaces whole, so they take `codec` as it is.
model = dict(head=dict(decoder=dict(codec, _delete_=True)),
             test_cfg=dict(shift_heatmap=False))

train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.5, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='corners',
         scale_factor=0.5, rotate_factor=80, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', reduce_decode=False, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='corners',
         augment=False),
    dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

codec = dict(codec, _delete_=True)   # see above: the base's codec replaced, not merged
