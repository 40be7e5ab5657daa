# The ResNet-50 → dense 128 → LSTM 256 model of r50-dense128-lstm256_b4-20e_h36m-224.py
# at 16 clips of 8×224×224 per GPU, with activation checkpointing in every residual
# block of the backbone (recomputed in backward: less memory, one more backbone
# forward pass per step). tools/memory_estimate.py: estimated peak 5.9 GiB per GPU with
# checkpointing, 10.8 GiB without (docs/distributed.md).
_base_ = ['./r50-dense128-lstm256_b4-20e_h36m-224.py']

model = dict(backbone=dict(with_cp=True))
train_dataloader = dict(batch_size=16)
# The base config's lr (Adam 5e-4) was set for batch 4 on one GPU; with
# `--auto-scale-lr` it is multiplied by (GPUs × 16) / 4.
auto_scale_lr = dict(enable=False, base_batch_size=4)
