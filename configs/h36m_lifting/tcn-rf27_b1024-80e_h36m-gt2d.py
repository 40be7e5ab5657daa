# VideoPose3D-style 2D → 3D lifting (temporal convolutions, receptive field 27 frames)
# from ground-truth 2D joints on Human3.6M at 50 fps: kernels (3, 3, 3), 1024 channels,
# dropout 0.25, flip augmentation, Adam (amsgrad) lr 1e-3 × 0.95 per epoch, 80 epochs,
# 1024 target frames per batch (64 samples of 16). Reference (MMPose): 40.1 mm MPJPE
# (protocol 1) with 27 frames and ground-truth 2D.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_lifting.py']

receptive_field = 27
# The base's codec (configs/_base_/data/h36m_lifting.py, whose pipelines encode with
# it), written out: the head decodes with it.
codec = dict(type='VideoPoseLifting', num_frames=receptive_field, root_index=0)

model = dict(
    type='PoseLifter',
    data_preprocessor=dict(type='KeypointDataPreprocessor'),
    backbone=dict(type='TemporalConvNet', num_keypoints=17, channels=1024,
                  kernel_sizes=(3, 3, 3), dropout=0.25),
    head=dict(type='JointRegressionHead', in_channels=1024, num_joints=17, hidden_dims=(),
              loss=dict(type='MPJPELoss'), decoder=codec))

train_dataloader = dict(dataset=dict(receptive_field=receptive_field))
val_dataloader = dict(dataset=dict(receptive_field=receptive_field))
test_dataloader = val_dataloader

max_epochs = 80
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, amsgrad=True))
param_scheduler = [dict(type='ExponentialLR', gamma=0.95, by_epoch=True, end=max_epochs)]
default_hooks = dict(checkpoint=dict(save_best='mpjpe', rule='less'))
