# Human3.6M in MMPose's preprocessed layout (docs/h36m.md): frames under images/,
# annotation_body3d/fps50/h36m_{train,test}.npz, annotation_body3d/cameras.pkl.
# Subjects S1, S5, S6, S7, S8 train and S9, S11 test; clips of 8 frames; each frame a
# person-centred crop (one affine from the npz's center/scale) at the codec's size.
# Test clips tile every sequence (pad_video_seq) so every frame is predicted once;
# the metric reports MPJPE (protocol 1) and PA-MPJPE (protocol 2) per action.
dataset_type = 'H36MVideoDataset'
data_root = 'data/h36m_full/'

# The geometry, defined once (as MMPose's configs do): LoadClipCrops takes
# `input_size=codec['input_size']`, GenerateTarget `encoder=codec`, and a model config
# inheriting this file gives its head `decoder=_base_.codec`. A config that changes
# `codec` re-states the pipelines, the loaders' `pipeline` and the head's `decoder`
# (see configs/h36m_video/r18-lstm_synthetic-full-quick.py).
codec = dict(type='RootRelativeJoints3D', input_size=(224, 224), num_frames=8,
             root_index=0)

train_pipeline = [
    dict(type='LoadClipCrops', input_size=codec['input_size']),
    dict(type='ClipRandomFlip', prob=0.5),
    dict(type='ClipColorJitter', brightness=0.2, contrast=0.2, saturation=0.2),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackClipInputs'),
]
val_pipeline = [dict(type='LoadClipCrops', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec), dict(type='PackClipInputs')]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 ann_file='annotation_body3d/fps50/h36m_train.npz',
                 seq_len=8, seq_step=40, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 ann_file='annotation_body3d/fps50/h36m_test.npz',
                 seq_len=8, seq_step=8, pad_video_seq=True, pipeline=val_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='H36MPerActionMPJPE')
test_evaluator = val_evaluator
