"""SimCC: keypoints as two 1-D classification targets, one per axis (pure numpy).

A keypoint at input px x is label bin ``round(x · split_ratio)`` of a vector of
``round(W · split_ratio)`` bins (pixel i of the input at bin ``i · split_ratio``; NumPy
rounding, halves to even), as MMPose 1.x's ``SimCCLabel``. These functions follow
MMPose's arithmetic step by step so that its models decode to the same keypoints.
"""
import numpy as np

from hpekit.core.heatmap_decode import modulate_heatmaps


def simcc_bins(length, split_ratio):
    """The number of bins for an input side of ``length`` px: ``round(length·ratio)``."""
    return int(np.around(length * split_ratio))


def _split_keypoints(keypoints, split_ratio):
    """Keypoints [K, 2] input px → integer bins [K, 2] (int64), in the keypoints' dtype."""
    keypoints = np.asarray(keypoints)
    if keypoints.dtype.kind != 'f':
        keypoints = keypoints.astype(np.float64)
    return np.around(keypoints * split_ratio).astype(np.int64)


def simcc_gaussian_labels(keypoints, visible, input_size, sigma, split_ratio, normalize):
    """Gaussian SimCC labels (MMPose's ``SimCCLabel(smoothing_type='gaussian')``).

    Bin j of a keypoint's x label is ``exp(-(j - μx)² / 2σx²)`` over the whole
    vector, μx its bin (``round(x · split_ratio)``); divided by ``σ·√(2π)`` when
    ``normalize``. A keypoint with ``visible < 0.5`` has zero labels and keeps its
    visibility as weight; one whose bin lies more than 3σ (+1 on the far side) outside
    the vectors has zero labels and weight 0, while one just outside (within 3σ)
    keeps weight ``visible`` and a Gaussian tail, as in MMPose.

    Args:
        keypoints: float [K, 2] input px.
        visible: [K] visibility.
        input_size: (W, H) input px.
        sigma: (σx, σy) in bins.
        split_ratio (float): bins per input px.
        normalize (bool): divide by the Gaussian's normaliser ``σ·√(2π)``.

    Returns:
        x_labels float32 [K, Wx], y_labels float32 [K, Wy], weight float32 [K].
    """
    sigma = np.asarray(sigma, np.float64).reshape(2)
    bins = _split_keypoints(keypoints, split_ratio)
    visible = np.asarray(visible).reshape(-1)
    wx, wy = (simcc_bins(v, split_ratio) for v in input_size)
    radius = sigma * 3
    low, high = bins - radius, bins + radius + 1
    outside = (low[:, 0] >= wx) | (low[:, 1] >= wy) | (high[:, 0] < 0) | (high[:, 1] < 0)
    labelled = visible >= 0.5
    weight = np.where(labelled & outside, 0, visible).astype(np.float32)
    keep = labelled & ~outside
    labels = []
    for axis, size in enumerate((wx, wy)):
        grid = np.arange(size, dtype=np.float32)[None, :]
        values = np.exp(-(grid - bins[:, axis:axis + 1]) ** 2 / (2 * sigma[axis] ** 2))
        values = np.where(keep[:, None], values, 0).astype(np.float32)
        if normalize:
            values = (values / (sigma[axis] * np.sqrt(np.pi * 2))).astype(np.float32)
        labels.append(values)
    return labels[0], labels[1], weight


def simcc_standard_labels(keypoints, visible, input_size, split_ratio, smooth_weight):
    """One-hot SimCC labels with label smoothing (``smoothing_type='standard'``).

    The keypoint's bin holds ``1 - smooth_weight`` and every bin (its own included
    before being overwritten) ``smooth_weight / (bins - 1)``. A bin outside the vector
    gives zero labels and weight 0; ``visible < 0.5`` gives zero labels and keeps
    ``visible`` as weight.

    Returns:
        x_labels float32 [K, Wx], y_labels float32 [K, Wy], weight float32 [K].
    """
    bins = _split_keypoints(keypoints, split_ratio)
    visible = np.asarray(visible).reshape(-1)
    sizes = [simcc_bins(v, split_ratio) for v in input_size]
    outside = (bins[:, 0] >= sizes[0]) | (bins[:, 1] >= sizes[1]) | np.any(bins < 0, axis=1)
    labelled = visible >= 0.5
    weight = np.where(labelled & outside, 0, visible).astype(np.float32)
    keep = np.flatnonzero(labelled & ~outside)
    labels = []
    for axis, size in enumerate(sizes):
        values = np.zeros((len(bins), size), np.float32)
        if smooth_weight > 0:
            values[keep] = smooth_weight / (size - 1)
        values[keep, bins[keep, axis]] = 1.0 - smooth_weight
        labels.append(values)
    return labels[0], labels[1], weight


def simcc_maximum(simcc_x, simcc_y, softmax=False):
    """MMPose's ``get_simcc_maximum``: the argmax bin per axis and a joint score.

    Args:
        simcc_x: [M, Wx] per-keypoint x vectors; simcc_y: [M, Wy].
        softmax (bool): take each vector's softmax first.

    Returns:
        locations: float32 [M, 2] bins (x, y), (-1, -1) where the score is not
            positive.
        scores: [M], the smaller of the two maxima (the vectors' dtype).
    """
    simcc_x, simcc_y = np.asarray(simcc_x), np.asarray(simcc_y)
    if softmax:
        simcc_x, simcc_y = (_softmax(v) for v in (simcc_x, simcc_y))
    locations = np.stack([np.argmax(simcc_x, axis=1), np.argmax(simcc_y, axis=1)],
                         axis=-1).astype(np.float32)
    max_x, max_y = np.max(simcc_x, axis=1), np.max(simcc_y, axis=1)
    scores = np.where(max_x > max_y, max_y, max_x)
    locations[scores <= 0] = -1
    return locations, scores


def _softmax(vectors):
    shifted = vectors - np.max(vectors, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=1, keepdims=True)


def simcc_dark_kernel(sigma):
    """MMPose's SimCC DARK blur size for a label σ: ``(20σ - 7) // 3``, made odd by
    subtracting 1 when even (σ = 6 → 37, 5.66 → 35)."""
    size = int((sigma * 20 - 7) // 3)
    return size - int(size % 2 == 0)


def log_modulated_simcc(vectors, kernel_size):
    """The vectors as MMPose's SimCC DARK leaves them: modulated (``modulate_heatmaps``
    along the vector), clipped to [1e-3, 50] and taken to the log.

    Args:
        vectors: [M, L].

    Returns:
        [M, L], the vectors' dtype.
    """
    out = modulate_heatmaps(vectors, kernel_size, axes=(-1,))
    with np.errstate(invalid='ignore'):
        return np.log(np.clip(out, 1e-3, 50.0))


def refine_simcc_dark(locations, log_vectors):
    """MMPose's ``refine_simcc_dark`` Newton step along one axis.

    Args:
        locations: float32 [M] argmax bins (-1 where none).
        log_vectors: [M, L] from ``log_modulated_simcc``.

    Returns:
        float32 [M]: ``loc - d / (1e-9 + d2)`` with the central differences
        ``d = (v[i+1] - v[i-1]) / 2`` and ``d2 = (v[i+2] - 2v[i] + v[i-2]) / 4`` of the
        vectors padded by 2 (edge values); a location of -1 reads the padded vector
        from index -1 (its last bin) as MMPose's does.
    """
    locations = np.array(locations, np.float32)
    padded = np.pad(log_vectors, ((0, 0), (2, 2)), mode='edge')
    index = (locations + np.float32(2.5)).astype(np.int64)[:, None]

    def at(step):
        return np.take_along_axis(padded, index + step, axis=1)[:, 0]
    first = 0.5 * (at(1) - at(-1))
    second = 1e-9 + 0.25 * (at(2) - 2 * at(0) + at(-2))
    return locations - (first / second).astype(np.float32)
