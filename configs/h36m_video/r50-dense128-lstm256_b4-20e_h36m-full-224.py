# ResNet-50 (ImageNet-pretrained) → dense 2048→128 at each of the 7×7 positions →
# flatten 6272 → LSTM 256 → FC 51 on full Human3.6M in MMPose's layout (docs/h36m.md).
# Schedule of the course-split reference (r50-dense128-lstm256_b4-20e_h36m-224.py,
# 114.7 mm there): Adam lr 5e-4, batch 4, 20 epochs. Pretrained weights: torchvision's
# ResNet-50 ImageNet state dict saved locally at checkpoints/resnet50_imagenet.pth.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/h36m_video.py']

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
              decoder=_base_.codec))   # configs/_base_/data/h36m_video.py's codec

train_dataloader = dict(batch_size=4)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = []
default_hooks = dict(checkpoint=dict(save_best='mpjpe', rule='less'))
