"""MSRA-style Gaussian heatmaps (SimpleBaseline, stacked hourglass, HRNet)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from hpekit.codecs.base import BaseKeypointCodec, to_size
from hpekit.core import decode_heatmaps, gaussian_heatmaps
from hpekit.core.heatmap import integer_gaussian_heatmaps, unbiased_gaussian_heatmaps
from hpekit.core.heatmap_decode import heatmap_maximum, refine_dark, refine_quarter_mmpose
from hpekit.registry import KEYPOINT_CODECS

#: ``MSRAHeatmap``'s ``grid`` values: how input px map onto heatmap px.
MSRA_GRIDS = ('edges', 'origin')


def check_kernel_size(value: int, name: str = 'blur_kernel_size') -> int:
    """``value`` as an int; ValueError naming ``name`` unless an odd positive int."""
    if isinstance(value, bool) or not np.isscalar(value) or not np.isfinite(value) \
            or int(value) != value or int(value) <= 0 or int(value) % 2 != 1:
        raise ValueError(f'{name} must be an odd positive int, got {value!r}')
    return int(value)


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
    """One Gaussian heatmap per keypoint; argmax + quarter-pixel shift decoding, or
    DARK (distribution-aware) decoding with ``unbiased=True``.

    Coordinates are px with pixel centres at integers (``hpekit.core.affine``). How an
    input of (W, H) px maps onto a heatmap of (w, h) px is ``grid``:

    - ``'edges'`` (hpekit's, the default): edge to edge, ``x_hm = (x_in + 0.5)·w/W -
      0.5``. Targets are Gaussians centred on the sub-pixel keypoint within a 3σ
      window; weight 1 for visible keypoints inside the heatmap. Decoding: argmax,
      then 0.25 px toward the higher neighbour wherever both neighbours exist.
    - ``'origin'`` (MMPose 1.x's ``MSRAHeatmap``, for its configs and checkpoints):
      heatmap px i sits on input px ``i·stride``, ``x_hm = x_in / stride`` with
      ``stride = float32(W / w)``, decoded as ``x_in = x_hm · stride``. Encoding and
      decoding reproduce MMPose's exactly, quirks included: the Gaussian peaks on
      the keypoint's rounded px (``trunc(x + 0.5)``); the weight is the visibility
      itself (0 for ``visible < 0.5``) and drops to 0 only where the 3σ window
      misses the heatmap; a map without a positive value decodes to (-1, -1)·stride;
      the quarter step is taken in x only at ``2 <= x <= w - 2`` with ``y >= 1``,
      and in y only at ``2 <= y <= h - 2`` with ``x >= 1``. An MMPose config's codec
      dict runs unchanged with ``grid='origin'`` added.

    With ``unbiased=True`` (MMPose's DARK): targets are untruncated Gaussians
    centred on the sub-pixel keypoint ('origin': weight 0 only 3σ or more outside,
    as MMPose; 'edges': hpekit's inside-the-heatmap weights), and decoding refines the
    argmax by a Newton step on the log of the heatmap blurred with
    ``blur_kernel_size`` (``hpekit.core.heatmap_decode.refine_dark``; OpenCV's
    kernel, σ = 0.3·((size - 1)/2 - 1) + 0.8, so 11 suits σ = 2 and 17 suits σ = 3).

    Args:
        input_size: (W, H) of the model input (the person crop), px.
        heatmap_size: (w, h) of the heatmaps, px.
        sigma (float): Gaussian standard deviation in heatmap px.
        unbiased (bool): DARK targets and decoding (MMPose's argument).
        blur_kernel_size (int): odd size of the DARK blur kernel (MMPose's argument).
        grid (str): 'edges' or 'origin', see above.

    ``encode(keypoints [K, 2] or [1, K, 2] input px, keypoints_visible [K] or [1, K])``
    → ``{'heatmaps': float32 [K, h, w], 'target_weight': float32 [K],
    'heatmap_size': (w, h)}`` (``target_weight`` is MMPose's ``keypoint_weights``
    without the instance axis). ``decode(heatmaps [K, h, w] or [B, K, h, w])`` →
    keypoints float32 [B, K, 2] input px, scores float32 [B, K] (heatmap maxima).
    """

    encode_inputs = {'keypoints_input': 'keypoints', 'keypoints_visible': 'keypoints_visible'}
    sweep_example = dict(cfg=dict(input_size=(32, 48), heatmap_size=(8, 12), sigma=1.0),
                         encode=dict(keypoints=[[10.0, 6.0], [21.5, 30.0]],
                                     keypoints_visible=[1, 1]),
                         decode='heatmaps', expect=[[10.0, 6.0], [21.5, 30.0]], atol=2.0)

    def __init__(self, input_size: Union[int, Sequence[int]] = (256, 256),
                 heatmap_size: Union[int, Sequence[int]] = (64, 64),
                 sigma: float = 2.0, unbiased: bool = False, blur_kernel_size: int = 11,
                 grid: str = 'edges') -> None:
        self.input_size = to_size(input_size, 'input_size')
        self.heatmap_size = to_size(heatmap_size, 'heatmap_size')
        if not np.isscalar(sigma) or not np.isfinite(sigma) or sigma <= 0:
            raise ValueError(f'sigma must be positive, got {sigma!r}')
        self.sigma = float(sigma)
        if grid not in MSRA_GRIDS:
            raise ValueError(f'{type(self).__name__}: grid must be one of {MSRA_GRIDS}, '
                             f'got {grid!r}')
        self.grid = grid
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f'unbiased must be a bool, got {unbiased!r}')
        self.unbiased = bool(unbiased)
        self.blur_kernel_size = check_kernel_size(blur_kernel_size)
        # MMPose's stride (input px per heatmap px), float32 as it computes it
        self.scale_factor = (np.array(self.input_size) /
                             np.array(self.heatmap_size)).astype(np.float32)

    def encode(self, keypoints: ArrayLike,
               keypoints_visible: Optional[ArrayLike] = None) -> Dict[str, np.ndarray]:
        points, visible = self.keypoints_and_visibility(keypoints, keypoints_visible)
        if self.grid == 'origin':
            make = unbiased_gaussian_heatmaps if self.unbiased else integer_gaussian_heatmaps
            heatmaps, weight = make(points / self.scale_factor, visible, self.heatmap_size,
                                    self.sigma)
        else:
            heatmaps, weight = gaussian_heatmaps(
                input_to_heatmap(points, self.input_size, self.heatmap_size),
                visible.astype(np.float64), self.heatmap_size, self.sigma,
                truncate=np.inf if self.unbiased else 3.0)
        return dict(heatmaps=heatmaps, target_weight=weight, heatmap_size=self.heatmap_size)

    def decode(self, heatmaps: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        maps = np.asarray(heatmaps)
        maps = maps[None] if maps.ndim == 3 else maps
        if maps.ndim != 4 or maps.shape[-2:] != (self.heatmap_size[1], self.heatmap_size[0]):
            raise ValueError(f'{type(self).__name__}: heatmaps of (h, w) '
                             f'{tuple(maps.shape[-2:])} do not match the codec\'s '
                             f'heatmap_size (w, h) {self.heatmap_size}')
        if self.grid == 'edges' and not self.unbiased:
            coords, scores = decode_heatmaps(maps)
            return heatmap_to_input(coords, self.input_size, self.heatmap_size).astype(
                np.float32), scores
        locations, scores = heatmap_maximum(maps)
        if self.unbiased:
            coords = np.stack([refine_dark(loc, sample, self.blur_kernel_size)
                               for loc, sample in zip(locations, maps)])
        else:
            coords = np.stack([refine_quarter_mmpose(loc, sample)
                               for loc, sample in zip(locations, maps)])
        if self.grid == 'origin':
            keypoints = coords * self.scale_factor
        else:
            keypoints = heatmap_to_input(coords, self.input_size, self.heatmap_size)
        return keypoints.astype(np.float32), scores.astype(np.float32)

    def __repr__(self) -> str:
        extra = ''
        if self.unbiased:
            extra += f', unbiased=True, blur_kernel_size={self.blur_kernel_size}'
        if self.grid != 'edges':
            extra += f', grid={self.grid!r}'
        return (f'{type(self).__name__}(input_size={self.input_size}, heatmap_size='
                f'{self.heatmap_size}, sigma={self.sigma:g}{extra})')
