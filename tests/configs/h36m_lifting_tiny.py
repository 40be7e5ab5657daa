# A tiny 2D → 3D lifting experiment for the tests: the synthetic twin of Human3.6M
# (data_root set by the test), receptive field 9, 128 channels.
_base_ = ['../../configs/_base_/default_runtime.py',
          '../../configs/_base_/data/h36m_lifting.py']

receptive_field = 9
codec = dict(type='VideoPoseLifting', num_frames=receptive_field, root_index=0)

model = dict(
    type='PoseLifter',
    data_preprocessor=dict(type='KeypointDataPreprocessor'),
    backbone=dict(type='TemporalConvNet', num_keypoints=17, channels=128,
                  kernel_sizes=(3, 3), dropout=0.0),
    head=dict(type='JointRegressionHead', in_channels=128, num_joints=17, hidden_dims=(),
              loss=dict(type='MPJPELoss'), decoder=codec))

train_pipeline = [
    dict(type='GenerateTarget', encoder=codec),
    dict(type='LiftingRandomFlip', prob=0.5),
    dict(type='PackLiftingInputs'),
]
val_pipeline = [dict(type='GenerateTarget', encoder=codec), dict(type='PackLiftingInputs')]
train_dataloader = dict(batch_size=32, num_workers=0, dataset=dict(
    receptive_field=receptive_field, seq_len=8, seq_step=2, pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, num_workers=0, dataset=dict(
    receptive_field=receptive_field, seq_len=8, seq_step=8, pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=6)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [dict(type='ExponentialLR', gamma=0.8, by_epoch=True)]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=6))
custom_hooks = [dict(type='HpekitSetupHook'), dict(type='MetricsJsonHook')]
