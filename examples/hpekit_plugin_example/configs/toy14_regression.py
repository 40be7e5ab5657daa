# The same data, a plugin *estimator*: RegressionPoseEstimator regresses the 14
# keypoints directly (no heatmaps). init_model, tools/test.py, demo.py, export_onnx.py
# and get_flops.py read its spec; nothing in hpekit knows its class.
_base_ = ['./toy14_heatmap.py']

codec = _base_.codec   # toy14_heatmap.py's: the crop size and the model's input size

model = dict(
    _delete_=True,
    type='RegressionPoseEstimator',
    backbone=dict(type='TinyConvNet', channels=(16, 32, 64)),
    in_channels=64, num_joints=14, input_size=codec['input_size'])

# The regressor's targets: the keypoints in input px, packed as metainfo.
train_pipeline = [
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], scale_factor=0.15,
         rotate_factor=15, rotate_prob=0.3, flip_prob=0.5),
    dict(type='PackPoseInputs', meta_keys=('sample_idx', 'keypoints_input', 'flip_indices')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
