"""Keypoint smoothing filters for one person's track, 2D (px) or 3D (mm or m).

Every filter (registry ``POSE_FILTERS``) smooths a track of K keypoints with C
coordinates (C = 2 or 3; any length unit, the output keeps it) in two modes:

- offline, ``filter(track [T, K, C], scores [T, K] = None) -> [T, K, C]``: a whole
  track at once; stateless (the online state is neither used nor changed);
- online, ``step(x [K, C], scores [K] = None) -> [K, C] or None``: one frame at a time.
  A filter's ``latency_frames`` says how many frames its output lags its input: 0 for
  the causal One-Euro filter (the output of step t is frame t, computed from frames
  <= t); ``window // 2`` for the non-causal Savitzky–Golay and Gaussian filters, whose
  step t returns the smoothed frame t − latency (``None`` during the first
  ``latency_frames`` steps) and whose ``flush()`` returns the last ``latency_frames``
  frames at the end of a stream. ``reset()`` starts a new track.

For the non-causal filters, steps + flush give exactly ``filter`` of the whole track:
both smooth with edge replication (``mode='nearest'``: the first and last frames
repeated past the ends), as MMPose 0.x's filters pad with ``'edge'``.

Missing keypoints: a coordinate that is NaN, or a keypoint whose score is below
``score_thr`` (when scores are given), is missing; nothing raises for them.

- Savitzky–Golay and Gaussian fill a missing keypoint by linear interpolation in time
  between its nearest valid frames (holding the first/last valid value before/after
  them), then smooth, so their output has no gap. Online, the interpolation sees only
  the ``window`` buffered frames: a keypoint with no valid frame in the window holds
  its last valid value from before it.
- One-Euro holds its last output while a keypoint is missing (its state waits; the next
  valid sample is weighed by the real time elapsed, gap frames / fps).
- A keypoint never seen valid is NaN in the output.
"""
from collections import deque
from typing import Any, Dict, Optional, Union

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_coeffs, savgol_filter

from hpekit.registry import POSE_FILTERS

# Short names for command lines (``--smooth one_euro``) → registered filter types.
FILTER_SHORT_NAMES = {'one_euro': 'OneEuroFilter', 'savgol': 'SavitzkyGolayFilter',
                      'gaussian': 'GaussianFilter'}


def build_pose_filter(cfg: Union[str, Dict[str, Any]]) -> 'BasePoseFilter':
    """A filter from a short name ('one_euro', 'savgol', 'gaussian'), a registered
    type name, or a config dict ``dict(type=..., **kwargs)``."""
    if isinstance(cfg, str):
        cfg = dict(type=FILTER_SHORT_NAMES.get(cfg, cfg))
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'a pose filter config must be a name or a dict with "type", '
                        f'got {cfg!r}')
    return POSE_FILTERS.build(dict(cfg))


def _as_frames(name: str, value: Any, ndim: int) -> np.ndarray:
    """``value`` as float64 with ``ndim`` dims ([T, K, C] or [K, C]), C in (2, 3)."""
    arr = np.asarray(value, dtype=np.float64)
    shape = '[T, K, C]' if ndim == 3 else '[K, C]'
    if arr.ndim != ndim or arr.shape[-1] not in (2, 3):
        raise ValueError(f'{name} must have shape {shape} with C = 2 or 3, '
                         f'but got {list(arr.shape)}')
    return arr


def _missing(points: np.ndarray, scores: Optional[Any], score_thr: float) -> np.ndarray:
    """Bool [..., K]: a coordinate is NaN/Inf, or the score is below ``score_thr``."""
    missing = ~np.isfinite(points).all(axis=-1)
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != points.shape[:-1]:
            raise ValueError(f'scores must have shape {list(points.shape[:-1])} (one per '
                             f'keypoint), but got {list(scores.shape)}')
        missing |= ~(scores >= score_thr)
    return missing


def fill_missing(track: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Linearly interpolate missing frames of each keypoint over time.

    Args:
        track: float [T, K, C]. missing: bool [T, K].
    Returns:
        float64 [T, K, C]: missing frames interpolated between the nearest valid ones,
        the first/last valid value held before/after them; a keypoint with no valid
        frame is all NaN.
    """
    out = np.array(track, dtype=np.float64)
    frames = np.arange(len(out))
    for k in range(out.shape[1]):
        valid = ~missing[:, k]
        if valid.all():
            continue
        if not valid.any():
            out[:, k] = np.nan
            continue
        for c in range(out.shape[2]):
            out[:, k, c] = np.interp(frames, frames[valid], out[valid, k, c])
    return out


class BasePoseFilter:
    """The interface of a keypoint smoothing filter (see the module docstring).

    Args:
        score_thr (float): a keypoint whose score is below it counts as missing (used
            only when scores are passed).
    """

    latency_frames: int = 0

    def __init__(self, score_thr: float = 0.3) -> None:
        self.score_thr = float(score_thr)

    def filter(self, track: Any, scores: Optional[Any] = None) -> np.ndarray:
        """Smooth a whole track: [T, K, C] (+ scores [T, K]) → float64 [T, K, C]."""
        raise NotImplementedError

    def step(self, x: Any, scores: Optional[Any] = None) -> Optional[np.ndarray]:
        """Feed one frame [K, C] (+ scores [K]); return the smoothed frame
        ``latency_frames`` back (float64 [K, C]) or None while it does not exist yet."""
        raise NotImplementedError

    def flush(self) -> np.ndarray:
        """The frames still held back at the end of a stream: [latency', K, C]
        (empty [0, K, C] for a causal filter or before any step)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the online state (a new track starts)."""
        raise NotImplementedError


@POSE_FILTERS.register_module()
class OneEuroFilter(BasePoseFilter):
    """The One-Euro filter (Casiez et al., CHI 2012): causal, adaptive low-pass.

    Each coordinate is smoothed by an exponential filter whose cutoff frequency grows
    with the (filtered) speed: ``cutoff = min_cutoff + beta · |dx/dt|``, so slow
    motion is smoothed strongly (less jitter) and fast motion weakly (less lag).
    ``latency_frames`` = 0; ``filter`` is the same loop as ``step``.

    Args:
        min_cutoff (float): cutoff at zero speed, Hz (lower: smoother when still).
        beta (float): speed coefficient, s/unit — it depends on the coordinates' unit
            (px, mm or m): higher follows fast motion more closely.
        d_cutoff (float): cutoff of the speed estimate's own low-pass, Hz.
        fps (float): frames per second of the track (time between samples = 1/fps).
        score_thr (float): as ``BasePoseFilter``.
    """

    latency_frames = 0

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.007, d_cutoff: float = 1.0,
                 fps: float = 30.0, score_thr: float = 0.3) -> None:
        super().__init__(score_thr)
        for name, value in (('min_cutoff', min_cutoff), ('d_cutoff', d_cutoff),
                            ('fps', fps)):
            if not value > 0:
                raise ValueError(f'OneEuroFilter: {name} must be > 0, got {value!r}')
        if not beta >= 0:
            raise ValueError(f'OneEuroFilter: beta must be >= 0, got {beta!r}')
        self.min_cutoff, self.beta = float(min_cutoff), float(beta)
        self.d_cutoff, self.fps = float(d_cutoff), float(fps)
        self.reset()

    def reset(self) -> None:
        self._x = None        # last output [K, C]
        self._dx = None       # last filtered speed [K, C], unit/s
        self._last = None     # frame index of each keypoint's last valid sample [K]
        self._t = -1          # index of the current frame

    @staticmethod
    def _alpha(cutoff: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Smoothing factor of an exponential filter: 1 / (1 + 1 / (2π·cutoff·dt))."""
        r = 2 * np.pi * cutoff * dt
        return r / (r + 1)

    def step(self, x: Any, scores: Optional[Any] = None) -> np.ndarray:
        """Smooth frame t from frames <= t: [K, C] (+ scores [K]) → float64 [K, C]."""
        x = _as_frames('OneEuroFilter.step: x', x, 2)
        missing = _missing(x, scores, self.score_thr)
        if self._x is None:
            self._x = np.full_like(x, np.nan)
            self._dx = np.zeros_like(x)
            self._last = np.full(len(x), -1)
        elif x.shape != self._x.shape:
            raise ValueError(f'OneEuroFilter.step: x has shape {list(x.shape)}, but the '
                             f'track has {list(self._x.shape)}; call reset() for a new one')
        self._t += 1
        seen = ~missing & (self._last >= 0)
        first = ~missing & (self._last < 0)
        self._x[first] = x[first]
        if seen.any():
            dt = ((self._t - self._last[seen]) / self.fps)[:, None]
            speed = (x[seen] - self._x[seen]) / dt
            dx = self._dx[seen] + self._alpha(self.d_cutoff, dt) * (speed - self._dx[seen])
            cutoff = self.min_cutoff + self.beta * np.abs(dx)
            self._x[seen] += self._alpha(cutoff, dt) * (x[seen] - self._x[seen])
            self._dx[seen] = dx
        self._last[~missing] = self._t
        return self._x.copy()

    def filter(self, track: Any, scores: Optional[Any] = None) -> np.ndarray:
        """Run ``step`` over a track [T, K, C] on a fresh state → float64 [T, K, C]."""
        track = _as_frames('OneEuroFilter.filter: track', track, 3)
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64)
            _missing(track, scores, self.score_thr)    # checks the shape
        online = OneEuroFilter(self.min_cutoff, self.beta, self.d_cutoff, self.fps,
                               self.score_thr)
        return np.stack([online.step(frame, None if scores is None else scores[t])
                         for t, frame in enumerate(track)]) if len(track) else track.copy()

    def flush(self) -> np.ndarray:
        """Nothing is held back by a causal filter: an empty [0, K, C]."""
        k, c = (0, 2) if self._x is None else self._x.shape
        return np.zeros((0, k, c))


class _WindowFilter(BasePoseFilter):
    """A non-causal filter of odd ``window`` frames (a convolution over time with edge
    replication); subclasses give the kernel and the offline filter."""

    def __init__(self, window: int, score_thr: float, window_size: Optional[int]) -> None:
        super().__init__(score_thr)
        if window_size is not None:     # MMPose 0.x's name of the argument
            window = window_size
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) \
                or window < 3 or window % 2 == 0:
            raise ValueError(f'{type(self).__name__}: window must be an odd int >= 3, '
                             f'got {window!r}')
        self.window = int(window)
        self.latency_frames = self.window // 2
        self.reset()

    def kernel(self) -> np.ndarray:
        """Weights [window] of the frames t − h … t + h for the output at t."""
        raise NotImplementedError

    def _smooth(self, filled: np.ndarray) -> np.ndarray:
        """Offline smoothing of a gap-free track [T, K, C] (edge-replicated)."""
        raise NotImplementedError

    def filter(self, track: Any, scores: Optional[Any] = None) -> np.ndarray:
        """Fill gaps, then smooth a track [T, K, C] (+ scores [T, K]) → [T, K, C]."""
        track = _as_frames(f'{type(self).__name__}.filter: track', track, 3)
        if len(track) == 0:
            return track.copy()
        filled = fill_missing(track, _missing(track, scores, self.score_thr))
        return self._smooth(filled)

    def reset(self) -> None:
        self._frames = deque(maxlen=self.window)   # the last frames, gaps not filled
        self._valid = deque(maxlen=self.window)
        self._held = None      # the last valid value of each keypoint [K, C] (NaN: none)
        self._count = 0        # frames fed since reset

    def step(self, x: Any, scores: Optional[Any] = None) -> Optional[np.ndarray]:
        """Feed frame t; return the smoothed frame t − window//2 (None before it exists)."""
        x = _as_frames(f'{type(self).__name__}.step: x', x, 2)
        if self._frames and x.shape != self._frames[-1].shape:
            raise ValueError(f'{type(self).__name__}.step: x has shape {list(x.shape)}, '
                             f'but the track has {list(self._frames[-1].shape)}; call '
                             'reset() for a new one')
        valid = ~_missing(x, scores, self.score_thr)
        if len(self._frames) == self.window:
            # the oldest frame leaves the window: keep its valid values to hold
            self._held = np.where(self._valid[0][:, None], self._frames[0], self._held)
        if self._held is None:
            self._held = np.full_like(x, np.nan)
        self._frames.append(x.copy())
        self._valid.append(valid)
        self._count += 1
        if self._count <= self.latency_frames:
            return None
        return self._output(self._count - 1 - self.latency_frames)

    def flush(self) -> np.ndarray:
        """The last ``latency_frames`` smoothed frames, their right edge replicated;
        then ``reset()``. [n, K, C] (n = 0 before any step)."""
        if not self._frames:
            return np.zeros((0, 0, 2))
        first = max(self._count - self.latency_frames, 0)
        out = np.stack([self._output(t) for t in range(first, self._count)])
        self.reset()
        return out

    def _output(self, t: int) -> np.ndarray:
        """Smoothed frame t (0-based since reset) from the buffered frames: [K, C]."""
        h, start = self.latency_frames, self._count - len(self._frames)
        frames, valid = np.stack(self._frames), np.stack(self._valid)
        filled = fill_missing(frames, ~valid)
        lost = ~valid.any(axis=0)          # no valid frame in the window: hold
        filled[:, lost] = self._held[lost]
        index = np.clip(np.arange(t - h, t + h + 1), 0, self._count - 1) - start
        return np.tensordot(self.kernel(), filled[index], axes=(0, 0))


@POSE_FILTERS.register_module()
@POSE_FILTERS.register_module(name='SavizkyGolayFilter')   # MMPose 0.x's spelling
class SavitzkyGolayFilter(_WindowFilter):
    """Savitzky–Golay smoothing (``scipy.signal.savgol_filter``): a least-squares
    polynomial of degree ``polyorder`` fitted over ``window`` frames around each frame.
    Non-causal: ``latency_frames`` = window // 2.

    Args:
        window (int): odd number of frames (>= 3, > polyorder); MMPose 0.x's
            ``window_size`` is accepted too.
        polyorder (int): the polynomial's degree.
        score_thr (float): as ``BasePoseFilter``.
    """

    def __init__(self, window: int = 11, polyorder: int = 2, score_thr: float = 0.3,
                 window_size: Optional[int] = None) -> None:
        super().__init__(window, score_thr, window_size)
        if isinstance(polyorder, bool) or not isinstance(polyorder, (int, np.integer)) \
                or not 0 <= polyorder < self.window:
            raise ValueError(f'SavitzkyGolayFilter: polyorder must be an int in '
                             f'[0, window) = [0, {self.window}), got {polyorder!r}')
        self.polyorder = int(polyorder)

    def kernel(self) -> np.ndarray:
        return savgol_coeffs(self.window, self.polyorder, use='dot')

    def _smooth(self, filled: np.ndarray) -> np.ndarray:
        return savgol_filter(filled, self.window, self.polyorder, axis=0, mode='nearest')


@POSE_FILTERS.register_module()
class GaussianFilter(_WindowFilter):
    """Gaussian smoothing over time (``scipy.ndimage.gaussian_filter1d``), the kernel
    cut at ``window // 2`` frames each side. Non-causal: ``latency_frames`` =
    window // 2.

    Args:
        sigma (float): the Gaussian's standard deviation, frames.
        window (int): odd number of frames of the kernel (>= 3); MMPose 0.x's
            ``window_size`` is accepted too.
        score_thr (float): as ``BasePoseFilter``.
    """

    def __init__(self, sigma: float = 2.0, window: int = 11, score_thr: float = 0.3,
                 window_size: Optional[int] = None) -> None:
        super().__init__(window, score_thr, window_size)
        if not sigma > 0:
            raise ValueError(f'GaussianFilter: sigma must be > 0, got {sigma!r}')
        self.sigma = float(sigma)

    def kernel(self) -> np.ndarray:
        offsets = np.arange(-self.latency_frames, self.latency_frames + 1)
        weights = np.exp(-0.5 * (offsets / self.sigma) ** 2)
        return weights / weights.sum()

    def _smooth(self, filled: np.ndarray) -> np.ndarray:
        return gaussian_filter1d(filled, self.sigma, axis=0, mode='nearest',
                                 radius=self.latency_frames)
