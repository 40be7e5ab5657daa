"""SimCC labels (coordinate classification per axis): MMPose 1.x's ``SimCCLabel``."""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from hpekit.codecs.base import BaseKeypointCodec, to_size
from hpekit.core.simcc import (log_modulated_simcc, refine_simcc_dark, simcc_bins,
                               simcc_dark_kernel, simcc_gaussian_labels, simcc_maximum,
                               simcc_standard_labels)
from hpekit.registry import KEYPOINT_CODECS

#: ``SimCCLabel``'s ``smoothing_type`` values.
SIMCC_SMOOTHING = ('gaussian', 'standard')


@KEYPOINT_CODECS.register_module()
class SimCCLabel(BaseKeypointCodec):
    """Keypoints as one classification vector per axis (SimCC), as MMPose 1.x's
    ``SimCCLabel`` (RTMPose's codec).

    An input of (W, H) px has ``Wx = round(W · simcc_split_ratio)`` x bins and ``Wy``
    y bins; input px x falls in bin ``round(x · simcc_split_ratio)`` (NumPy rounding,
    halves to even: 150.25 px at ratio 2 → bin 300) and decodes back as
    ``bin / simcc_split_ratio`` (pixel i at bin ``i · ratio``, as MMPose's
    ``TopdownAffine`` crops: hpekit's ``grid='origin'``).

    - ``smoothing_type='gaussian'``: bin j of a label is ``exp(-(j - μ)² / 2σ²)`` (σ in
      bins, per axis), divided by ``σ√(2π)`` when ``normalize``
      (``hpekit.core.simcc.simcc_gaussian_labels``);
    - ``'standard'``: one-hot, with ``label_smooth_weight`` spread over the other bins
      (``simcc_standard_labels``).

    Weights follow MMPose: the visibility itself (``visible < 0.5``: zero labels); 0
    only where the bin lies out of the vector (for 'gaussian': more than 3σ out, so a
    keypoint just outside keeps its weight and a Gaussian tail).

    Decoding takes each vector's argmax (score: the smaller of the two maxima; bins
    (-1, -1) where it is not positive, i.e. ``-1 / ratio`` px); ``use_dark`` refines
    each bin by DARK's 1-D Newton step on the log of the vector blurred with
    ``(20σ - 7) // 3`` (made odd) bins (``hpekit.core.simcc.refine_simcc_dark``).
    ``decode_visibility`` adds, as MMPose, a visibility per keypoint: the smaller of
    the maxima of ``softmax(vector · decode_beta · σ)`` — taken, when ``use_dark`` is
    also on, of the log-blurred vectors DARK leaves behind in MMPose (it modifies its
    inputs in place; hpekit's decode leaves the caller's arrays unchanged and
    reproduces the result).

    Args:
        input_size: (W, H) of the model input, px.
        smoothing_type (str): 'gaussian' or 'standard'.
        sigma: σ in bins, one value or (σx, σy).
        simcc_split_ratio (float): bins per input px.
        label_smooth_weight (float): in [0, 1]; 'standard' only.
        normalize (bool): normalise the Gaussian labels.
        use_dark (bool): DARK refinement at decoding.
        decode_visibility (bool): decode also a visibility per keypoint.
        decode_beta (float): the softmax sharpness of that visibility.

    ``encode(keypoints [K, 2] or [1, K, 2] input px, keypoints_visible [K] or [1, K])``
    → ``{'keypoint_x_labels': float32 [K, Wx], 'keypoint_y_labels': float32 [K, Wy],
    'target_weight': float32 [K]}`` (MMPose's labels without the instance axis;
    ``target_weight`` is its ``keypoint_weights``, the name hpekit's heads read).
    ``decode(simcc_x [K, Wx] or [B, K, Wx], simcc_y [K, Wy] or [B, K, Wy])`` (or one
    ``(simcc_x, simcc_y)`` pair) → keypoints float32 [B, K, 2] input px and scores
    float32 [B, K]; with ``decode_visibility``, as MMPose, keypoints and
    ``(scores, visibility)`` (both float32 [B, K]).
    """

    encode_inputs = {'keypoints_input': 'keypoints', 'keypoints_visible': 'keypoints_visible'}
    #: The crop it is made for (MMPose's ``TopdownAffine``; the heads check it).
    grid = 'origin'
    sweep_example = dict(cfg=dict(input_size=(32, 48), sigma=2.0),
                         encode=dict(keypoints=[[10.0, 6.0], [21.5, 30.0]],
                                     keypoints_visible=[1, 1]),
                         decode=('keypoint_x_labels', 'keypoint_y_labels'),
                         expect=[[10.0, 6.0], [21.5, 30.0]], atol=0.5)

    def __init__(self, input_size: Union[int, Sequence[int]],
                 smoothing_type: str = 'gaussian',
                 sigma: Union[float, Sequence[float]] = 6.0,
                 simcc_split_ratio: float = 2.0, label_smooth_weight: float = 0.0,
                 normalize: bool = True, use_dark: bool = False,
                 decode_visibility: bool = False, decode_beta: float = 150.0) -> None:
        self.input_size = to_size(input_size, 'input_size')
        if smoothing_type not in SIMCC_SMOOTHING:
            raise ValueError(f'{type(self).__name__}: smoothing_type must be one of '
                             f'{SIMCC_SMOOTHING}, got {smoothing_type!r}')
        self.smoothing_type = smoothing_type
        sigmas = np.broadcast_to(np.asarray(sigma, np.float64), (2,)) \
            if np.ndim(sigma) == 0 or np.size(sigma) == 2 else None
        if sigmas is None or not np.all(np.isfinite(sigmas)) or np.any(sigmas <= 0):
            raise ValueError(f'sigma must be positive, one value or (x, y), got {sigma!r}')
        self.sigma = np.array(sigmas)
        if not np.isscalar(simcc_split_ratio) or not np.isfinite(simcc_split_ratio) \
                or simcc_split_ratio <= 0:
            raise ValueError(f'simcc_split_ratio must be positive, got {simcc_split_ratio!r}')
        self.simcc_split_ratio = float(simcc_split_ratio)
        if not 0.0 <= label_smooth_weight <= 1.0:
            raise ValueError(f'label_smooth_weight must be in [0, 1], got '
                             f'{label_smooth_weight!r}')
        if smoothing_type == 'gaussian' and label_smooth_weight > 0:
            raise ValueError("label_smooth_weight is used only with smoothing_type="
                             "'standard'")
        self.label_smooth_weight = float(label_smooth_weight)
        if not np.isscalar(decode_beta) or not np.isfinite(decode_beta) or decode_beta <= 0:
            raise ValueError(f'decode_beta must be positive, got {decode_beta!r}')
        self.decode_beta = float(decode_beta)
        self.normalize = bool(normalize)
        self.use_dark = bool(use_dark)
        self.decode_visibility = bool(decode_visibility)

    @property
    def simcc_size(self) -> Tuple[int, int]:
        """(Wx, Wy): the number of x and y bins."""
        return (simcc_bins(self.input_size[0], self.simcc_split_ratio),
                simcc_bins(self.input_size[1], self.simcc_split_ratio))

    def encode(self, keypoints: ArrayLike,
               keypoints_visible: Optional[ArrayLike] = None) -> Dict[str, np.ndarray]:
        points, visible = self.keypoints_and_visibility(keypoints, keypoints_visible)
        if self.smoothing_type == 'gaussian':
            x_labels, y_labels, weight = simcc_gaussian_labels(
                points, visible, self.input_size, self.sigma, self.simcc_split_ratio,
                self.normalize)
        else:
            x_labels, y_labels, weight = simcc_standard_labels(
                points, visible, self.input_size, self.simcc_split_ratio,
                self.label_smooth_weight)
        return dict(keypoint_x_labels=x_labels, keypoint_y_labels=y_labels,
                    target_weight=weight)

    def decode(self, simcc_x: ArrayLike, simcc_y: Optional[ArrayLike] = None
               ) -> Tuple[np.ndarray, Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]]:
        if simcc_y is None:
            if not isinstance(simcc_x, (tuple, list)) or len(simcc_x) != 2:
                raise TypeError(f'{type(self).__name__}.decode needs simcc_x and simcc_y '
                                '(or one (simcc_x, simcc_y) pair)')
            simcc_x, simcc_y = simcc_x
        vectors = []
        for name, values, size in (('simcc_x', simcc_x, self.simcc_size[0]),
                                   ('simcc_y', simcc_y, self.simcc_size[1])):
            values = np.asarray(values)
            values = values[None] if values.ndim == 2 else values
            if values.ndim != 3 or values.shape[-1] != size:
                raise ValueError(f'{type(self).__name__}: {name} must be [K, {size}] or '
                                 f'[B, K, {size}] (input_size {self.input_size} × '
                                 f'simcc_split_ratio {self.simcc_split_ratio:g}), got '
                                 f'{values.shape}')
            vectors.append(values)
        (x, y) = vectors
        if x.shape[:2] != y.shape[:2]:
            raise ValueError(f'{type(self).__name__}: simcc_x {x.shape} and simcc_y '
                             f'{y.shape} differ in batch or keypoints')
        batch, k = x.shape[:2]
        flat_x, flat_y = x.reshape(batch * k, -1), y.reshape(batch * k, -1)
        locations, scores = simcc_maximum(flat_x, flat_y)
        if self.use_dark:
            flat_x = log_modulated_simcc(flat_x, simcc_dark_kernel(self.sigma[0]))
            flat_y = log_modulated_simcc(flat_y, simcc_dark_kernel(self.sigma[1]))
            locations = np.stack([refine_simcc_dark(locations[:, 0], flat_x),
                                  refine_simcc_dark(locations[:, 1], flat_y)], axis=-1)
        keypoints = (locations / np.float32(self.simcc_split_ratio)).astype(np.float32)
        keypoints = keypoints.reshape(batch, k, 2)
        scores = scores.astype(np.float32).reshape(batch, k)
        if not self.decode_visibility:
            return keypoints, scores
        _, visibility = simcc_maximum(flat_x * self.decode_beta * self.sigma[0],
                                      flat_y * self.decode_beta * self.sigma[1],
                                      softmax=True)
        return keypoints, (scores, visibility.astype(np.float32).reshape(batch, k))

    def __repr__(self) -> str:
        sigma = tuple(float(s) for s in self.sigma)
        text = (f'{type(self).__name__}(input_size={self.input_size}, smoothing_type='
                f'{self.smoothing_type!r}, sigma={sigma}, simcc_split_ratio='
                f'{self.simcc_split_ratio:g}')
        if self.smoothing_type == 'standard':
            text += f', label_smooth_weight={self.label_smooth_weight:g}'
        else:
            text += f', normalize={self.normalize}'
        if self.use_dark:
            text += ', use_dark=True'
        if self.decode_visibility:
            text += f', decode_visibility=True, decode_beta={self.decode_beta:g}'
        return text + ')'
