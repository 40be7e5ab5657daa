# A tiny video 3D experiment for the end-to-end tests: course-format files written by
# the test into data_root (set with --cfg-options), 32×32 frames, a narrow ResNet-18.
_base_ = ['../../configs/_base_/default_runtime.py',
          '../../configs/_base_/data/h36m_clips.py']

# The one codec: 32×32 frames, 4 per clip (as the tests write them); the val pipeline's
# ClipResize and GenerateTarget and the head's decoder (the model's spec) are given it.
codec = dict(type='RootRelativeJoints3D', input_size=(32, 32), num_frames=4, root_index=0)

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
    spatial_neck=dict(type='GlobalAveragePooling'),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=64, hidden_size=32),
    head=dict(type='JointRegressionHead', in_channels=32, hidden_dims=(32, ),
              dropout=0.1, decoder=codec))

# Flip, colour jitter and dropout draw random numbers: exact resume must reproduce them.
train_pipeline = [
    dict(type='ClipRandomFlip', prob=0.5),
    dict(type='ClipColorJitter', brightness=0.2, contrast=0.2, saturation=0.2),
    dict(type='PackClipInputs'),
]
val_pipeline = [dict(type='ClipResize', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec), dict(type='PackClipInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', milestones=[1], gamma=0.5, by_epoch=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(save_best='mpjpe', rule='less'))
