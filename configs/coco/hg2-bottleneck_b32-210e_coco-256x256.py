# 2-stack hourglass on COCO person keypoints: pre-activation bottleneck blocks, 256
# channels, 256×256 input, 64×64 heatmaps (σ 2), intermediate supervision, flip test;
# val on MMPose's person detections. Schedule as MMPose's COCO hourglass configs
# (td-hm_hourglass52_8xb32-210e_coco-256x256, which uses one deeper stack): Adam
# lr 5e-4, linear warm-up over 500 iterations, 210 epochs, ×0.1 at epochs 170 and 200;
# MMPose trains on 8 GPUs × 32 (batch 256: --auto-scale-lr scales from it).
# Not trained in hpekit.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/coco.py']

# 256×256 instead of the base's 192×256: the codec and every part that uses it (the
# base's pipelines were computed with the base's codec when it was read).
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)

model = dict(
    type='TopDownPoseEstimator',
    data_preprocessor=dict(type='ImageDataPreprocessor'),
    backbone=dict(type='StackedHourglass', num_stacks=2, num_blocks=1, channels=256,
                  num_joints=17, depth=4, stem='conv7x7',
                  block=dict(type='PreActBottleneck')),
    head=dict(type='MultiStageHeatmapHead', num_joints=17, decoder=codec,
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, shift_heatmap=False))

# The base's augmentation (configs/_base_/data/coco.py) at this codec's size.
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, min_visible=9, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.65, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.35,
         rotate_factor=45, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(by_epoch=True, max_epochs=210, val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1,
         by_epoch=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=256)
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))
