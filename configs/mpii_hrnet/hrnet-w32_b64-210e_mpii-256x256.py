# HRNet-W32 on MPII Human Pose, MMPose's td-hm_hrnet-w32_8xb64-210e_mpii-256x256:
# HRNet-W32 → the highest-resolution branch → 1×1 conv to 16 heatmaps (HeatmapHead, no
# deconvs); 256×256 input, 64×64 heatmaps (σ 2) on MMPose's 'origin' grid (crops and
# codec); flip test with the heatmap shifted one pixel (MMPose's shift_heatmap=True);
# 28.5 M parameters. hpekit's MPIIDataset and official PCKh (MPIIPCKh against
# annotations/mpii_gt_val.mat), as configs/mpii_hourglass's configs, from
# configs/_base_/data/mpii.py (MMPose's boxes: scale × 200 × 1.25 px, centre moved
# down 15 × scale px).
# MMPose's augmentation: flip (0.5), box scale 0.5–1.5, rotation ±80° with probability
# 0.6, no centre shift (shift_prob=0), no half-body crops.
# Schedule as MMPose's: Adam lr 5e-4, linear warm-up over 500 iterations, 210 epochs,
# ×0.1 at epochs 170 and 200. Batch 64 per GPU on 8 GPUs as the name says and as the
# published checkpoint was trained (MMPose 1.3.2's file sets batch_size=16 in its
# loader, with base_batch_size=512 for --auto-scale-lr).
# MMPose reports a mean PCKh@0.5 of 90.0 (PCKh@0.1 33.4) on MPII val (hrnet_mpii.yml);
# its published checkpoint hrnet_w32_mpii_256x256-6c4f923f_20200812.pth loads as it is.
# ImageNet weights: MMPose's hrnet_w32-36af842e.pth
# (download.openmmlab.com/mmpose/pretrain_models/) saved locally at
# checkpoints/hrnet_w32-36af842e.pth (nothing is downloaded).
_base_ = ['../_base_/default_runtime.py', '../_base_/data/mpii.py']

# MMPose's grid instead of the base's: the codec and every part that uses it are
# re-stated (the base's pipelines hold the base's codec values).
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2,
             grid='origin')

model = dict(
    type='TopDownPoseEstimator',
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
    head=dict(type='HeatmapHead', in_channels=32, out_channels=16, deconv_out_channels=None,
              loss=dict(type='KeypointMSELoss', use_target_weight=True), decoder=codec),
    test_cfg=dict(flip_test=True, shift_heatmap=True))

train_pipeline = [
    dict(type='LoadImage', min_box_scale=0.5, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.5, rotate_factor=80, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
# The fully decoded image, as MMPose's LoadImage gives it.
val_pipeline = [
    dict(type='LoadImage', reduce_decode=False, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         augment=False),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
                      dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
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
default_hooks = dict(checkpoint=dict(save_best='PCKh', rule='greater'))
# MMPose's runtime hook: BatchNorm buffers averaged over the GPUs after each epoch
# (multi-GPU runs; nothing to do on one).
custom_hooks = [*_base_.custom_hooks, dict(type='SyncBuffersHook')]
