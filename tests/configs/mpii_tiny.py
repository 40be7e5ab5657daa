# A tiny top-down 2D experiment for the end-to-end tests: synthetic MPII files written
# by the test into a data root set with --cfg-options (every dataloader's
# dataset.data_root and both evaluators' gt_file); 64×64 crops, 16×16 heatmaps, a
# 2-stack hourglass of depth 2 with 16 channels.
_base_ = ['../../configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py']

# The one codec: LoadImage, TopdownAffine, GenerateTarget and the head's decoder are
# given it (or its input size) below.
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)

model = dict(backbone=dict(channels=16, depth=2), head=dict(decoder=codec))

train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, input_size=codec['input_size']),
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)]
default_hooks = dict(logger=dict(interval=1))
