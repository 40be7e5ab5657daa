# As tcn-rf27_b1024-80e_h36m-gt2d.py with a receptive field of 81 frames
# (kernels (3, 3, 3, 3)).
_base_ = ['./tcn-rf27_b1024-80e_h36m-gt2d.py']

receptive_field = 81
codec = dict(type='VideoPoseLifting', num_frames=receptive_field, root_index=0)
model = dict(backbone=dict(kernel_sizes=(3, 3, 3, 3)))
train_dataloader = dict(dataset=dict(receptive_field=receptive_field))
val_dataloader = dict(dataset=dict(receptive_field=receptive_field))
test_dataloader = val_dataloader
