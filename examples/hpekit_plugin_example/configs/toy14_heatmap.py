# Toy14 (the plugin's 14-keypoint COCO-format dataset), top-down heatmaps, built from
# the plugin's parts: TinyConvNet backbone made of SEBottleneck blocks, ConvHeatmapHead,
# CentroidHeatmap codec, RandomGrayscale transform, Toy14Dataset, MeanPixelError metric
# — plus hpekit's own (LoadImage, TopdownAffine, GenerateTarget, PCKAccuracy).
#   python -m hpekit_plugin_example.make_data --out data/toy14
#   python tools/train.py examples/hpekit_plugin_example/configs/toy14_heatmap.py
_base_ = ['hpekit::_base_/default_runtime.py']   # hpekit's shipped runtime, from anywhere
custom_imports = dict(imports=['hpekit_plugin_example'], allow_failed_imports=False)

data_root = 'data/toy14/'
codec = dict(type='CentroidHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)

model = dict(
    type='TopDownPoseEstimator',
    backbone=dict(type='TinyConvNet', channels=(16, 32), block=dict(type='SEBottleneck')),
    head=dict(type='ConvHeatmapHead', in_channels=32, num_joints=14, mid_channels=32,
              decoder=codec),
    test_cfg=dict(flip_test=True))

val_meta_keys = ('sample_idx', 'image_id', 'center', 'bbox_size', 'input_size',
                 'flip_indices', 'img_scale', 'bbox')
train_pipeline = [
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='RandomGrayscale', prob=0.2),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.15,
         rotate_factor=15, rotate_prob=0.3, flip_prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs', meta_keys=val_meta_keys),
]
dataset = dict(type='Toy14Dataset', data_root=data_root, data_prefix=dict(img='images/'))
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, ann_file='annotations/toy14_train.json', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, ann_file='annotations/toy14_val.json', pipeline=val_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PCKAccuracy', thr=0.2, norm_item='bbox'),
                 dict(type='MeanPixelError')]
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
default_hooks = dict(logger=dict(interval=5))
