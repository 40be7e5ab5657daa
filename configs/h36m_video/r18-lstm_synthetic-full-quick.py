# Quick start on Human3.6M in MMPose's preprocessed layout, with its synthetic twin:
#   python tools/make_synthetic_data.py h36m-full --out data/h36m_full_synthetic
#   python tools/train.py configs/h36m_video/r18-lstm_synthetic-full-quick.py
#   python tools/test.py configs/h36m_video/r18-lstm_synthetic-full-quick.py \
#       work_dirs/r18-lstm_synthetic-full-quick/epoch_3.pth      # per-action table
#   python tools/mean_pose_baseline.py configs/h36m_video/r18-lstm_synthetic-full-quick.py
# 7 subjects × 15 actions × 2 subactions × 4 cameras × 40 frames (160 px frames);
# train S1, S5, S6, S7, S8 (1200 clips of 8 frames: one every 20 frames), test S9,
# S11 (every frame).
# Sized for a CPU: 48×48 person crops and a half-width ResNet-18 (docs/h36m.md has
# the figures measured with it).
#
# No ClipRandomFlip: the synthetic bodies colour left limbs warm and right limbs
# cool, which a mirrored clip would contradict (see r18-lstm_synthetic-quick.py).
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_video.py']

data_root = 'data/h36m_full_synthetic/'
# Another codec: every part that uses it is re-stated below (the base's pipelines were
# computed with the base's codec when it was read).
codec = dict(type='RootRelativeJoints3D', input_size=(48, 48), num_frames=8,
             root_index=0)

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, base_channels=32, out_indices=(3, )),
    # 48 px input → 2×2 map: keep the layout instead of pooling it away.
    spatial_neck=dict(type='ChannelReduction', in_channels=256, out_channels=32),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=32 * 2 * 2,
                       hidden_size=256),
    head=dict(type='JointRegressionHead', in_channels=256, hidden_dims=(256, ),
              loss=dict(type='MSELoss'), decoder=codec))

train_pipeline = [
    dict(type='LoadClipCrops', input_size=codec['input_size']),
    dict(type='ClipColorJitter', brightness=0.2, contrast=0.2, saturation=0.2),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackClipInputs'),
]
val_pipeline = [dict(type='LoadClipCrops', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec), dict(type='PackClipInputs')]

train_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, seq_step=20, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = val_dataloader

max_epochs = 3
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3), clip_grad=dict(max_norm=5.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='mpjpe', rule='less'))
