# hg2-bottleneck_b24-20e_mpii-256.py reading pre-cut person crops instead of decoding
# each full image: the same model, schedule and augmentation (identical samples up to
# resampling and JPEG, tests/datasets/test_person_cache.py), several times less decoding per
# sample (docs/person_cache.md). Build the cache once (it is refused when stale):
#   python tools/misc/build_person_cache.py \
#       configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256-personcache.py
# which writes data/mpii/person_cache/train/; another data root:
#   --cfg-options train_dataloader.dataset.data_root=D
#                 train_dataloader.dataset.pipeline.1.cache_dir=D/person_cache/train
# (the same options for tools/misc/build_person_cache.py and tools/train.py).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

data_root = 'data/mpii/'
codec = _base_.codec
# TopdownAffine's augmentation; LoadPersonCrop checks that the cache covers it.
scale_factor, rotate_factor = 0.25, 30
train_pipeline = [
    dict(type='RandomHalfBody', prob=0.3, input_size=codec['input_size']),
    dict(type='LoadPersonCrop', cache_dir=data_root + 'person_cache/train/',
         scale_factor=scale_factor, rotate_factor=rotate_factor,
         input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=scale_factor,
         rotate_factor=rotate_factor, rotate_prob=0.6, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
