"""A top-level estimator (MODELS) that regresses keypoints directly, no heatmaps.

It follows hpekit's estimator contract (``BasePoseEstimator``): ``spec`` says what it
takes and returns, ``forward_tensor`` is what export, FLOPs and benchmarks run, and
``predict`` fills the fields of task 'topdown2d' — so ``init_model``,
``inference_topdown``, ``tools/demo.py``, ``tools/export_onnx.py``,
``tools/get_flops.py`` and ``tools/test.py`` work with it unchanged.
"""
import numpy as np
import torch
import torch.nn as nn

from hpekit.core import apply_affine
from hpekit.models.estimators import TASK_TOPDOWN, BasePoseEstimator, EstimatorSpec, build_part
from hpekit.models.estimators.base import preprocessor_stats
from hpekit.models.heads.heatmap_heads import input_to_image_matrix
from hpekit.registry import MODELS


@MODELS.register_module()
class RegressionPoseEstimator(BasePoseEstimator):
    """Person crop → backbone → global average pool → linear → K (x, y) in [0, 1].

    Args:
        backbone (dict): any backbone config (returns a tuple of maps).
        in_channels (int): channels of the backbone's last map.
        num_joints (int): K.
        input_size (tuple): (W, H) of the crops; in a config, ``codec['input_size']``.
        data_preprocessor (dict, optional): default ``ImageDataPreprocessor``.

    Training targets are the samples' ``keypoints_input`` scaled to [0, 1] — packed by
    ``PackPoseInputs(meta_keys=(..., 'keypoints_input'))`` — with an L1 loss over the
    visible keypoints. ``predict`` sets ``pred_keypoints`` [K, 2] (image px, through
    the crop's affine) and ``keypoint_scores`` [K] (all 1: a regressor has no score).
    """

    sweep_example = dict(cfg=dict(backbone=dict(type='ResNet', depth=18, base_channels=8),
                                  in_channels=64, num_joints=3, input_size=(32, 32)),
                         inputs=[(2, 3, 32, 32)])

    def __init__(self, backbone, in_channels, num_joints, input_size,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=build_part(
            data_preprocessor or dict(type='ImageDataPreprocessor')), init_cfg=init_cfg)
        self.backbone = build_part(backbone)
        self.fc = nn.Linear(in_channels, num_joints * 2)
        self.num_joints, self.input_size = num_joints, tuple(input_size)

    @property
    def spec(self) -> EstimatorSpec:
        mean, std = preprocessor_stats(self)
        return EstimatorSpec(task=TASK_TOPDOWN, input_size=self.input_size,
                             num_keypoints=self.num_joints, mean=mean, std=std,
                             input_name='image', output_names=('keypoints',),
                             output_layouts=('[B, K, 2] (x, y) / (W, H) of the crop',))

    def forward_tensor(self, inputs):
        """Normalised crops [B, 3, H, W] → keypoints [B, K, 2] in [0, 1] of the crop."""
        feats = self.backbone(inputs)[-1].mean(dim=(2, 3))
        return torch.sigmoid(self.fc(feats)).view(-1, self.num_joints, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.forward_tensor(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")

    def _scale(self, device):
        return torch.tensor(self.input_size, dtype=torch.float32, device=device)

    def loss(self, inputs, data_samples):
        pred = self.forward_tensor(inputs)
        scale = self._scale(pred.device)
        target = torch.stack([torch.as_tensor(np.asarray(ds.metainfo['keypoints_input']),
                                              dtype=torch.float32) for ds in data_samples])
        weight = torch.stack([torch.as_tensor(ds.keypoints_visible) for ds in data_samples])
        error = (pred - (target.to(pred.device) + 0.5) / scale).abs().sum(-1)
        weight = weight.to(pred.device).float()
        return {'loss_kpt': (error * weight).sum() / weight.sum().clamp(min=1.0)}

    def predict(self, inputs, data_samples):
        pred = self.forward_tensor(inputs).detach().float()
        points = (pred * self._scale(pred.device) - 0.5).cpu().numpy()
        for ds, crop_points in zip(data_samples, points):
            matrix = input_to_image_matrix(ds.metainfo, self.input_size)
            ds.pred_keypoints = apply_affine(crop_points, matrix).astype(np.float32)
            ds.keypoint_scores = np.ones(self.num_joints, np.float32)
        return data_samples
