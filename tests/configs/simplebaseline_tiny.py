# A tiny SimpleBaseline for the benchmark suite's CPU test: ResNet-50 layout at 1/8 of
# the width (256 channels out), three 8-channel deconvs, 64×64 crops, 16×16 heatmaps, on
# synthetic MPII files in a data root set with --cfg-options.
_base_ = ['../../configs/mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py']

codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)

model = dict(backbone=dict(base_channels=8, init_cfg=None),
             head=dict(in_channels=256, deconv_channels=(8, 8, 8), deconv_kernels=(4, 4, 4),
                       decoder=codec))

train_pipeline = [
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
