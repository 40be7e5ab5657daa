# The tiny video experiment for the distributed tests (tests/engine/test_distributed.py):
# every random draw that depends on how samples are split over processes is removed,
# so 2 processes × batch 2 and 1 process × batch 4 must take the same steps.
_base_ = ['./video_tiny.py']

# BatchNorm uses its running statistics (norm_eval): in train mode each rank would
# normalise with the statistics of its own half batch, and torch's SyncBatchNorm,
# which would fix that, runs on GPUs only. Its affine weights still train.
model = dict(backbone=dict(norm_eval=True), head=dict(dropout=0.0))
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=[dict(type='PackClipInputs')]))
val_dataloader = dict(batch_size=2)
test_dataloader = val_dataloader
# SGD: Adam divides by sqrt(v) + 1e-8, which magnifies float rounding differences of
# tiny gradients up to a full lr-sized step; SGD keeps them at rounding size.
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9))
# Records which rank writes which file (tests/helpers/write_audit.py; inactive
# unless HPEKIT_WRITE_AUDIT_DIR is set).
custom_imports = dict(imports=['write_audit'], allow_failed_imports=False)
