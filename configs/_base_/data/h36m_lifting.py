# Human3.6M 2D → 3D lifting on MMPose's preprocessed layout (docs/h36m.md): the 2D
# joints ('part' of annotation_body3d/fps50/h36m_{train,test}.npz, or a detection
# file) are the inputs, S minus the pelvis the targets; no images are read.
# Train samples hold `seq_len` target frames plus (R - 1) / 2 frames of context on
# each side (R: the model's receptive field, the codec's num_frames); test samples
# tile every sequence, so every frame is predicted once.
dataset_type = 'H36MLiftingDataset'
data_root = 'data/h36m_full/'
receptive_field = 27

# The codec, defined once (as MMPose's configs do): GenerateTarget takes
# `encoder=codec`, and a model config inheriting this file gives its head
# `decoder=_base_.codec`. A config that changes the receptive field re-states
# `codec`, the pipelines, the loaders' `pipeline` and `receptive_field`, and the
# head's `decoder` (see configs/h36m_lifting/tcn-rf81_b1024-80e_h36m-gt2d.py).
codec = dict(type='VideoPoseLifting', num_frames=receptive_field, root_index=0)

train_pipeline = [
    dict(type='GenerateTarget', encoder=codec),
    dict(type='LiftingRandomFlip', prob=0.5),
    dict(type='PackLiftingInputs'),
]
val_pipeline = [dict(type='GenerateTarget', encoder=codec), dict(type='PackLiftingInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 ann_file='annotation_body3d/fps50/h36m_train.npz',
                 receptive_field=receptive_field, seq_len=16, seq_step=16,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 ann_file='annotation_body3d/fps50/h36m_test.npz',
                 receptive_field=receptive_field, seq_len=16, seq_step=16,
                 pad_video_seq=True, pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='H36MPerActionMPJPE')
test_evaluator = val_evaluator
