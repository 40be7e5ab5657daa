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


# --------------------------------------------------------------------------------------
# MMPose 1.x decoding (``MSRAHeatmap(grid='origin')``, ``UDPHeatmap``, DARK refinement).
# These follow MMPose's arithmetic step by step, dtypes included, so that a model
# trained there decodes to the same keypoints; their border rules differ from
# ``decode_heatmaps``' on purpose (see each function).

#: OpenCV's fixed kernels for the odd sizes it tabulates (``sigma <= 0``), in 1/256.
_TABULATED_KERNELS = {1: [256], 3: [64, 128, 64], 5: [16, 64, 96, 64, 16],
                      7: [8, 28, 56, 72, 56, 28, 8],
                      9: [4, 13, 30, 51, 60, 51, 30, 13, 4]}


def blur_kernel(size):
    """The normalised 1-D kernel of OpenCV's ``GaussianBlur(ksize=size, sigmaX=0)``.

    OpenCV derives the standard deviation from the size, ``σ = 0.3·((size - 1)/2 - 1)
    + 0.8`` (so 11 → 2, 17 → 2.9), except for the sizes 1 to 9, where it uses fixed
    binomial-like kernels.

    Args:
        size (int): odd, positive.

    Returns:
        float32 [size], summing to 1.
    """
    size = int(size)
    if size <= 0 or size % 2 != 1:
        raise ValueError(f'blur kernel size must be an odd positive int, got {size}')
    if size in _TABULATED_KERNELS:
        return (np.asarray(_TABULATED_KERNELS[size], np.float64) / 256).astype(np.float32)
    sigma = 0.15 * size + 0.35
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    kernel = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    return (kernel / kernel.sum()).astype(np.float32)


def _fma32(a, b, c):
    """float32 ``a·b + c`` rounded once (a fused multiply-add, as OpenCV's SIMD)."""
    return (a.astype(np.float64) * np.float64(b) + c.astype(np.float64)).astype(np.float32)


def _filter_axis(array, kernel, axis, pad_mode, symmetric):
    """Correlate float32 ``array`` with ``kernel`` along ``axis`` ('same' size), in
    float32 with OpenCV's order of operations: taps in order (its row filter) or,
    ``symmetric``, the centre tap and then the sums of mirrored pairs (its column
    filter), each a fused multiply-add."""
    radius = len(kernel) // 2
    widths = [(0, 0)] * array.ndim
    widths[axis] = (radius, radius)
    padded = np.pad(array, widths, mode=pad_mode)
    length = array.shape[axis]

    def tap(i):
        return np.take(padded, np.arange(i, i + length), axis=axis)
    out = np.zeros(array.shape, np.float32)
    if not symmetric:
        for i, weight in enumerate(kernel):
            out = _fma32(tap(i), weight, out)
        return out
    out = _fma32(tap(radius), kernel[radius], out)
    for i in range(1, radius + 1):
        out = _fma32(tap(radius + i) + tap(radius - i), kernel[radius + i], out)
    return out


def gaussian_blur(maps, kernel_size, border='zeros', axes=(-2, -1)):
    """OpenCV's ``GaussianBlur(sigmaX=0)`` of each map, separable over ``axes``.

    Computed in float32 in OpenCV's order (x first, taps in order; then y, mirrored
    pairs; fused multiply-adds, as its SIMD code on current x86 / ARM CPUs), so that
    the result is OpenCV's to the last bit or so: DARK's Newton steps amplify the
    blur's rounding where a map is nearly flat.

    Args:
        maps: float array [..., H, W] (or [..., L] with ``axes=(-1,)``).
        kernel_size (int): odd size of the (square) kernel, see ``blur_kernel``.
        border (str): 'zeros' (the maps padded with zeros, as MMPose pads before
            blurring) or 'reflect' (OpenCV's default border, ``BORDER_REFLECT_101``:
            ``dcb|abcd|cba``).
        axes: the axes blurred, the x (row) axis last.

    Returns:
        float32 array of the maps' shape.
    """
    if border not in ('zeros', 'reflect'):
        raise ValueError(f"border must be 'zeros' or 'reflect', got {border!r}")
    kernel = blur_kernel(kernel_size)
    out = np.asarray(maps, np.float32)
    axes = [axis % out.ndim for axis in axes]
    for n, axis in enumerate(reversed(axes)):
        out = _filter_axis(out, kernel, axis, 'constant' if border == 'zeros' else 'reflect',
                           symmetric=n > 0)
    return out


def modulate_heatmaps(maps, kernel_size, axes=(-2, -1)):
    """MMPose's heatmap modulation before DARK: blur each map (zero border), then
    rescale it so its maximum is the original maximum.

    Args:
        maps: float array [M, H, W] (or [M, L] with ``axes=(-1,)``).
        kernel_size (int): odd blur kernel size (``blur_kernel``).

    Returns:
        array of the maps' shape and dtype. A map whose blur has a zero maximum
        becomes NaN (0/0), as in MMPose.
    """
    maps = np.asarray(maps)
    dtype = maps.dtype if maps.dtype.kind == 'f' else np.dtype(np.float64)
    reduce = tuple(range(1, maps.ndim))
    origin_max = np.max(maps, axis=reduce, keepdims=True).astype(dtype)
    blurred = gaussian_blur(maps, kernel_size, 'zeros', axes).astype(dtype)
    with np.errstate(divide='ignore', invalid='ignore'):
        blurred *= origin_max / np.max(blurred, axis=reduce, keepdims=True)
    return blurred


def heatmap_maximum(heatmaps):
    """MMPose's ``get_heatmap_maximum``: the argmax of each map, and its value.

    Args:
        heatmaps: array [..., H, W].

    Returns:
        locations: float32 [..., 2], (x, y) of the first maximum; (-1, -1) where the
            maximum is not positive.
        values: [...] the maxima (the heatmaps' dtype).
    """
    heatmaps = np.asarray(heatmaps)
    *lead, h, w = heatmaps.shape
    flat = heatmaps.reshape(-1, h * w)
    index = np.argmax(flat, axis=1)
    values = np.max(flat, axis=1)
    locations = np.stack([index % w, index // w], axis=-1).astype(np.float32)
    locations[values <= 0] = -1
    return locations.reshape(*lead, 2), values.reshape(lead)


def refine_quarter_mmpose(keypoints, heatmaps):
    """MMPose's ``refine_keypoints``: a 0.25 px step toward the higher neighbour.

    Unlike ``decode_heatmaps`` (a step wherever both neighbours exist), MMPose steps
    in x only where ``2 <= x <= W - 2`` and ``y >= 1``, and in y only where
    ``2 <= y <= H - 2`` and ``x >= 1`` (its ``1 < x < W - 1 and 0 < y < H``); equal
    neighbours give no step.

    Args:
        keypoints: float32 [K, 2] integer locations (``heatmap_maximum``; -1 none).
        heatmaps: [K, H, W].

    Returns:
        float32 [K, 2].
    """
    keypoints = np.array(keypoints, np.float32)
    heatmaps = np.asarray(heatmaps)
    k, h, w = heatmaps.shape
    x, y = keypoints.astype(np.int64).T
    rows = np.arange(k)
    step_x = (x > 1) & (x < w - 1) & (y > 0) & (y < h)
    step_y = (y > 1) & (y < h - 1) & (x > 0) & (x < w)
    xc, yc = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    dx = heatmaps[rows, yc, np.clip(x + 1, 0, w - 1)] - heatmaps[rows, yc, np.clip(x - 1, 0, w - 1)]
    dy = heatmaps[rows, np.clip(y + 1, 0, h - 1), xc] - heatmaps[rows, np.clip(y - 1, 0, h - 1), xc]
    signs = np.sign(np.stack([np.where(step_x, dx, 0), np.where(step_y, dy, 0)], -1)
                    .astype(np.float32))
    return keypoints + signs * np.float32(0.25)


def _log_modulated(heatmaps, kernel_size, low, high=None):
    """log of the modulated maps clipped below at ``low`` (and above at ``high``)."""
    maps = modulate_heatmaps(heatmaps, kernel_size)
    with np.errstate(invalid='ignore'):
        maps = np.maximum(maps, low) if high is None else np.clip(maps, low, high)
        return np.log(maps)


def refine_dark(keypoints, heatmaps, blur_kernel_size):
    """DARK (distribution-aware) refinement as MMPose's ``refine_keypoints_dark``.

    The heatmaps are modulated (``modulate_heatmaps``), floored at 1e-10 and taken
    to the log; each location then moves by the Newton step ``-H⁻¹·g`` of that
    log-map (central differences, the second derivatives over ±2 px). Only locations
    with ``2 <= x <= W - 3`` and ``2 <= y <= H - 3`` move, and only where the
    Hessian's determinant is not 0.

    Args:
        keypoints: float32 [K, 2] integer locations (``heatmap_maximum``).
        heatmaps: [K, H, W] (float32 as a model gives; computed in that dtype).
        blur_kernel_size (int): odd modulation kernel size.

    Returns:
        float32 [K, 2].
    """
    keypoints = np.array(keypoints, np.float32)
    log_maps = _log_modulated(heatmaps, blur_kernel_size, 1e-10)
    k, h, w = log_maps.shape
    x, y = keypoints.astype(np.int64).T
    inner = np.flatnonzero((x > 1) & (x < w - 2) & (y > 1) & (y < h - 2))
    if len(inner) == 0:
        return keypoints
    x, y, m = x[inner], y[inner], log_maps[inner]
    r = np.arange(len(inner))

    def at(dy, dx):
        return m[r, y + dy, x + dx]
    half, quarter = m.dtype.type(0.5), m.dtype.type(0.25)
    dx = half * (at(0, 1) - at(0, -1))
    dy = half * (at(1, 0) - at(-1, 0))
    dxx = quarter * (at(0, 2) - 2 * at(0, 0) + at(0, -2))
    dxy = quarter * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = quarter * (at(2, 0) - 2 * at(0, 0) + at(-2, 0))
    solvable = dxx * dyy - dxy ** 2 != 0
    hessian = np.stack([np.stack([dxx, dxy], -1), np.stack([dxy, dyy], -1)], -2)[solvable]
    gradient = np.stack([dx, dy], -1)[solvable][..., None]
    try:
        inverse = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:   # singular by LU though not by determinant: skip those
        inverse = np.stack([_inverse_or_zero(mat) for mat in hessian]) if len(hessian) \
            else hessian
    offsets = (-inverse @ gradient)[..., 0]
    keypoints[inner[solvable]] += offsets.astype(np.float32)
    return keypoints


def _inverse_or_zero(matrix):
    try:
        return np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return np.zeros_like(matrix)


def refine_dark_udp(keypoints, heatmaps, blur_kernel_size):
    """DARK refinement for UDP as MMPose's ``refine_keypoints_dark_udp``.

    The heatmaps are modulated (``modulate_heatmaps``), clipped to [1e-3, 50], taken
    to the log and padded by one px (edge values); every location moves by
    ``-(H + ε·I)⁻¹·g`` (ε = float32 eps; first and second differences over ±1 px).
    MMPose reads the neighbours from the flattened padded maps, so a location of
    (-1, -1) (a map without a positive value) reads the pad corner and, for its
    upper-left neighbours, the previous map (the last map's for the first): kept.

    Args:
        keypoints: float32 [K, 2] integer locations (``heatmap_maximum``).
        heatmaps: [K, H, W].
        blur_kernel_size (int): odd modulation kernel size.

    Returns:
        float32 [K, 2].
    """
    keypoints = np.array(keypoints, np.float32)
    log_maps = _log_modulated(heatmaps, blur_kernel_size, 1e-3, 50.0)
    k, h, w = log_maps.shape
    flat = np.pad(log_maps, ((0, 0), (1, 1), (1, 1)), mode='edge').ravel()
    row = w + 2
    index = (keypoints[:, 0] + 1 + (keypoints[:, 1] + 1) * row
             + row * (h + 2) * np.arange(k)).astype(np.int64)
    centre, right, left = flat[index], flat[index + 1], flat[index - 1]
    down, up = flat[index + row], flat[index - row]
    down_right, up_left = flat[index + row + 1], flat[index - row - 1]
    gradient = np.stack([0.5 * (right - left), 0.5 * (down - up)], -1)[..., None]
    dxx = right - 2 * centre + left
    dyy = down - 2 * centre + up
    dxy = 0.5 * (down_right - right - down + centre + centre - left - up + up_left)
    hessian = np.stack([np.stack([dxx, dxy], -1), np.stack([dxy, dyy], -1)], -2)
    inverse = np.linalg.inv(hessian + np.finfo(np.float32).eps * np.eye(2))
    keypoints -= np.einsum('imn,ink->imk', inverse, gradient)[..., 0]
    return keypoints


def decode_offset_maps(maps, radius_factor, blur_kernel_size):
    """MMPose's ``UDPHeatmap(heatmap_type='combined')`` decoding (one sample).

    Each keypoint has three maps: a classification map and x / y offset maps in units
    of the positive radius ``r = radius_factor · max(W, H)``. The classification maps
    are blurred (OpenCV's default reflecting border, kernel ``2·blur_kernel_size +
    1``); the argmax of each blurred map (``heatmap_maximum``) plus ``r`` times the
    offsets read there is the keypoint. As in MMPose, a map without a positive value
    has the location (-1, -1) and reads its offsets at flat index ``-1 - W`` of that
    keypoint's block (wrapping to the last keypoint's maps for the first).

    Args:
        maps: [3K, H, W], (class, x offset, y offset) per keypoint.
        radius_factor (float): as at encoding.
        blur_kernel_size (int): odd; the classification maps are blurred with twice
            that plus one.

    Returns:
        keypoints: float32 [K, 2] heatmap px (pixel i at i).
        scores: float32 [K], the maxima of the blurred classification maps.
    """
    maps = np.asarray(maps)
    channels, h, w = maps.shape
    if channels % 3:
        raise ValueError(f'offset maps need 3 channels per keypoint, got {channels}')
    k = channels // 3
    classes = gaussian_blur(maps[0::3], 2 * int(blur_kernel_size) + 1, 'reflect')
    radius = radius_factor * max(w, h)
    x_offsets = maps[1::3].astype(np.float32).ravel() * np.float32(radius)
    y_offsets = maps[2::3].astype(np.float32).ravel() * np.float32(radius)
    keypoints, scores = heatmap_maximum(classes)
    index = (keypoints[:, 0] + keypoints[:, 1] * w + w * h * np.arange(k)).astype(np.int64)
    keypoints = keypoints + np.stack([x_offsets[index], y_offsets[index]], axis=-1)
    return keypoints.astype(np.float32), scores.astype(np.float32)
