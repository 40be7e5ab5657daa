"""UDP heatmaps (unbiased data processing): MMPose 1.x's ``UDPHeatmap``."""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from hpekit.codecs.base import BaseKeypointCodec, to_size
from hpekit.codecs.msra_heatmap import check_kernel_size
from hpekit.core.heatmap import udp_gaussian_heatmaps, udp_offset_maps
from hpekit.core.heatmap_decode import decode_offset_maps, heatmap_maximum, refine_dark_udp
from hpekit.registry import KEYPOINT_CODECS

#: ``UDPHeatmap``'s ``heatmap_type`` values.
UDP_HEATMAP_TYPES = ('gaussian', 'combined')


@KEYPOINT_CODECS.register_module()
class UDPHeatmap(BaseKeypointCodec):
    """Heatmaps with UDP's corner-aligned geometry, as MMPose 1.x's ``UDPHeatmap``.

    Encoding maps input px to heatmap px corner to corner: ``x_hm = x_in / s`` with
    ``s = float32((W - 1)/(w - 1))`` (input (W, H), heatmap (w, h)), the geometry of
    MMPose's ``TopdownAffine(use_udp=True)`` crops (hpekit's
    ``TopdownAffine(grid='corners')``). Decoding inverts it: ``x_in = x_hm · (W - 1)/
    (w - 1)``, input px of the 'corners' crop, which the heads map back to the image
    through that crop. (MMPose's codec returns ``x_hm · W/(w - 1)`` instead, which its
    estimator maps back with the formula of its non-UDP crop; both give the same image
    keypoints — the scale W/(W - 1) cancels — and hpekit's round trip is exact.)

    - ``heatmap_type='gaussian'``: one Gaussian of ``sigma`` per keypoint, centred on
      the sub-pixel keypoint within the 3σ window around its rounded px
      (``hpekit.core.heatmap.udp_gaussian_heatmaps``). Decoding: argmax, then DARK's
      Newton step on the log of the heatmap blurred with ``blur_kernel_size``
      (``hpekit.core.heatmap_decode.refine_dark_udp``); scores are the maxima of the
      heatmaps as given.
    - ``heatmap_type='combined'``: three maps per keypoint (channels 3k, 3k + 1,
      3k + 2): a disc of radius ``r = radius_factor · max(w, h)`` and the x / y
      offsets to the keypoint in units of r, over the whole map (not only the disc,
      as MMPose 1.3.2) (``hpekit.core.heatmap.udp_offset_maps``). Decoding: the argmax of each disc
      map blurred with ``2·blur_kernel_size + 1`` (OpenCV's reflecting border) plus r
      times the offsets read there; scores are the blurred maxima
      (``hpekit.core.heatmap_decode.decode_offset_maps``).

    Weights follow MMPose: the visibility itself (a keypoint with ``visible < 0.5``
    gets empty maps); for 'gaussian', 0 where the 3σ window misses the heatmap;
    for 'combined', never lowered (a keypoint outside keeps its weight with empty
    maps). A map without a positive value decodes from location (-1, -1), as in
    MMPose (for 'gaussian', an all-zero map decodes to NaN: MMPose's 0/0).

    Args:
        input_size: (W, H) of the model input, px.
        heatmap_size: (w, h) of the heatmaps, px (each at least 2).
        heatmap_type (str): 'gaussian' or 'combined'.
        sigma (float): Gaussian standard deviation in heatmap px ('gaussian').
        radius_factor (float): the disc radius over ``max(w, h)`` ('combined').
        blur_kernel_size (int): odd size of the decoding blur.

    ``encode(keypoints [K, 2] or [1, K, 2] input px, keypoints_visible [K] or [1, K])``
    → ``{'heatmaps': float32 [K, h, w] ('gaussian') or [3K, h, w] ('combined'),
    'target_weight': float32 [K], 'heatmap_size': (w, h)}`` (``target_weight`` is
    MMPose's ``keypoint_weights`` without the instance axis; hpekit's heads read
    it). ``decode(heatmaps [C, h, w] or [B, C, h, w])`` → keypoints float32 [B, K, 2]
    input px, scores float32 [B, K].
    """

    encode_inputs = {'keypoints_input': 'keypoints', 'keypoints_visible': 'keypoints_visible'}
    #: The crop it is made for (``TopdownAffine(grid='corners')``; the heads check it).
    grid = 'corners'
    sweep_example = dict(cfg=dict(input_size=(33, 49), heatmap_size=(9, 13), sigma=1.0),
                         encode=dict(keypoints=[[10.0, 6.0], [21.5, 30.0]],
                                     keypoints_visible=[1, 1]),
                         decode='heatmaps', expect=[[10.0, 6.0], [21.5, 30.0]], atol=2.0)

    def __init__(self, input_size: Union[int, Sequence[int]],
                 heatmap_size: Union[int, Sequence[int]],
                 heatmap_type: str = 'gaussian', sigma: float = 2.0,
                 radius_factor: float = 0.0546875, blur_kernel_size: int = 11) -> None:
        self.input_size = to_size(input_size, 'input_size')
        self.heatmap_size = to_size(heatmap_size, 'heatmap_size')
        if min(self.input_size) < 2 or min(self.heatmap_size) < 2:
            raise ValueError(f'{type(self).__name__}: input_size {self.input_size} and '
                             f'heatmap_size {self.heatmap_size} must be at least 2 px '
                             'per side (UDP maps corner to corner)')
        if heatmap_type not in UDP_HEATMAP_TYPES:
            raise ValueError(f'{type(self).__name__}: heatmap_type must be one of '
                             f'{UDP_HEATMAP_TYPES}, got {heatmap_type!r}')
        self.heatmap_type = heatmap_type
        for name, value in (('sigma', sigma), ('radius_factor', radius_factor)):
            if not np.isscalar(value) or not np.isfinite(value) or value <= 0:
                raise ValueError(f'{name} must be positive, got {value!r}')
        self.sigma = float(sigma)
        self.radius_factor = float(radius_factor)
        self.blur_kernel_size = check_kernel_size(blur_kernel_size)
        # MMPose's scale (input px per heatmap px, corner to corner), float32
        self.scale_factor = ((np.array(self.input_size) - 1) /
                             (np.array(self.heatmap_size) - 1)).astype(np.float32)

    @property
    def channels_per_keypoint(self) -> int:
        """Heatmap channels per keypoint: 1 ('gaussian') or 3 ('combined')."""
        return 3 if self.heatmap_type == 'combined' else 1

    def encode(self, keypoints: ArrayLike,
               keypoints_visible: Optional[ArrayLike] = None) -> Dict[str, np.ndarray]:
        points, visible = self.keypoints_and_visibility(keypoints, keypoints_visible)
        scaled = points / self.scale_factor
        if self.heatmap_type == 'gaussian':
            heatmaps, weight = udp_gaussian_heatmaps(scaled, visible, self.heatmap_size,
                                                     self.sigma)
        else:
            heatmaps, weight = udp_offset_maps(scaled, visible, self.heatmap_size,
                                               self.radius_factor)
        return dict(heatmaps=heatmaps, target_weight=weight, heatmap_size=self.heatmap_size)

    def decode(self, heatmaps: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        maps = np.asarray(heatmaps)
        maps = maps[None] if maps.ndim == 3 else maps
        w, h = self.heatmap_size
        if maps.ndim != 4 or maps.shape[-2:] != (h, w):
            raise ValueError(f'{type(self).__name__}: heatmaps of (h, w) '
                             f'{tuple(maps.shape[-2:])} do not match the codec\'s '
                             f'heatmap_size (w, h) {self.heatmap_size}')
        if maps.shape[1] % self.channels_per_keypoint:
            raise ValueError(f'{type(self).__name__}(heatmap_type=\'combined\'): '
                             f'{maps.shape[1]} channels are not 3 per keypoint')
        if self.heatmap_type == 'gaussian':
            locations, scores = heatmap_maximum(maps)
            coords = np.stack([refine_dark_udp(loc, sample, self.blur_kernel_size)
                               for loc, sample in zip(locations, maps)])
        else:
            decoded = [decode_offset_maps(sample, self.radius_factor, self.blur_kernel_size)
                       for sample in maps]
            coords = np.stack([c for c, _ in decoded])
            scores = np.stack([s for _, s in decoded])
        keypoints = coords / np.array([w - 1, h - 1]) * (np.array(self.input_size) - 1)
        return keypoints.astype(np.float32), np.asarray(scores, np.float32)

    def __repr__(self) -> str:
        detail = (f'sigma={self.sigma:g}' if self.heatmap_type == 'gaussian' else
                  f'radius_factor={self.radius_factor:g}')
        return (f'{type(self).__name__}(input_size={self.input_size}, heatmap_size='
                f'{self.heatmap_size}, heatmap_type={self.heatmap_type!r}, {detail}, '
                f'blur_kernel_size={self.blur_kernel_size})')
