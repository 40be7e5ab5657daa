# RTMPose-m (Jiang et al., 2023) on COCO person keypoints, MMPose's
# rtmpose-m_8xb256-420e_coco-256x192: CSPNeXt-m (P5, deepen 0.67, widen 0.75, channel
# attention, BN + SiLU; its stride-32 map of 768 channels) → RTMCCHead (7×7 conv to 17
# tokens, gated attention unit of 256 dims, s 128) → SimCC x/y logits, 2 bins per input
# px; 192×256 (W×H) input; KL-divergence loss on softmaxed SimCC labels (β 10); flip
# test (13.6 M parameters).
# Schedule as MMPose's: AdamW lr 4e-3, weight decay 0.05 (none on norms and biases),
# linear warm-up over 1000 iterations, constant to epoch 210, then cosine to 5 % of
# the lr at epoch 420 (per iteration); EMA of the weights (ExpMomentumEMA, momentum
# 2e-4, buffers too); the last 30 epochs with the milder stage-2 augmentation
# (PipelineSwitchHook; configs/_base_/data/coco_rtmpose.py); seed 21; 8 GPUs × 256
# (batch 2048; MMPose's --auto-scale-lr base is 1024). BN instead of MMPose's SyncBN
# (tools/train.py --sync-bn converts it for multi-GPU runs).
# MMPose reports 74.6 AP on COCO val2017 (rtmpose_coco.yml, on its person detections);
# its published checkpoint rtmpose-m_simcc-coco_pt-aic-coco_420e-256x192-d8dd5ca4_20230127.pth
# loads as it is.
# Backbone initialisation: MMPose starts from its CSPNeXt-m trained for pose on COCO +
# AI Challenger (cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth), not from
# ImageNet weights, so none is named here (the backbone starts from its default
# initialisation). To train as MMPose did, save that file locally and add
# init_cfg=dict(type='Pretrained', prefix='backbone.',
#               checkpoint='checkpoints/cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth')
# to model.backbone.
#
# rtmpose-{t,s,l}_b256-420e_coco-256x192.py inherit this file (same codec, data and
# schedule) and change the backbone's size, the head's input channels, the weight
# decay and (t) the EMA.
_base_ = ['../_base_/default_runtime.py', '../_base_/data/coco_rtmpose.py']

max_epochs = 420
stage2_num_epochs = 30
base_lr = 4e-3

model = dict(
    type='TopDownPoseEstimator',
    # ImageNet mean and std (RGB, 0–255), MMPose's
    data_preprocessor=dict(type='ImageDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]),
    backbone=dict(type='CSPNeXt', arch='P5', expand_ratio=0.5, deepen_factor=0.67,
                  widen_factor=0.75, out_indices=(4, ), channel_attention=True,
                  norm_cfg=dict(type='BN'), act_cfg=dict(type='SiLU')),
    head=dict(
        type='RTMCCHead',
        in_channels=768,
        out_channels=17,
        input_size=_base_.codec['input_size'],
        in_featuremap_size=tuple(s // 32 for s in _base_.codec['input_size']),
        simcc_split_ratio=_base_.codec['simcc_split_ratio'],
        final_layer_kernel_size=7,
        gau_cfg=dict(hidden_dims=256, s=128, expansion_factor=2, dropout_rate=0.,
                     drop_path=0., act_fn='SiLU', use_rel_bias=False, pos_enc=False),
        loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10.,
                  label_softmax=True),
        decoder=_base_.codec),   # configs/_base_/data/coco_rtmpose.py's codec
    test_cfg=dict(flip_test=True))

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
randomness = dict(seed=21)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=1000),
    # cosine from epoch 210 to 420, updated every iteration
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=max_epochs // 2,
         end=max_epochs, T_max=max_epochs // 2, by_epoch=True,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=1024)
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater', max_keep_ckpts=1))
custom_hooks = [
    *_base_.custom_hooks,   # hpekit's (configs/_base_/default_runtime.py)
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
         priority=49),
    dict(type='PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
         switch_pipeline=_base_.train_pipeline_stage2),
]
