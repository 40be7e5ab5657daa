# HRNet-W32 (Sun et al., 2019) on COCO person keypoints, MMPose's
# td-hm_hrnet-w32_8xb64-210e_coco-256x192: HRNet-W32 (4 stages, branches of 32, 64,
# 128, 256 channels) → the highest-resolution branch → 1×1 conv to 17 heatmaps (no
# deconvs, HeatmapHead); 192×256 (W×H) input, 48×64 heatmaps (σ 2) on MMPose's
# 'origin' grid; flip test with the heatmap shifted one pixel (MMPose's
# shift_heatmap=True); val on MMPose's person detections, OKS-NMS (28.5 M parameters).
# Schedule as MMPose's: Adam lr 5e-4, linear warm-up over 500 iterations, 210 epochs,
# ×0.1 at epochs 170 and 200; 8 GPUs × 64 (batch 512: --auto-scale-lr scales the lr
# from base_batch_size 512 for another total batch).
# MMPose reports 74.6 AP on COCO val2017 (hrnet_coco.yml); its published checkpoint
# td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth loads as it is.
# ImageNet weights: MMPose's hrnet_w32-36af842e.pth
# (download.openmmlab.com/mmpose/pretrain_models/) saved locally at
# checkpoints/hrnet_w32-36af842e.pth (nothing is downloaded).
#
# The other HRNet configs of this folder inherit this one: W48 changes the backbone
# and the head's input channels; 384×288, UDP and DARK change the codec and so
# re-state every part that uses it (configs/_base_/data/coco_mmpose.py says why).
_base_ = ['../_base_/default_runtime.py', '../_base_/data/coco_mmpose.py']

model = dict(
    type='TopDownPoseEstimator',
    # ImageNet mean and std (RGB, 0–255), MMPose's
    data_preprocessor=dict(type='ImageDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]),
    backbone=dict(
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                        num_channels=(32, 64)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC',
                        num_blocks=(4, 4, 4), num_channels=(32, 64, 128)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC',
                        num_blocks=(4, 4, 4, 4), num_channels=(32, 64, 128, 256))),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/hrnet_w32-36af842e.pth')),
    head=dict(type='HeatmapHead', in_channels=32, out_channels=17, deconv_out_channels=None,
              loss=dict(type='KeypointMSELoss', use_target_weight=True),
              decoder=_base_.codec),   # configs/_base_/data/coco_mmpose.py's codec
    test_cfg=dict(flip_test=True, shift_heatmap=True))

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
# MMPose's runtime hook: BatchNorm buffers averaged over the GPUs after each epoch
# (multi-GPU runs; nothing to do on one).
custom_hooks = [*_base_.custom_hooks, dict(type='SyncBuffersHook')]
