"""Decode keypoint heatmaps to heatmap-pixel coordinates (pure numpy).

Coordinates follow ``hpekit.core.affine``: pixel centres at integers, x to the right,
y down. A decoded location maps back to the image with
``apply_affine(coords, invert_affine(affine_matrix(center, bbox_size, heatmap_size)))``.
"""
import numpy as np

QUARTER = 0.25  # the customary sub-pixel step toward the higher neighbour


def _argmax_2d(heatmaps):
    """[N, K, H, W] → (x int [N, K], y int [N, K], max values [N, K])."""
    n, k, _, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    index = np.argmax(flat, axis=-1)
    scores = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    return index % w, index // w, scores


def _quarter_shift(heatmaps, x, y):
    """Sub-pixel offsets [N, K, 2] (±0.25 or 0 per axis) toward the higher neighbour.

    An axis is shifted only where the argmax has a neighbour on both sides along it;
    equal neighbours give no shift.
    """
    n, k, h, w = heatmaps.shape
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing='ij')
    inner_x = (x >= 1) & (x <= w - 2)
    inner_y = (y >= 1) & (y <= h - 2)
    xl, xr = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
    yu, yd = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
    dx = heatmaps[ni, ki, y, xr] - heatmaps[ni, ki, y, xl]
    dy = heatmaps[ni, ki, yd, x] - heatmaps[ni, ki, yu, x]
    offsets = np.stack([np.sign(dx) * inner_x, np.sign(dy) * inner_y], axis=-1)
    return QUARTER * offsets


def decode_heatmaps(heatmaps):
    """Argmax + quarter-pixel shift decoding of keypoint heatmaps.

    Args:
        heatmaps: array-like [N, K, H, W] (any real dtype; finite values).

    Returns:
        coords: float32 [N, K, 2], (x, y) in heatmap pixels (0-based pixel centres).
            The argmax location, moved by 0.25 px toward the higher of its two
            neighbours in x and, independently, in y (only where both neighbours
            exist along that axis). Locations are kept even where the maximum is
            not positive; use the scores to reject them.
        scores: float32 [N, K], the heatmap value at the argmax (the maximum).
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.ndim != 4 or heatmaps.shape[2] == 0 or heatmaps.shape[3] == 0:
        raise ValueError(f'heatmaps must have shape [N, K, H, W] with H, W > 0, '
                         f'got {heatmaps.shape}')
    heatmaps = heatmaps.astype(np.float64, copy=False)
    x, y, scores = _argmax_2d(heatmaps)
    coords = np.stack([x, y], axis=-1).astype(np.float64)
    coords += _quarter_shift(heatmaps, x, y)
    return coords.astype(np.float32), scores.astype(np.float32)
