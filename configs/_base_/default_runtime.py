# Runtime settings shared by every hpekit experiment.
default_scope = 'hpekit'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stop on a NaN/Inf loss (action='skip': skip such steps, count them).
    nonfinite_loss=dict(type='NonFiniteLossHook', action='stop'),
    # Checkpoint keys that do not fit the model: an error naming them. Fine-tuning on
    # other keypoints: allow_shape_mismatch=True (mis-shaped tensors keep their initial
    # values, listed in one log line); a partial load: allow_partial=True.
    checkpoint_keys=dict(type='CheckpointKeysHook', allow_shape_mismatch=False),
    # Before any step (train, val, test): the model's spec.num_keypoints must equal
    # each dataset's metainfo num_keypoints (an error naming both files and keys).
    keypoint_count=dict(type='KeypointCountHook'),
)
custom_hooks = [
    # hpekit's set-up (safe checkpoint loading, atomic writes) for any Runner built
    # from this config, also from a user's own script.
    dict(type='HpekitSetupHook'),
    dict(type='EpochSeedHook'),    # exact resume: every epoch seeded from (seed, epoch)
    dict(type='MetricsJsonHook'),  # <work_dir>/metrics.json after each evaluation
    dict(type='CurvePlotHook'),    # <work_dir>/curves.png at the end of training
    # <work_dir>/val_predictions/epoch_<E>.png (and the vis backends): predictions vs
    # ground truth of the first val samples after each validation.
    dict(type='PoseVisualizationHook', num_samples=4),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='PoseLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
