"""MSRA-style Gaussian heatmaps (SimpleBaseline, stacked hourglass, HRNet)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from hpekit.codecs.base import BaseKeypointCodec, to_size
from hpekit.core import decode_heatmaps, gaussian_heatmaps
from hpekit.registry import KEYPOINT_CODECS


def input_to_heatmap(points: ArrayLike, input_size: Sequence[float],
                     heatmap_size: Sequence[float]) -> np.ndarray:
    """Input px [..., 2] → heatmap px: ``x_hm = (x_in + 0.5) · W_hm / W_in - 0.5``."""
    ratio = np.asarray(heatmap_size, np.float64) / np.asarray(input_size, np.float64)
    return (np.asarray(points, np.float64) + 0.5) * ratio - 0.5


def heatmap_to_input(points: ArrayLike, input_size: Sequence[float],
                     heatmap_size: Sequence[float]) -> np.ndarray:
    """Heatmap px [..., 2] → input px (the inverse of ``input_to_heatmap``)."""
    ratio = np.asarray(input_size, np.float64) / np.asarray(heatmap_size, np.float64)
    return (np.asarray(points, np.float64) + 0.5) * ratio - 0.5


@KEYPOINT_CODECS.register_module()
class MSRAHeatmap(BaseKeypointCodec):
    """One Gaussian heatmap per keypoint; argmax + quarter-pixel shift decoding.

    Coordinates are px with pixel centres at integers (``hpekit.core.affine``); an
    input of (W, H) px maps onto a heatmap of (w, h) px edge to edge.

    Args:
        input_size: (W, H) of the model input (the person crop), px.
        heatmap_size: (w, h) of the heatmaps, px.
        sigma (float): Gaussian standard deviation in heatmap px.

    ``encode(keypoints [K, 2] or [1, K, 2] input px, keypoints_visible [K] or [1, K])``
    → ``{'heatmaps': float32 [K, h, w], 'target_weight': float32 [K],
    'heatmap_size': (w, h)}`` (weight 0 for invisible keypoints and those outside the
    heatmap). ``decode(heatmaps [K, h, w] or [B, K, h, w])`` → keypoints float32
    [B, K, 2] input px, scores float32 [B, K] (heatmap maxima).
    """

    encode_inputs = {'keypoints_input': 'keypoints', 'keypoints_visible': 'keypoints_visible'}
    sweep_example = dict(cfg=dict(input_size=(32, 48), heatmap_size=(8, 12), sigma=1.0),
                         encode=dict(keypoints=[[10.0, 6.0], [21.5, 30.0]],
                                     keypoints_visible=[1, 1]),
                         decode='heatmaps', expect=[[10.0, 6.0], [21.5, 30.0]], atol=2.0)

    def __init__(self, input_size: Union[int, Sequence[int]] = (256, 256),
                 heatmap_size: Union[int, Sequence[int]] = (64, 64),
                 sigma: float = 2.0) -> None:
        self.input_size = to_size(input_size, 'input_size')
        self.heatmap_size = to_size(heatmap_size, 'heatmap_size')
        if not np.isfinite(sigma) or sigma <= 0:
            raise ValueError(f'sigma must be positive, got {sigma!r}')
        self.sigma = float(sigma)

    def encode(self, keypoints: ArrayLike,
               keypoints_visible: Optional[ArrayLike] = None) -> Dict[str, np.ndarray]:
        points = np.asarray(keypoints, np.float64).reshape(-1, 2)
        visible = np.ones(len(points)) if keypoints_visible is None else \
            np.asarray(keypoints_visible, np.float64).reshape(-1)
        heatmaps, weight = gaussian_heatmaps(
            input_to_heatmap(points, self.input_size, self.heatmap_size), visible,
            self.heatmap_size, self.sigma)
        return dict(heatmaps=heatmaps, target_weight=weight, heatmap_size=self.heatmap_size)

    def decode(self, heatmaps: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        maps = np.asarray(heatmaps)
        maps = maps[None] if maps.ndim == 3 else maps
        if maps.shape[-2:] != (self.heatmap_size[1], self.heatmap_size[0]):
            raise ValueError(f'{type(self).__name__}: heatmaps of (h, w) '
                             f'{tuple(maps.shape[-2:])} do not match the codec\'s '
                             f'heatmap_size (w, h) {self.heatmap_size}')
        coords, scores = decode_heatmaps(maps)
        return heatmap_to_input(coords, self.input_size, self.heatmap_size).astype(
            np.float32), scores

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, heatmap_size='
                f'{self.heatmap_size}, sigma={self.sigma:g})')
