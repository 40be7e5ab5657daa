# Quick start (`make demo`): ResNet-18 → per-position reduction → LSTM → MLP on
# synthetic Human3.6M-format clips (tools/make_synthetic_data.py h36m). Sized for a
# CPU: frames resized to 96×96 and a half-width ResNet-18 (base_channels=32), so four
# epochs of 1500 clips train on 2 cores in minutes.
#
# No ClipRandomFlip here: the synthetic bodies colour left limbs warm and right limbs
# cool, and a mirrored clip would show the left joints in right-limb colours — a
# flip would contradict the very cue that tells the sides apart. (On real video,
# where nothing marks the sides, flipping is a sound augmentation: see the
# reference configs.)
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_clips.py']

data_root = 'data/h36m_synthetic/'
# Another codec: every part that uses it is re-stated below (the base's pipelines were
# computed with the base's codec when it was read).
codec = dict(type='RootRelativeJoints3D', input_size=(96, 96), num_frames=8,
             root_index=0)

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, base_channels=32, out_indices=(3, )),
    # 96 px input → 3×3 map: keep the layout (where the limbs are) instead of pooling.
    spatial_neck=dict(type='ChannelReduction', in_channels=256, out_channels=32),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=32 * 3 * 3,
                       hidden_size=256),
    head=dict(type='JointRegressionHead', in_channels=256, hidden_dims=(256, ),
              loss=dict(type='MSELoss'), decoder=codec))

train_pipeline = [
    dict(type='ClipResize', input_size=codec['input_size']),
    dict(type='ClipColorJitter', brightness=0.2, contrast=0.2, saturation=0.2),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackClipInputs'),
]
val_pipeline = [dict(type='ClipResize', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec), dict(type='PackClipInputs')]

train_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = val_dataloader

max_epochs = 4
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3), clip_grad=dict(max_norm=5.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(save_best='mpjpe', rule='less'))
