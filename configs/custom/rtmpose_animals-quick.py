# Your own keypoints, the worked example (docs/custom_keypoints.md, `make demo-custom`):
# a tiny RTMPose fine-tuned on a 9-keypoint top-view lab-animal set that was annotated in
# labelme (here: written by `tools/make_synthetic_data.py custom`) and converted by
# `tools/dataset_converters/labelme2coco.py` into data/animals_coco/ (COCO keypoints
# JSON + an MMPose-format metainfo.py). Start from a COCO-keypoint checkpoint
# (`make demo-rtmpose` trains one on the COCO twin; in real use an MMPose RTMPose
# checkpoint) given as `--cfg-options load_from=...`: the backbone loads, the whole head
# starts afresh (default_hooks.checkpoint_keys.reinitialize), since its 9 keypoints are
# not COCO's 17.
# Differences from ../coco/rtmpose_synthetic-quick.py (same network, codec, recipe):
# - the dataset: data/animals_coco/ with its own metainfo file, images referenced in
#   data/animals_labelme/; a head of 9 keypoints;
# - 30 epochs of the ~100 training images (about 270 iterations of batch 16), stage 2
#   in the last 5; validation every 10 epochs;
# - evaluation for a small custom set: COCO OKS AP with the metainfo's sigmas, PCK@0.05
#   of the box size, AUC and EPE, each with a per-keypoint table
#   (work_dir/per_keypoint.md, test_per_keypoint.md).
_base_ = ['../coco/rtmpose_synthetic-quick.py']

data_root = 'data/animals_coco/'
metainfo = dict(from_file=data_root + 'metainfo.py')
image_prefix = dict(img='../animals_labelme/')
max_epochs = 30
stage2_num_epochs = 5

model = dict(head=dict(out_channels=9))

train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/train.json',
    data_prefix=image_prefix))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/val.json',
    data_prefix=image_prefix))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json'),
    dict(type='PCKAccuracy', thr=0.05, norm_item='bbox'),
    dict(type='AUC'),
    dict(type='EPE'),
]
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=4e-3 * 0.05, begin=max_epochs // 2,
         end=max_epochs, T_max=max_epochs // 2, by_epoch=True,
         convert_to_iter_based=True),
]
default_hooks = dict(
    checkpoint=dict(save_best='coco/AP', rule='greater'),
    checkpoint_keys=dict(reinitialize=['head.']))
custom_hooks = [
    *[hook for hook in _base_.custom_hooks if hook['type'] != 'PipelineSwitchHook'],
    dict(type='PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
         switch_pipeline=_base_.train_pipeline_stage2),
]
