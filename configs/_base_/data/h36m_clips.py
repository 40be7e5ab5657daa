# Human3.6M course split: 8-frame clips, 224×224 RGB, 17 joints in metres.
# Files expected in data_root (see docs/data_preparation.md):
#   videoframes_clips_{train,valid}.npy  uint8 [N, 8, 224, 224, 3]
#   joint_3d_clips_{train,valid}.npy     float [N, 8, 17, 3]
dataset_type = 'H36MClipDataset'
data_root = 'data/h36m/'

# The target and input geometry, defined once (as MMPose's configs do): ClipResize
# takes `input_size=codec['input_size']`, GenerateTarget `encoder=codec`, and a model
# config inheriting this file gives its head `decoder=_base_.codec`. A config that
# changes `codec` re-states the pipelines, the loaders' `pipeline` and the head's
# `decoder` (see configs/h36m_video/r18-lstm_synthetic-quick.py).
codec = dict(type='RootRelativeJoints3D', input_size=(224, 224), num_frames=8,
             root_index=0)

train_pipeline = [
    dict(type='ClipResize', input_size=codec['input_size']),
    dict(type='ClipRandomFlip', prob=0.5),
    dict(type='ClipColorJitter', brightness=0.2, contrast=0.2, saturation=0.2),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackClipInputs'),
]
val_pipeline = [dict(type='ClipResize', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec), dict(type='PackClipInputs')]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),  # scoped: the Runner looks it up in mmengine's root
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='valid',
                 pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='MPJPE')
test_evaluator = val_evaluator
