"""Transforms of 2D → 3D lifting samples (``H36MLiftingDataset``).

The results hold 'keypoints' [T_in, K, 2] px, 'image_size' (w, h), 'joints_3d'
[T, K, 3] metres and 'flip_indices'; ``GenerateTarget`` with the ``VideoPoseLifting``
codec adds 'keypoints_norm' [T_in, K, 2] and makes 'joints_3d' root-relative;
``PackLiftingInputs`` ends the pipeline.
"""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from hpekit.datasets.transforms.clip_transforms import flip_joints_3d
from hpekit.registry import TRANSFORMS
from hpekit.structures import PoseDataSample


@TRANSFORMS.register_module()
class LiftingRandomFlip(BaseTransform):
    """Mirror a lifting sample with probability ``prob`` (after ``GenerateTarget``).

    The normalised 2D keypoints get x → -x (the camera frame mirrored about its
    centre) and the 3D joints x → -x, each joint taking its mirror joint's place
    (``flip_indices``), as VideoPose3D's flip augmentation. Sets 'flip'.
    """

    sweep_example = dict(cfg=dict(prob=1.0), results='lifting')

    def __init__(self, prob=0.5):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results):
        results['flip'] = bool(np.random.rand() < self.prob)
        if results['flip']:
            order = list(results['flip_indices'])
            keypoints = np.array(results['keypoints_norm'][:, order], copy=True)
            keypoints[..., 0] *= -1
            results['keypoints_norm'] = keypoints
            if 'joints_3d' in results:
                results['joints_3d'] = flip_joints_3d(results['joints_3d'], order)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class PackLiftingInputs(BaseTransform):
    """Pack a lifting sample: ``{'inputs': float32 [T_in, K, 2] ('keypoints_norm'),
    'data_samples': PoseDataSample(gt_joints_3d [T, K, 3] when present; the
    ``meta_keys`` found as metainfo)}``."""

    sweep_example = dict(cfg=dict(), results='lifting')

    def __init__(self, meta_keys=('sample_idx', 'flip_indices', 'frame_ids', 'action',
                                  'subject', 'camera', 'seq_name', 'image_size')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results):
        if 'keypoints_norm' not in results:
            raise KeyError("PackLiftingInputs needs 'keypoints_norm': put GenerateTarget "
                           "(the VideoPoseLifting codec) before it")
        inputs = torch.from_numpy(np.ascontiguousarray(results['keypoints_norm'],
                                                       dtype=np.float32))
        sample = PoseDataSample(metainfo={k: results[k] for k in self.meta_keys
                                          if k in results})
        if 'joints_3d' in results:
            sample.gt_joints_3d = torch.from_numpy(
                np.ascontiguousarray(results['joints_3d'], dtype=np.float32))
        return {'inputs': inputs, 'data_samples': sample}

    def __repr__(self):
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
