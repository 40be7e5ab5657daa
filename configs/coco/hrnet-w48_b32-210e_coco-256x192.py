# HRNet-W48 on COCO person keypoints, MMPose's td-hm_hrnet-w48_8xb32-210e_coco-256x192:
# hrnet-w32_b64-210e_coco-256x192.py with branches of 48, 96, 192, 384 channels (head
# input 48), the same codec, data, flip test and schedule (63.6 M parameters); 8 GPUs
# × 32.
# MMPose reports 75.6 AP on COCO val2017 (hrnet_coco.yml); its published checkpoint
# td-hm_hrnet-w48_8xb32-210e_coco-256x192-0e67c616_20220913.pth loads as it is.
# ImageNet weights: MMPose's hrnet_w48-8ef0771d.pth
# (download.openmmlab.com/mmpose/pretrain_models/) saved locally at
# checkpoints/hrnet_w48-8ef0771d.pth (nothing is downloaded).
# auto_scale_lr: MMPose's file keeps W32's base_batch_size=512; the lr was set for its
# total batch of 8 × 32 = 256, which --auto-scale-lr scales from here.
_base_ = ['./hrnet-w32_b64-210e_coco-256x192.py']

model = dict(
    backbone=dict(
        extra=dict(stage2=dict(num_channels=(48, 96)),
                   stage3=dict(num_channels=(48, 96, 192)),
                   stage4=dict(num_channels=(48, 96, 192, 384))),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/hrnet_w48-8ef0771d.pth')),
    head=dict(in_channels=48))

train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(enable=False, base_batch_size=256)
