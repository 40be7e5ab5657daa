# Quick start on COCO-format data: a small 2-stack hourglass on synthetic COCO
# (tools/make_synthetic_data.py coco --out data/coco_synthetic --train 400 --val 100),
# sized to train on 2 CPU cores in minutes. Differences from
# hg2-bottleneck_b32-210e_coco-256x256.py (same blocks, stem and loss):
# - 96×128 (W×H) input, the 3:4 of MMPose's 192×256 COCO crops, and 24×32 heatmaps
#   (σ 1) instead of 256×256 / 64×64 (σ 2);
# - hourglass depth 3 (24 px halve three times) and 64 channels instead of 4 and 256
#   (0.65 M parameters);
# - milder augmentation (scale ±20 %, rotation ±20° with probability 0.4, flip), no
#   half-body crops;
# - Adam lr 2e-3, batch 8, 8 epochs, ×0.1 after epoch 6, no warm-up;
# - validation on the ground-truth boxes (bbox_file=None) every 2 epochs.
# Reaches 0.95 AP on the synthetic val set (mean-pose baseline 0.06; see
# docs/data_preparation.md and tools/mean_pose_baseline_2d.py).
_base_ = ['./hg2-bottleneck_b32-210e_coco-256x256.py']

data_root = 'data/coco_synthetic/'
# Another codec: every part that uses it is re-stated below.
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1)

model = dict(backbone=dict(channels=64, depth=3), head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImage', min_box_scale=0.8, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.2,
         rotate_factor=20, rotate_prob=0.4, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys),
]
# Data loading in the main process: on 2 cores a worker process competes with
# torch's compute threads.
train_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=0,
    dataset=dict(data_root=data_root, bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=2)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6], gamma=0.1)]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=20))
