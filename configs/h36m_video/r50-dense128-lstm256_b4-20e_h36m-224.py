# ResNet-50 (ImageNet-pretrained) → dense 2048→128 at each of the 7×7 positions →
# flatten 6272 → LSTM 256 → FC 51; Adam lr 5e-4, batch 4, 20 epochs.
# Reference: 114.7 mm MPJPE on the course split (DESIGN.md).
# Pretrained weights: torchvision's ResNet-50 ImageNet state dict saved locally at
# checkpoints/resnet50_imagenet.pth (no downloads at run time; see docs).
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_clips.py']

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(
        type='ResNet', depth=50, out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet50_imagenet.pth')),
    spatial_neck=dict(type='ChannelReduction', in_channels=2048, out_channels=128),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=128 * 7 * 7,
                       hidden_size=256),
    head=dict(type='JointRegressionHead', in_channels=256, num_joints=17, hidden_dims=(),
              loss=dict(type='MSELoss'),
              decoder=_base_.codec))   # configs/_base_/data/h36m_clips.py's codec

train_dataloader = dict(batch_size=4)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = []
default_hooks = dict(checkpoint=dict(save_best='mpjpe', rule='less'))
