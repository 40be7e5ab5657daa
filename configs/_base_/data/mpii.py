# MPII Human Pose, top-down: one 256×256 person crop per annotated person, 64×64
# heatmaps, 16 joints. Files expected under data_root (see docs/mpii.md):
#   annotations/mpii_train.json, annotations/mpii_val.json  MMPose-style records
#   annotations/mpii_gt_val.mat                              official val ground truth
#   images/                                                  the images they name
# A synthetic stand-in: python tools/make_synthetic_data.py mpii --out data/mpii_synthetic
dataset_type = 'MPIIDataset'
data_root = 'data/mpii/'
# The target geometry, defined once (as MMPose's configs do): the transforms below
# take `input_size=codec['input_size']`, GenerateTarget `encoder=codec`, and a model
# config inheriting this file gives its head `decoder=_base_.codec`. Values are
# computed when this file is read: a config that changes `codec` re-states the
# pipelines, the loaders' `pipeline` and the head's `decoder` (see
# configs/mpii_hourglass/hg2_synthetic-quick.py); tools refuse a config whose parts
# disagree with its `codec` (hpekit.config.checks.check_codec).
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)

# RandomHalfBody only replaces the person box, so it comes first: LoadImage then sees
# the final box and decodes at 1/2, 1/4 or 1/8 resolution where even the smallest
# scale draw (min_box_scale = 1 - scale_factor) keeps the input's resolution.
# TopdownAffine draws scale ±25 %, rotation ±30° (probability 0.6) and flip (0.5).
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, input_size=codec['input_size']),
    dict(type='LoadImage', min_box_scale=0.75, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.25,
         rotate_factor=30, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=24,
    num_workers=2,
    persistent_workers=False,
    # Scoped name: the Runner looks worker_init_fn up in mmengine's root registry.
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/mpii_train.json', data_prefix=dict(img='images/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    worker_init_fn=dict(type='hpekit.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/mpii_val.json', data_prefix=dict(img='images/'),
                 pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader

# PCKh@0.5 as the official MPII evaluation (keys: Head … Ankle, PCKh (the official
# weighted Mean), PCKh (plain mean), PCKh@0.1); outfile_prefix=P also writes P_preds.mat.
val_evaluator = dict(type='MPIIPCKh', gt_file=data_root + 'annotations/mpii_gt_val.mat')
test_evaluator = val_evaluator
