# SimpleBaseline (Xiao et al., 2018): ResNet-50 → three 4×4 stride-2 transposed convs
# (256 channels, BN, ReLU) → 1×1 conv to 16 heatmaps; 256×256 in, 64×64 out (34.0 M).
# Adam lr 1e-3, batch 32, 140 epochs, ×0.1 at epochs 90 and 120.
# ImageNet weights: torchvision's ResNet-50 state dict saved locally at
# checkpoints/resnet50_imagenet.pth (nothing is downloaded; see docs/mpii.md).
_base_ = ['../_base_/default_runtime.py', '../_base_/data/mpii.py']

model = dict(
    type='TopDownPoseEstimator',
    data_preprocessor=dict(type='ImageDataPreprocessor'),
    backbone=dict(
        type='ResNet', depth=50, out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet50_imagenet.pth')),
    head=dict(type='DeconvHeatmapHead', in_channels=2048, num_joints=16,
              decoder=_base_.codec,   # configs/_base_/data/mpii.py's codec
              deconv_channels=(256, 256, 256), deconv_kernels=(4, 4, 4),
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, shift_heatmap=False))

train_dataloader = dict(batch_size=32)
train_cfg = dict(by_epoch=True, max_epochs=140, val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[90, 120],
                        gamma=0.1)]
default_hooks = dict(checkpoint=dict(save_best='PCKh', rule='greater'))
