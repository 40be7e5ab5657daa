"""Affine maps between image pixels and a fixed-size crop (or heatmap) of a box.

Convention (used everywhere in hpekit): a pixel's centre has integer coordinates and
the pixel covers [i - 0.5, i + 0.5]. ``affine_matrix`` maps the box's edges onto the
output's edges, so the box centre lands on ((W-1)/2, (H-1)/2) and a horizontal flip
of the output array is exactly ``x -> W - 1 - x``. The same box mapped to the input
size (e.g. 256) and to the heatmap size (e.g. 64) gives consistent coordinates:
``x_heatmap = (x_input + 0.5) * 64 / 256 - 0.5``.

MMPose's crops place pixels differently; ``affine_matrix(..., grid=...)`` reproduces
them exactly, so models trained there (and their checkpoints) see the crops they were
trained on (``GRIDS``).
"""
import numpy as np

#: How a box maps onto the output's pixel grid (``affine_matrix``'s ``grid``), with
#: ``center`` in hpekit's convention and ``c_m = center + 0.5`` (MMPose's box centre,
#: the plain mean of an xyxy box), s the box size and W the output size, for x:
#:
#: - 'edges' (hpekit): the box's edges on the output's edges,
#:   ``x_out = (x - center)·W/s + (W - 1)/2``;
#: - 'origin' (MMPose's ``TopdownAffine``): ``x_out = (x - c_m)·W/s + W/2``;
#: - 'corners' (MMPose's ``TopdownAffine(use_udp=True)``, unbiased data processing):
#:   ``x_out = (x - c_m)·(W - 1)/s + (W - 1)/2``.
GRIDS = ('edges', 'origin', 'corners')


def check_grid(grid: str) -> str:
    """``grid`` itself; ValueError naming the allowed values otherwise."""
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
    return grid


def affine_matrix(center, size, out_size, rotation=0.0, flip=False, grid='edges'):
    """The 2×3 matrix taking image pixels to output pixels of a rotated, flipped box.

    Args:
        center: (cx, cy) of the box in image pixels.
        size: (w, h) of the box in image pixels (the box may extend past the image).
        out_size: (W, H) of the output in pixels.
        rotation: degrees, counter-clockwise as seen in the image, about the centre.
        flip: mirror the output horizontally about its centre (x -> W - 1 - x for
            'edges' and 'corners', x -> W - x for 'origin').
        grid (str): how the box maps onto the output's pixels (``GRIDS``).

    Returns:
        float64 array [2, 3]: ``out = M @ [x, y, 1]``.
    """
    cx, cy = (float(v) for v in center)
    w, h = (float(v) for v in size)
    out_w, out_h = (float(v) for v in out_size)
    if w <= 0 or h <= 0 or out_w <= 0 or out_h <= 0:
        raise ValueError(f'affine_matrix: box size {size} and out_size {out_size} must be '
                         'positive')
    check_grid(grid)
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta), np.sin(theta)
    span_w, span_h = (out_w - 1, out_h - 1) if grid == 'corners' else (out_w, out_h)
    sx, sy = span_w / w, span_h / h
    # Translate the centre to the origin, rotate, scale, then move to the output centre.
    linear = np.array([[sx * cos, sx * sin], [-sy * sin, sy * cos]])
    if flip:
        linear[0] *= -1
    if grid == 'edges':
        out_center = np.array([(out_w - 1) / 2, (out_h - 1) / 2])
    else:
        cx, cy = cx + 0.5, cy + 0.5
        out_center = np.array([out_w / 2, out_h / 2]) if grid == 'origin' else \
            np.array([(out_w - 1) / 2, (out_h - 1) / 2])
    offset = out_center - linear @ np.array([cx, cy])
    return np.hstack([linear, offset[:, None]])


def invert_affine(matrix):
    """Inverse of a 2×3 affine matrix (as a 2×3 matrix)."""
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def apply_affine(points, matrix):
    """Apply a 2×3 matrix to points [..., 2]; returns float64 [..., 2]."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]
