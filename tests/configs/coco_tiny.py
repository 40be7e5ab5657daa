# A tiny COCO-format experiment for tests/end_to_end/test_end_to_end_coco.py: synthetic COCO files
# written by the test, moved there with --cfg-options data_root=DIR; 48×64 (W×H) crops,
# 12×16 heatmaps (σ 1.5), a 2-stack hourglass of depth 2 with 32 channels, about 160
# iterations of batch 8 (the hourglass stem, not the channels, sets the cost).
_base_ = ['../../configs/coco/hg2_synthetic-quick.py']

# Another codec: every part that uses it is re-stated (as in the base's base).
codec = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=1.5)
model = dict(backbone=dict(channels=32, depth=2), head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImage', min_box_scale=0.8, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.2,
         rotate_factor=20, rotate_prob=0.4, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.1)]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=12))
