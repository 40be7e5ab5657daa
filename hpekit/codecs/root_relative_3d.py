"""3D joints relative to a root joint: the target of the video → 3D regressor."""
from typing import Dict, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from hpekit.codecs.base import BaseKeypointCodec, to_size
from hpekit.registry import KEYPOINT_CODECS


@KEYPOINT_CODECS.register_module()
class RootRelativeJoints3D(BaseKeypointCodec):
    """Camera-frame 3D joints minus the root joint, in metres, for clips of frames.

    Args:
        input_size: (W, H) of the frames the model takes, px.
        num_frames (int): frames per clip T.
        root_index (int): the root joint (the metainfo's pelvis, 0 for Human3.6M).

    ``encode(joints_3d [T, K, 3] metres)`` → ``{'joints_3d': float32 [T, K, 3]}`` with
    the root joint subtracted in every frame. ``decode(joints [..., K, 3])`` →
    (the same joints as float32, no scores): the model regresses the target itself.
    """

    encode_inputs = {'joints_3d': 'joints_3d'}
    sweep_example = dict(cfg=dict(input_size=(32, 32), num_frames=1, root_index=1),
                         encode=dict(joints_3d=[[[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]]),
                         decode='joints_3d', expect=[[[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]],
                         atol=1e-6)

    def __init__(self, input_size: Union[int, Sequence[int]] = (224, 224), num_frames: int = 8,
                 root_index: int = 0) -> None:
        self.input_size = to_size(input_size, 'input_size')
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f'num_frames must be a positive int, got {num_frames!r}')
        if isinstance(root_index, bool) or not isinstance(root_index, int) or root_index < 0:
            raise ValueError(f'root_index must be a non-negative int, got {root_index!r}')
        self.num_frames, self.root_index = num_frames, root_index

    def encode(self, joints_3d: ArrayLike) -> Dict[str, np.ndarray]:
        joints = np.asarray(joints_3d, np.float32)
        if joints.ndim < 2 or joints.shape[-1] != 3 or joints.shape[-2] <= self.root_index:
            raise ValueError(f'{type(self).__name__}: joints_3d must be [..., K, 3] with '
                             f'K > root_index {self.root_index}, got {joints.shape}')
        root = joints[..., self.root_index:self.root_index + 1, :]
        return dict(joints_3d=np.ascontiguousarray(joints - root))

    def decode(self, outputs: ArrayLike) -> Tuple[np.ndarray, None]:
        return np.asarray(outputs, np.float32), None

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, num_frames='
                f'{self.num_frames}, root_index={self.root_index})')
