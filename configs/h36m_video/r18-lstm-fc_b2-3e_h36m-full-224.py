# ResNet-18 → global pooling → LSTM 512 → FC 512, 256 → 51 on full Human3.6M in
# MMPose's preprocessed layout (docs/h36m.md): train S1, S5, S6, S7, S8 (an 8-frame
# clip every 40 frames at 50 fps), test S9, S11 (every frame), 224 px person crops.
# Schedule of the course-split reference (r18-lstm-fc_b2-3e_h36m-224.py, 72.9 mm there):
# Adamax lr 1e-4, batch 2, 3 epochs. The test log prints MPJPE / PA-MPJPE per action.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_video.py']

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    spatial_neck=dict(type='GlobalAveragePooling'),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=512,
                       hidden_size=512, num_layers=1),
    head=dict(type='JointRegressionHead', in_channels=512, num_joints=17,
              hidden_dims=(512, 256), loss=dict(type='MSELoss'),
              decoder=_base_.codec))   # configs/_base_/data/h36m_video.py's codec

train_dataloader = dict(batch_size=2)
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adamax', lr=1e-4))
param_scheduler = []
default_hooks = dict(checkpoint=dict(save_best='mpjpe', rule='less'))
