# mpii_tiny.py training from a person cache (tests/datasets/test_person_cache.py sets cache_dir
# with --cfg-options train_dataloader.dataset.pipeline.1.cache_dir=DIR).
_base_ = ['./mpii_tiny.py']

codec = _base_.codec
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, input_size=codec['input_size']),
    dict(type='LoadPersonCrop', cache_dir=None, scale_factor=0.25, rotate_factor=30,
         input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.25,
         rotate_factor=30),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
