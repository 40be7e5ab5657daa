# A tiny video 3D experiment on Human3.6M in MMPose's layout for the end-to-end test:
# data written by `tools/make_synthetic_data.py h36m-full` into data_root (set with
# --cfg-options), 32×32 crops, 4 frames per clip, a narrow ResNet-18, one epoch.
_base_ = ['../../configs/_base_/default_runtime.py',
          '../../configs/_base_/data/h36m_video.py']

codec = dict(type='RootRelativeJoints3D', input_size=(32, 32), num_frames=4, root_index=0)

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
    spatial_neck=dict(type='GlobalAveragePooling'),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=64, hidden_size=32),
    head=dict(type='JointRegressionHead', in_channels=32, hidden_dims=(32, ), decoder=codec))

train_pipeline = [dict(type='LoadClipCrops', input_size=codec['input_size']),
                  dict(type='GenerateTarget', encoder=codec), dict(type='PackClipInputs')]
val_pipeline = train_pipeline
train_dataloader = dict(batch_size=4, num_workers=0,
                        dataset=dict(seq_len=4, seq_step=4, pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0,
                      dataset=dict(seq_len=4, seq_step=2, pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = []
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best='mpjpe', rule='less'))
