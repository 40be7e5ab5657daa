# mpii_tiny.py training from a person cache (tests/datasets/test_person_cache.py sets cache_dir
# with --cfg-options train_dataloader.dataset.pipeline.1.cache_dir=DIR).
_base_ = ['./mpii_tiny.py']

train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3),
    dict(type='LoadPersonCrop', cache_dir=None, scale_factor=0.25, rotate_factor=30),
    dict(type='TopdownAffine', scale_factor=0.25, rotate_factor=30),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
