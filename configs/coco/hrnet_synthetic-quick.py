# Quick start for HRNet (`make demo-hrnet`): a tiny-width HRNet on synthetic COCO
# (tools/make_synthetic_data.py coco --out data/coco_synthetic --train 400 --val 100),
# sized to train on 2 CPU cores in about a minute. Differences from
# hrnet-w32_b64-210e_coco-256x192.py (same stages, blocks, head, loss, MMPose's
# 'origin' grid, flip test with the shifted heatmap):
# - 96×128 (W×H) input and 24×32 heatmaps (σ 1) instead of 192×256 / 48×64 (σ 2);
# - one module of one block per stage, branches of 16, 32, 64, 128 channels instead of
#   32 … 256 with 4 blocks (0.72 M parameters; the 64-channel stem is HRNet's own);
# - no ImageNet weights (MMPose's HRNet initialisation);
# - milder augmentation (scale ±20 %, rotation ±20° with probability 0.4, flip), no
#   half-body crops, reduced JPEG decoding at test time too;
# - Adam lr 2e-3, batch 16, 5 epochs, ×0.1 after epoch 4, no warm-up;
# - validation on the ground-truth boxes (bbox_file=None) after the last epoch.
# Reached 0.90 AP on the synthetic val set (mean-pose baseline 0.06; see
# tools/mean_pose_baseline_2d.py); about 90 s in all on 2 CPU cores, start-up included.
_base_ = ['./hrnet-w32_b64-210e_coco-256x192.py']

data_root = 'data/coco_synthetic/'
# Another codec: every part that uses it is re-stated below.
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1,
             grid='origin')

model = dict(
    backbone=dict(
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(1, ), num_channels=(16, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                        num_channels=(16, 32)),
            stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                        num_blocks=(1, 1, 1), num_channels=(16, 32, 64)),
            stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                        num_blocks=(1, 1, 1, 1), num_channels=(16, 32, 64, 128))),
        # HRNet's own initialisation instead of the base's ImageNet file (a list
        # replaces the base's dict; a dict would be merged into it)
        init_cfg=[dict(type='Normal', std=0.001, layer=['Conv2d']),
                  dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]),
    head=dict(in_channels=16, decoder=codec))

train_pipeline = [
    dict(type='LoadImage', min_box_scale=0.8, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.2, rotate_factor=20, rotate_prob=0.4, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         augment=False),
    dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys),
]
# Data loading in the main process: on 2 cores a worker process competes with
# torch's compute threads.
train_dataloader = dict(
    batch_size=16, num_workers=0,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=0,
    dataset=dict(data_root=data_root, bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=5)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[4], gamma=0.1)]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=20))
