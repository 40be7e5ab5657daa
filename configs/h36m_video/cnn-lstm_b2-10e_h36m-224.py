# CNN (ResNet-18, pooled) → one LSTM → linear 51; Adam lr 1e-3, batch 2, 10 epochs.
# Reference: ~150 mm MPJPE on the course split (DESIGN.md); the plain-RNN variant is
# cnn-rnn_b2-10e_h36m-224.py.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_clips.py']

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    spatial_neck=dict(type='GlobalAveragePooling'),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=512, hidden_size=256),
    head=dict(type='JointRegressionHead', in_channels=256, num_joints=17, hidden_dims=(),
              loss=dict(type='MSELoss'),
              decoder=_base_.codec))   # configs/_base_/data/h36m_clips.py's codec

train_dataloader = dict(batch_size=2)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = []
default_hooks = dict(checkpoint=dict(save_best='mpjpe', rule='less'))
