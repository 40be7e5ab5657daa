# A tiny COCO-format experiment for tests/end_to_end/test_end_to_end_coco.py: synthetic COCO files
# written by the test, moved there with --cfg-options data_root=DIR; 48×64 (W×H) crops,
# 12×16 heatmaps (σ 1.5), a 2-stack hourglass of depth 2 with 32 channels, about 160
# iterations of batch 8 (the hourglass stem, not the channels, sets the cost).
_base_ = ['../../configs/coco/hg2_synthetic-quick.py']

codec = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=1.5)
model = dict(backbone=dict(channels=32, depth=2))

train_dataloader = dict(batch_size=8)
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.1)]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=12))
