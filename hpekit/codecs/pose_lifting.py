"""2D keypoint sequences → lifting-model inputs, 3D joints → root-relative targets."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import ArrayLike

from hpekit.codecs.base import BaseKeypointCodec
from hpekit.registry import KEYPOINT_CODECS


def normalize_screen_coordinates(keypoints: ArrayLike,
                                 image_size: Sequence[float]) -> np.ndarray:
    """Pixels → [-1, 1] across the width, aspect kept: x / w · 2 − 1, y / w · 2 − h / w.

    Args:
        keypoints: [..., 2] image px. image_size: (w, h) of the camera frame.
    """
    w, h = (float(v) for v in image_size)
    keypoints = np.asarray(keypoints, np.float32)
    return keypoints / w * 2.0 - np.array([1.0, h / w], np.float32)


def denormalize_screen_coordinates(normalized: ArrayLike,
                                   image_size: Sequence[float]) -> np.ndarray:
    """The inverse of ``normalize_screen_coordinates``: [..., 2] → image px."""
    w, h = (float(v) for v in image_size)
    return (np.asarray(normalized, np.float32) + np.array([1.0, h / w], np.float32)) * w / 2


@KEYPOINT_CODECS.register_module()
class VideoPoseLifting(BaseKeypointCodec):
    """The codec of 2D → 3D lifting (VideoPose3D): inputs, targets and frames.

    Args:
        num_frames (int): input frames per prediction, the model's receptive field
            (27, 81, 243 …); the model's spec reads it.
        root_index (int): the root joint (the metainfo's pelvis, 0 for Human3.6M).

    ``encode(keypoints [T_in, K, 2] px, image_size (w, h), joints_3d [T, K, 3] m)`` →
    ``{'keypoints_norm': float32 [T_in, K, 2]}`` (``normalize_screen_coordinates``:
    the camera frame's width spans [-1, 1]) and ``'joints_3d'``: the joints minus the
    root joint in every frame. ``decode(joints [..., K, 3])`` → (the same float32
    joints, no scores).
    """

    encode_inputs = {'keypoints': 'keypoints', 'image_size': 'image_size',
                     'joints_3d': 'joints_3d'}
    sweep_example = dict(cfg=dict(num_frames=1, root_index=1),
                         encode=dict(keypoints=[[[10.0, 20.0], [30.0, 40.0]]],
                                     image_size=(40, 60),
                                     joints_3d=[[[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]]),
                         decode='joints_3d', expect=[[[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]],
                         atol=1e-6)
    input_size = None

    def __init__(self, num_frames: int = 27, root_index: int = 0) -> None:
        for name, value, low in (('num_frames', num_frames, 1), ('root_index', root_index, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
        self.num_frames, self.root_index = num_frames, root_index

    def encode(self, keypoints: ArrayLike, image_size: Sequence[float],
               joints_3d: Optional[ArrayLike] = None) -> Dict[str, np.ndarray]:
        keypoints = np.asarray(keypoints, np.float32)
        if keypoints.ndim < 2 or keypoints.shape[-1] != 2:
            raise ValueError(f'{type(self).__name__}: keypoints must be [..., K, 2] px, '
                             f'got {keypoints.shape}')
        out = dict(keypoints_norm=normalize_screen_coordinates(keypoints, image_size))
        if joints_3d is not None:
            joints = np.asarray(joints_3d, np.float32)
            if joints.ndim < 2 or joints.shape[-1] != 3 or \
                    joints.shape[-2] <= self.root_index:
                raise ValueError(f'{type(self).__name__}: joints_3d must be [..., K, 3] '
                                 f'with K > root_index {self.root_index}, got {joints.shape}')
            root = joints[..., self.root_index:self.root_index + 1, :]
            out['joints_3d'] = np.ascontiguousarray(joints - root)
        return out

    def decode(self, outputs: ArrayLike) -> Tuple[np.ndarray, None]:
        return np.asarray(outputs, np.float32), None

    def __repr__(self):
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'root_index={self.root_index})')
