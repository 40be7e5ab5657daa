# 2D → 3D lifting on the synthetic twin of Human3.6M (no images are read):
#   python tools/make_synthetic_data.py h36m-full --out data/h36m_full_synthetic
#   python tools/train.py configs/h36m_lifting/tcn-rf27_synthetic-full-quick.py
#   python tools/export_onnx.py configs/h36m_lifting/tcn-rf27_synthetic-full-quick.py \
#       work_dirs/tcn-rf27_synthetic-full-quick/epoch_10.pth --out tcn27.onnx
# Receptive field 27, 128 channels, 10 epochs of 3000 samples of 8 target frames
# (figures measured with it in docs/h36m.md: 62.5 mm, 0.29x the mean-pose baseline).
_base_ = ['./tcn-rf27_b1024-80e_h36m-gt2d.py']

data_root = 'data/h36m_full_synthetic/'
model = dict(backbone=dict(channels=128), head=dict(in_channels=128))
train_dataloader = dict(batch_size=64, num_workers=0,
                        dataset=dict(data_root=data_root, seq_len=8, seq_step=8))
val_dataloader = dict(batch_size=64, num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

max_epochs = 10
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='ExponentialLR', gamma=0.8, by_epoch=True, end=max_epochs)]
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-3, amsgrad=True))
default_hooks = dict(logger=dict(interval=50))
