"""Mean per-joint position error (MPJPE), its aligned variants and the acceleration
error (jitter), in pure numpy.

The MPJPE functions take N poses of K joints in 3D:

- ``pred``, ``gt``: array-like [N, K, 3], any length unit (the result is in that unit).
- ``mask``: bool array-like [N, K]; ``True`` marks a joint that counts. ``None`` counts
  every joint. A sample with no masked joint is left out; a mask with no ``True`` at
  all raises ``ValueError``, and so does a masked joint holding NaN or Inf in ``pred``
  or ``gt`` (the message counts the frames; no silent NaN or wrong mean).
- ``alignment``: how ``pred`` is aligned to ``gt`` per sample before measuring:
  ``'none'`` (MPJPE), ``'scale'`` (optimal uniform scale, N-MPJPE) or
  ``'procrustes'`` (optimal rotation + uniform scale + translation with reflections
  excluded, PA-MPJPE). Alignments are fitted on the sample's masked joints only and
  applied to all of its joints.

``accel_error`` / ``accel_errors`` take one sequence of consecutive frames instead
([T, K, C], the frames in time order) and compare second differences over time.
"""
from typing import Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from hpekit.evaluation.functional._checks import as_mask, as_points

ALIGNMENTS = ('none', 'scale', 'procrustes')

# Below this squared norm a pose counts as collapsed to one point (no scale to fit).
_EPS = 1e-12






def _check_inputs(pred, gt, mask):
    """Validate and convert: (pred, gt) float64 [N, K, 3] and mask bool [N, K]."""
    pred = as_points('pred', pred, 3)
    gt = as_points('gt', gt, 3, expected_shape=pred.shape)
    mask = as_mask(mask, pred.shape[0], pred.shape[1])
    for name, poses in (('pred', pred), ('gt', gt)):
        bad = (~np.isfinite(poses).all(axis=-1) & mask).any(axis=1)
        if bad.any():
            frames = np.flatnonzero(bad)
            raise ValueError(
                f'{name} holds NaN or Inf in {len(frames)} of {len(bad)} frames (poses), '
                f'first: {frames[:5].tolist()}; the errors of such frames are not defined '
                f'(a diverged model? check the predictions)')
    return pred, gt, mask


def _require_some(mask):
    """Raise ValueError when ``mask`` [N, K] selects no joint at all."""
    if not mask.any():
        raise ValueError(f'mask selects no joint (all False, shape {list(mask.shape)}); '
                         'there is nothing to evaluate')


def _check_alignment(alignment):
    """Raise ValueError unless ``alignment`` is one of ``ALIGNMENTS``."""
    if alignment not in ALIGNMENTS:
        raise ValueError(f'alignment must be one of {list(ALIGNMENTS)}, '
                         f'but got {alignment!r}')


def scale_align(pred, gt, mask=None):
    """Scale each predicted pose by the least-squares optimal factor onto ``gt``.

    Per sample n, ``s_n = sum_k <p_k, g_k> / sum_k <p_k, p_k>`` over the masked joints
    minimises ``||s·pred_n − gt_n||``. Samples without masked joints, or whose masked
    predicted joints are all at the origin, keep ``s = 1``.

    Args:
        pred, gt: array-like [N, K, 3]. mask: bool [N, K] or None (all joints).
    Returns:
        np.ndarray float64 [N, K, 3]: the scaled predictions, same unit as ``gt``.
    """
    pred, gt, mask = _check_inputs(pred, gt, mask)
    w = mask[..., None].astype(np.float64)
    num = (w * pred * gt).sum(axis=(1, 2))
    den = (w * pred * pred).sum(axis=(1, 2))
    scale = np.where(den > _EPS, num / np.maximum(den, _EPS), 1.0)
    return pred * scale[:, None, None]


def _masked_centroids(poses, w, count):
    """Mean of the masked joints per sample: poses [N,K,3], w [N,K,1] → [N,1,3]."""
    total = (w * poses).sum(axis=1, keepdims=True)
    return total / np.maximum(count, 1.0)[:, None, None]


def _best_rotation(x, y):
    """Proper rotations R [N,3,3] maximising tr(Rᵀ xᵀy) and the matching Σ-trace.

    x, y: centred, masked poses [N, K, 3] (row vectors), so ``x @ R`` ≈ ``y``.
    Returns (R [N,3,3], trace [N]) where trace = tr(D·S), S the singular values of
    xᵀy and D = diag(1, 1, ±1) the reflection correction.
    """
    u, s, vt = np.linalg.svd(np.swapaxes(x, 1, 2) @ y)
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    d = np.ones_like(s)
    d[:, -1] = sign
    rot = (u * d[:, None, :]) @ vt
    return rot, (d * s).sum(axis=1)


def procrustes_align(pred, gt, mask=None):
    """Similarity-align each predicted pose onto ``gt`` (rotation, scale, translation).

    Fitted per sample on its masked joints by SVD (Umeyama / orthogonal Procrustes),
    with reflections excluded (the fitted rotation always has determinant +1), then
    applied to all K joints of the sample. A sample whose masked joints collapse to a
    single point keeps scale 1 and identity rotation (only translated); a sample with
    no masked joint is returned unchanged.

    Args:
        pred, gt: array-like [N, K, 3]. mask: bool [N, K] or None (all joints).
    Returns:
        np.ndarray float64 [N, K, 3]: the aligned predictions, same unit as ``gt``.
    """
    pred, gt, mask = _check_inputs(pred, gt, mask)
    w = mask[..., None].astype(np.float64)
    count = mask.sum(axis=1).astype(np.float64)
    mu_p = _masked_centroids(pred, w, count)
    mu_g = _masked_centroids(gt, w, count)
    x = (pred - mu_p) * w
    y = (gt - mu_g) * w
    rot, trace = _best_rotation(x, y)
    var = (x * x).sum(axis=(1, 2))
    collapsed = var <= _EPS
    rot[collapsed] = np.eye(3)
    scale = np.where(collapsed, 1.0, trace / np.maximum(var, _EPS))
    aligned = scale[:, None, None] * ((pred - mu_p) @ rot) + mu_g
    empty = count == 0
    aligned[empty] = pred[empty]
    return aligned


def _aligned(pred, gt, mask, alignment):
    """Return ``pred`` aligned to ``gt`` as ``alignment`` says (float64 [N, K, 3])."""
    if alignment == 'scale':
        return scale_align(pred, gt, mask)
    if alignment == 'procrustes':
        return procrustes_align(pred, gt, mask)
    return pred


def _joint_errors(pred, gt, mask, alignment):
    """Validated per-joint Euclidean errors [N, K] (input unit) and mask bool [N, K]."""
    _check_alignment(alignment)
    pred, gt, mask = _check_inputs(pred, gt, mask)
    _require_some(mask)
    # joints left out by the mask may hold NaN (not counted): keep them out of the fit
    pred, gt = (np.where(mask[..., None], p, 0.0) for p in (pred, gt))
    aligned = _aligned(pred, gt, mask, alignment)
    return np.linalg.norm(aligned - gt, axis=-1), mask


def mpjpe(pred, gt, mask=None, alignment='none'):
    """Mean per-joint position error, pooled over all masked (sample, joint) pairs.

    Args:
        pred, gt: array-like [N, K, 3] in one length unit.
        mask: bool array-like [N, K] or None (all joints count).
        alignment: ``'none'`` (MPJPE), ``'scale'`` (N-MPJPE) or ``'procrustes'``
            (PA-MPJPE); see the module docstring.
    Returns:
        float: the mean Euclidean distance over masked joints, in the input unit.
    Raises:
        ValueError: on a bad shape, an unknown alignment, or an all-False mask.
    """
    errors, mask = _joint_errors(pred, gt, mask, alignment)
    return float(errors[mask].mean())


def mpjpe_per_joint(pred, gt, mask=None, alignment='none'):
    """Mean position error of each joint over the samples where it is masked.

    Args: as :func:`mpjpe`.
    Returns:
        np.ndarray float64 [K]: per-joint mean distance in the input unit; NaN for a
        joint that is masked in no sample.
    Raises:
        ValueError: as :func:`mpjpe`.
    """
    errors, mask = _joint_errors(pred, gt, mask, alignment)
    count = mask.sum(axis=0)
    total = np.where(mask, errors, 0.0).sum(axis=0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def accel_errors(pred: ArrayLike, gt: ArrayLike,
                 mask: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Acceleration errors of one sequence, frame by frame (VIBE/HMR's ``accel_error``).

    The acceleration of a joint at frame t is the second difference
    ``x[t-1] − 2·x[t] + x[t+1]``; its error is ``‖accel_pred − accel_gt‖``, in the
    input unit per frame² (× 1000 for mm from metres). Frames must be consecutive and
    evenly spaced (one clip, or one run of a sequence).

    Args:
        pred, gt: array-like [T, K, C] (C = 2 or 3), T >= 3 consecutive frames.
        mask: bool [T, K] or None (all valid); an acceleration counts only when its
            joint is valid in all three frames.
    Returns:
        (errors float64 [T-2, K], valid bool [T-2, K]): row i is frame i + 1; errors
        where ``valid`` is False are 0.
    Raises:
        ValueError: a bad shape, fewer than 3 frames, or NaN/Inf in a valid joint.
    """
    pred = np.asarray(pred, dtype=np.float64)
    dim = pred.shape[-1] if pred.ndim == 3 and pred.shape[-1] in (2, 3) else 3
    pred = as_points('pred', pred, dim)
    gt = as_points('gt', gt, dim, expected_shape=pred.shape)
    mask = as_mask(mask, pred.shape[0], pred.shape[1])
    if len(pred) < 3:
        raise ValueError(f'the acceleration error needs at least 3 consecutive frames, '
                         f'got {len(pred)}')
    for name, poses in (('pred', pred), ('gt', gt)):
        bad = ~np.isfinite(poses).all(axis=-1) & mask
        if bad.any():
            raise ValueError(f'{name} holds NaN or Inf in {int(bad.any(axis=1).sum())} '
                             f'frames at valid joints, first frame '
                             f'{int(np.flatnonzero(bad.any(axis=1))[0])}')
    pred, gt = (np.where(mask[..., None], p, 0.0) for p in (pred, gt))
    valid = mask[:-2] & mask[1:-1] & mask[2:]

    def accel(x):
        return x[:-2] - 2 * x[1:-1] + x[2:]

    errors = np.linalg.norm(accel(pred) - accel(gt), axis=-1)
    return np.where(valid, errors, 0.0), valid


def accel_error(pred: ArrayLike, gt: ArrayLike, mask: Optional[ArrayLike] = None) -> float:
    """Mean acceleration error over the valid (frame, joint) pairs of one sequence.

    Args: as :func:`accel_errors`.
    Returns:
        float: input unit per frame² (mm/frame² for millimetres).
    Raises:
        ValueError: as :func:`accel_errors`, or when no acceleration is valid.
    """
    errors, valid = accel_errors(pred, gt, mask)
    _require_some(valid)
    return float(errors[valid].mean())
