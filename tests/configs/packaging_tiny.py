# A self-contained tiny experiment (no _base_, no files on disk: in-memory synthetic
# clips) that the packaging test trains for one iteration with the `hpekit-train` entry
# point of a wheel installed outside the repository (tests/test_packaging.py).
default_scope = 'hpekit'

codec = dict(type='RootRelativeJoints3D', input_size=(32, 32), num_frames=2, root_index=0)

model = dict(
    type='VideoPoseRegressor',
    data_preprocessor=dict(type='ClipDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, base_channels=4, out_indices=(3, )),
    spatial_neck=dict(type='GlobalAveragePooling'),
    temporal_neck=dict(type='RecurrentNeck', cell='lstm', in_channels=32, hidden_size=16),
    head=dict(type='JointRegressionHead', in_channels=16, hidden_dims=(16, ), decoder=codec))

synthetic_clips = dict(type='SyntheticH36MClips', num_frames=2, image_size=32,
                       pipeline=[dict(type='PackClipInputs')])
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(synthetic_clips, num_samples=2, seed=1))
val_dataloader = dict(batch_size=2, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(synthetic_clips, num_samples=2, seed=2, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='MPJPE')
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)   # one iteration
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='SafeCheckpointHook', interval=1),
)
custom_hooks = [dict(type='HpekitSetupHook'), dict(type='MetricsJsonHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
