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
