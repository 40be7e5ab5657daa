# Quick start for RTMPose (`make demo-rtmpose`): a tiny CSPNeXt + RTMCCHead on
# synthetic COCO (tools/make_synthetic_data.py coco --out data/coco_synthetic --train
# 400 --val 100), sized to train on 2 CPU cores in about a minute. Differences from
# rtmpose-m_b256-420e_coco-256x192.py (same network kinds, SimCC codec and loss, flip
# test, AdamW, EMA and the stage-2 PipelineSwitchHook):
# - 96×128 (W×H) input, SimCC σ (2.45, 2.83) bins (MMPose's halved with the input)
#   instead of 192×256 / (4.9, 5.66);
# - CSPNeXt deepen 0.167, widen 0.125, and only the first three of P5's four stages
#   (`arch_ovewrite`, MMDetection's spelling): a stride-16 map of 64 channels, so the
#   head sees 6×8 tokens at 96×128 as RTMPose's sees at 192×256 (stride 32; at
#   stride 32 a 3×4 map learns far slower); a gated attention unit of 64 dims (s 32)
#   instead of 256 (s 128) (0.17 M parameters);
# - milder augmentation: scale ±25 %, rotation ±30° with probability 0.4, flip and
#   YOLOX's HSV jitter; no half-body crops, no albumentations blur/dropout (nothing
#   optional to install); stage 2 (the last 2 epochs): scale ±15 %, rotation ±15°, no
#   colour jitter; reduced JPEG decoding at test time too;
# - AdamW lr 4e-3 without weight decay, batch 16, 8 epochs: linear warm-up over 50
#   iterations, cosine to 5 % from epoch 4;
# - validation on the ground-truth boxes (bbox_file=None) at epochs 4 and 8.
# Reached 0.75 AP on the synthetic val set (mean-pose baseline 0.06; see
# tools/mean_pose_baseline_2d.py); about 65 s in all on 2 CPU cores, start-up included.
_base_ = ['./rtmpose-m_b256-420e_coco-256x192.py']

data_root = 'data/coco_synthetic/'
max_epochs = 8
stage2_num_epochs = 2
# Another codec: every part that uses it is re-stated below.
codec = dict(type='SimCCLabel', input_size=(96, 128), sigma=(2.45, 2.83),
             simcc_split_ratio=2.0, normalize=False, use_dark=False)

model = dict(
    # P5's rows [in, out, blocks, identity, SPP] without the last (stride 32) one
    backbone=dict(deepen_factor=0.167, widen_factor=0.125, out_indices=(3, ),
                  arch_ovewrite=[[64, 128, 3, True, False], [128, 256, 6, True, False],
                                 [256, 512, 6, True, False]]),
    head=dict(in_channels=64,
              input_size=codec['input_size'],
              in_featuremap_size=tuple(s // 16 for s in codec['input_size']),
              simcc_split_ratio=codec['simcc_split_ratio'],
              gau_cfg=dict(hidden_dims=64, s=32),
              decoder=codec))

train_pipeline = [
    dict(type='LoadImage', min_box_scale=0.75, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.25, rotate_factor=30, rotate_prob=0.4, flip_prob=0.5),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_pipeline_stage2 = [
    dict(type='LoadImage', min_box_scale=0.85, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], grid='origin',
         scale_factor=0.15, rotate_factor=15, rotate_prob=0.4, flip_prob=0.5),
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

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(lr=4e-3, weight_decay=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=4e-3 * 0.05, begin=max_epochs // 2,
         end=max_epochs, T_max=max_epochs // 2, by_epoch=True,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=20))
# The base's hooks with this file's stage-2 epoch and pipeline (a list is replaced
# whole by a child, so the switch hook is re-stated).
custom_hooks = [
    *[hook for hook in _base_.custom_hooks if hook['type'] != 'PipelineSwitchHook'],
    dict(type='PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
         switch_pipeline=train_pipeline_stage2),
]
