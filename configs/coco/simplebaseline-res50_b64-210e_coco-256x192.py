# SimpleBaseline (Xiao et al., 2018) on COCO person keypoints, MMPose's
# td-hm_res50_8xb64-210e_coco-256x192: ResNet-50 → three 4×4 stride-2 transposed
# convs (256 channels, BN, ReLU) → 1×1 conv to 17 heatmaps; 192×256 (W×H) input,
# 48×64 heatmaps (σ 2); flip test; val on MMPose's person detections (56 AP).
# Schedule as MMPose's: Adam lr 5e-4, linear warm-up over 500 iterations, 210 epochs,
# ×0.1 at epochs 170 and 200. MMPose trains on 8 GPUs × 64 (batch 512): for another
# total batch, --auto-scale-lr scales the lr from base_batch_size 512.
# MMPose reports 71.8 AP on COCO val2017 (not trained in hpekit).
# ImageNet weights: torchvision's ResNet-50 state dict saved locally at
# checkpoints/resnet50_imagenet.pth (nothing is downloaded; see docs/mpii.md).
_base_ = ['../_base_/default_runtime.py', '../_base_/data/coco.py']

model = dict(
    type='TopDownPoseEstimator',
    data_preprocessor=dict(type='ImageDataPreprocessor'),
    backbone=dict(
        type='ResNet', depth=50, out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet50_imagenet.pth')),
    head=dict(type='DeconvHeatmapHead', in_channels=2048, num_joints=17,
              decoder=_base_.codec,   # configs/_base_/data/coco.py's codec
              deconv_channels=(256, 256, 256), deconv_kernels=(4, 4, 4),
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, shift_heatmap=False))

train_dataloader = dict(batch_size=64)
train_cfg = dict(by_epoch=True, max_epochs=210, val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1,
         by_epoch=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=512)
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))
