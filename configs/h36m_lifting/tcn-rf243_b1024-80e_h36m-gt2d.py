# As tcn-rf27_b1024-80e_h36m-gt2d.py with a receptive field of 243 frames
# (kernels (3, 3, 3, 3, 3)). Reference (MMPose): 37.6 mm MPJPE with ground-truth 2D.
_base_ = ['./tcn-rf27_b1024-80e_h36m-gt2d.py']

# Another receptive field: the codec and every part that uses it (the base's
# pipelines and head were computed with its codec when it was read).
receptive_field = 243
codec = dict(type='VideoPoseLifting', num_frames=receptive_field, root_index=0)
model = dict(backbone=dict(kernel_sizes=(3, 3, 3, 3, 3)), head=dict(decoder=codec))
train_pipeline = [
    dict(type='GenerateTarget', encoder=codec),
    dict(type='LiftingRandomFlip', prob=0.5),
    dict(type='PackLiftingInputs'),
]
val_pipeline = [dict(type='GenerateTarget', encoder=codec), dict(type='PackLiftingInputs')]
train_dataloader = dict(dataset=dict(receptive_field=receptive_field,
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(receptive_field=receptive_field, pipeline=val_pipeline))
test_dataloader = val_dataloader
