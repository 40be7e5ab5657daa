# A video → 3D experiment built from the plugin's parts (TinyConvNet backbone,
# TemporalSmoothingNeck) plus hpekit's, on in-memory synthetic clips:
#   python tools/train.py examples/hpekit_plugin_example/configs/tiny_video_synthetic.py
# (with examples/ on PYTHONPATH).
_base_ = ['hpekit::_base_/default_runtime.py']   # hpekit's shipped runtime, from anywhere

codec = dict(type='RootRelativeJoints3D', input_size=(64, 64), num_frames=4)

custom_imports = dict(imports=['hpekit_plugin_example'], allow_failed_imports=False)

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='TinyConvNet', channels=(8, 16, 32, 64)),      # from the plugin
    spatial_neck=dict(type='GlobalAveragePooling'),
    temporal_neck=dict(type='TemporalSmoothingNeck', in_channels=64),  # from the plugin
    head=dict(type='JointRegressionHead', in_channels=64, hidden_dims=(64, ), decoder=codec))

synthetic_clips = dict(type='SyntheticH36MClips', num_frames=4, image_size=64,
             pipeline=[dict(type='PackClipInputs')])
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(synthetic_clips, num_samples=16, seed=1))
val_dataloader = dict(batch_size=4, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(synthetic_clips, num_samples=8, seed=2, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='MPJPE')
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
