"""Gaussian heatmap targets of 2D keypoints (pure numpy).

Coordinates are heatmap pixels with hpekit's convention (pixel centres at integers,
the heatmap covers [-0.5, W - 0.5] × [-0.5, H - 0.5]); a keypoint in input pixels maps
to ``x_hm = (x_in + 0.5) * W / W_in - 0.5`` (see ``hpekit.core.affine``).
"""
import numpy as np


def _axis_profile(coord, length, sigma, radius):
    """exp(-(i - coord)² / 2σ²) for i in range(length), zero where |i - coord| > radius.

    coord: float [K]. Returns float64 [K, length].
    """
    offsets = np.arange(length, dtype=np.float64)[None, :] - coord[:, None]
    profile = np.exp(-offsets ** 2 / (2.0 * sigma ** 2))
    profile[np.abs(offsets) > radius] = 0.0
    return profile


def gaussian_heatmaps(keypoints, visible, size, sigma=2.0, truncate=3.0):
    """Unnormalised Gaussian target heatmaps, one per keypoint, sub-pixel centred.

    The value at pixel (x, y) is ``exp(-((x - kx)² + (y - ky)²) / (2σ²))`` inside the
    square window ``|x - kx| <= truncate·σ`` and ``|y - ky| <= truncate·σ``, else 0; the
    peak value is 1 when the keypoint is at integer coordinates.

    Args:
        keypoints: float [K, 2] (x, y) in heatmap pixels.
        visible: float or bool [K]; > 0 means the keypoint is annotated / visible.
        size: (W, H) of the heatmaps in pixels.
        sigma (float): standard deviation in heatmap pixels (> 0).
        truncate (float): window half-size in multiples of sigma.

    Returns:
        tuple: ``heatmaps`` float32 [K, H, W] and ``weight`` float32 [K]: 1 for a visible
        keypoint whose centre lies inside the heatmap ([-0.5, W - 0.5) × [-0.5, H - 0.5)),
        else 0; the heatmap of a weight-0 keypoint is all zeros.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    visible = np.asarray(visible, dtype=np.float64).reshape(-1)
    width, height = (int(v) for v in size)
    if len(visible) != len(keypoints):
        raise ValueError(f'gaussian_heatmaps: {len(keypoints)} keypoints but '
                         f'{len(visible)} visibility values')
    if sigma <= 0 or width <= 0 or height <= 0:
        raise ValueError(f'gaussian_heatmaps: sigma {sigma} and size {size} must be positive')
    finite = np.all(np.isfinite(keypoints), axis=1)
    x, y = np.where(finite[:, None], keypoints, -1e6).T
    inside = (x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5)
    weight = ((visible > 0) & finite & inside).astype(np.float32)
    radius = truncate * sigma
    heatmaps = (_axis_profile(y, height, sigma, radius)[:, :, None]
                * _axis_profile(x, width, sigma, radius)[:, None, :])
    heatmaps[weight == 0] = 0.0
    return heatmaps.astype(np.float32), weight


# --------------------------------------------------------------------------------------
# MMPose 1.x targets (``MSRAHeatmap(grid='origin')``, ``UDPHeatmap``). Keypoints are in
# heatmap px with MMPose's mapping already applied (``x_in / stride``, or
# ``x_in · (w - 1)/(W - 1)`` for UDP); the arithmetic follows MMPose's step by step.

def _weights(visible, labelled, outside):
    """MMPose's target weights: the visibility itself, 0 where a labelled (>= 0.5)
    keypoint's Gaussian misses the heatmap."""
    return np.where(labelled & outside, 0, visible).astype(np.float32)


def _trunc_int(values):
    """``astype(int64)`` of floats: truncation toward zero (so -0.7 → 0)."""
    return np.trunc(values).astype(np.int64)


def _windowed_gaussians(keypoints, visible, size, sigma, subpixel):
    """MMPose's windowed Gaussians (``generate_gaussian_heatmaps`` and the UDP one).

    A keypoint's Gaussian patch has ``ceil(6σ + 1)`` px per side and its centre at
    ``(6σ + 1) // 2`` of the patch (plus the keypoint's offset from its rounded px
    when ``subpixel``); the patch starts at ``trunc(μ - 3σ)`` with
    ``μ = trunc(keypoint + 0.5)``, and covers the heatmap over
    ``[trunc(μ - 3σ), trunc(μ + 3σ + 1))``. A patch wholly outside gives weight 0.
    """
    keypoints = np.asarray(keypoints)
    if keypoints.dtype.kind != 'f':
        keypoints = keypoints.astype(np.float64)
    keypoints = keypoints.reshape(-1, 2)
    visible = np.asarray(visible).reshape(-1)
    width, height = (int(v) for v in size)
    radius = sigma * 3
    patch = 2 * radius + 1
    length, middle = int(np.ceil(patch)), patch // 2
    mu = _trunc_int(keypoints + 0.5)
    start, stop = _trunc_int(mu - radius), _trunc_int(mu + radius + 1)
    outside = (start[:, 0] >= width) | (start[:, 1] >= height) | (stop[:, 0] < 0) | \
        (stop[:, 1] < 0)
    labelled = visible >= 0.5
    weight = _weights(visible, labelled, outside)
    if subpixel:   # MMPose's centre offset is a float64 scalar: computed in float64
        centre = middle + (keypoints.astype(np.float64) - mu)
        dtype = np.float64
    else:          # a Python number: computed in float32, as MMPose's float32 grid
        centre = np.full(keypoints.shape, middle, np.float64)
        dtype = np.float32
    axes = []
    for axis, extent in enumerate((width, height)):
        pixels = np.arange(extent)[None, :]
        along = pixels - start[:, axis:axis + 1]           # px index inside the patch
        inside = (pixels >= start[:, axis:axis + 1]) & (pixels < stop[:, axis:axis + 1]) \
            & (along < length)
        offset = along.astype(dtype) - centre[:, axis:axis + 1].astype(dtype)
        axes.append((offset ** 2, inside))
    (dx2, in_x), (dy2, in_y) = axes
    value = np.exp(-(dx2[:, None, :] + dy2[:, :, None]) / dtype(2 * sigma ** 2))
    keep = (labelled & ~outside)[:, None, None] & in_y[:, :, None] & in_x[:, None, :]
    return np.where(keep, value, 0).astype(np.float32), weight


def integer_gaussian_heatmaps(keypoints, visible, size, sigma):
    """MMPose's MSRA targets: a Gaussian peaked (value 1) on the keypoint's rounded px.

    Args:
        keypoints: float [K, 2] heatmap px (MMPose's ``x_in / stride``).
        visible: [K]; a keypoint with ``visible < 0.5`` gets no Gaussian.
        size: (W, H) of the heatmaps.
        sigma (float): standard deviation in heatmap px.

    Returns:
        heatmaps float32 [K, H, W]; weight float32 [K]: ``visible``, or 0 where the
        3σ window misses the heatmap. The window is ``[trunc(μ - 3σ), trunc(μ + 3σ +
        1))`` around ``μ = trunc(x + 0.5)`` (truncation toward zero: x in (-1.5, -0.5)
        rounds to 0); a keypoint up to 3σ outside the heatmap keeps its weight and a
        partial Gaussian (possibly none at all, for one exactly 3σ + 1 outside).
    """
    return _windowed_gaussians(keypoints, visible, size, float(sigma), subpixel=False)


def udp_gaussian_heatmaps(keypoints, visible, size, sigma):
    """MMPose's UDP targets: the window of ``integer_gaussian_heatmaps`` with the
    Gaussian's centre on the keypoint itself (sub-pixel).

    Args / Returns: as ``integer_gaussian_heatmaps`` (keypoints in heatmap px with
    UDP's ``x_in · (W - 1)/(w - 1)`` mapping).
    """
    return _windowed_gaussians(keypoints, visible, size, float(sigma), subpixel=True)


def unbiased_gaussian_heatmaps(keypoints, visible, size, sigma):
    """MMPose's DARK targets: an untruncated Gaussian centred on the keypoint.

    Args:
        keypoints: float [K, 2] heatmap px; computed in their dtype (float32 keypoints
            give float32 Gaussians, as MMPose).
        visible: [K]; ``visible < 0.5`` gets no Gaussian.
        size: (W, H); sigma (float).

    Returns:
        heatmaps float32 [K, H, W]; weight float32 [K]: ``visible``, or 0 where the
        keypoint is 3σ (3σ + 1 on the right / bottom) or more outside the heatmap.
    """
    keypoints = np.asarray(keypoints)
    if keypoints.dtype.kind != 'f':
        keypoints = keypoints.astype(np.float64)
    keypoints = keypoints.reshape(-1, 2)
    visible = np.asarray(visible).reshape(-1)
    width, height = (int(v) for v in size)
    radius = sigma * 3
    start, stop = keypoints - radius, keypoints + radius + 1
    outside = (start[:, 0] >= width) | (start[:, 1] >= height) | (stop[:, 0] < 0) | \
        (stop[:, 1] < 0)
    labelled = visible >= 0.5
    weight = _weights(visible, labelled, outside)
    dtype = keypoints.dtype.type
    dx2 = (np.arange(width, dtype=np.float32)[None, :] - keypoints[:, :1]) ** 2
    dy2 = (np.arange(height, dtype=np.float32)[None, :] - keypoints[:, 1:]) ** 2
    value = np.exp(-(dx2[:, None, :] + dy2[:, :, None]) / dtype(2 * sigma ** 2))
    keep = (labelled & ~outside)[:, None, None]
    return np.where(keep, value, 0).astype(np.float32), weight


def udp_offset_maps(keypoints, visible, size, radius_factor):
    """MMPose's UDP 'combined' targets: per keypoint a disc and two offset maps.

    For each keypoint three maps (channels ``3k, 3k + 1, 3k + 2``): 1 inside the disc
    of radius ``r = radius_factor · max(W, H)`` around the keypoint, else 0; then
    ``(x_k - i) / r`` and ``(y_k - j) / r`` at px (i, j) over the whole map (MMPose
    1.3.2 does not restrict the offsets to the disc).

    Args:
        keypoints: float [K, 2] heatmap px (UDP mapping); visible: [K] (``< 0.5``: zero
            maps); size: (W, H); radius_factor (float).

    Returns:
        maps float32 [3K, H, W]; weight float32 [K]: ``visible`` unchanged (MMPose
        gives keypoints outside the heatmap full weight and empty maps).
    """
    keypoints = np.asarray(keypoints)
    if keypoints.dtype.kind != 'f':
        keypoints = keypoints.astype(np.float64)
    keypoints = keypoints.reshape(-1, 2)
    visible = np.asarray(visible).reshape(-1)
    width, height = (int(v) for v in size)
    radius = radius_factor * max(width, height)
    x_off = (keypoints[:, :1].astype(np.float64) - np.arange(width)[None, :]) / radius
    y_off = (keypoints[:, 1:].astype(np.float64) - np.arange(height)[None, :]) / radius
    shape = (len(keypoints), height, width)
    disc = np.where(x_off[:, None, :] ** 2 + y_off[:, :, None] ** 2 <= 1, 1.0, 0.0)
    maps = np.stack([disc, np.broadcast_to(x_off[:, None, :], shape),
                     np.broadcast_to(y_off[:, :, None], shape)], axis=1).astype(np.float32)
    maps[visible < 0.5] = 0
    return maps.reshape(-1, height, width), np.asarray(visible, np.float32).copy()
