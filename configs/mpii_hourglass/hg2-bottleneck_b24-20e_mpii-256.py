# 2-stack hourglass, pre-activation bottleneck blocks, 256 channels (6.73 M parameters);
# 256×256 input, 64×64 heatmaps (σ 2), intermediate supervision, flip test.
# Schedule of DESIGN.md: 20 epochs, batch 24, Adam lr 1e-3 (as HRNet's MPII configs;
# Newell et al. used RMSprop 2.5e-4), ×0.1 at epochs 15 and 17.
# Reference PCKh@0.5 mean on MPII val: 77.84 (20 epochs).
# Every other hg2-* config inherits this one and changes the block design or the stem.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/mpii.py']

model = dict(
    type='TopDownPoseEstimator',
    data_preprocessor=dict(type='ImageDataPreprocessor'),
    backbone=dict(type='StackedHourglass', num_stacks=2, num_blocks=1, channels=256,
                  num_joints=16, depth=4, stem='conv7x7',
                  block=dict(type='PreActBottleneck')),
    # The base's codec (configs/_base_/data/mpii.py) decodes the heatmaps.
    head=dict(type='MultiStageHeatmapHead', num_joints=16, decoder=_base_.codec,
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, shift_heatmap=False))

train_dataloader = dict(batch_size=24)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[15, 17], gamma=0.1)]
default_hooks = dict(checkpoint=dict(save_best='PCKh', rule='greater'))
