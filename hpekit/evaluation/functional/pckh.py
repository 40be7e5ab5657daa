"""PCKh (percentage of correct keypoints, head-normalised), in numpy.

Conventions, as in the official MPII evaluation (its MATLAB code and the Python port
used by HRNet / MMPose):

- A joint counts only where its ``mask`` (MPII: ``jnt_visible`` = annotated) is True.
- Head size = ``SC_BIAS`` (0.6) × the diagonal of the head box, in pixels.
- A joint is correct iff ``distance / head_size <= thr`` (the official code compares
  the normalised distance with ``<=``; a prediction with a non-finite coordinate is
  never correct).
- Accuracies are in percent (0–100), as in MPII's tables.

The head sizes and MPII's .mat files: ``hpekit.datasets.mpii_mat``.
"""
import numpy as np

from hpekit.evaluation.functional._checks import as_mask, as_points

# --------------------------------------------------------------------------- PCKh


def _as_head_size(head_size, n):
    """``head_size`` as float64 [N]; ValueError on a bad shape."""
    arr = np.asarray(head_size, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f'head_size must have shape [N] = [{n}], '
                         f'but got {list(arr.shape)}')
    return arr


def _check_thr(thr):
    """Raise ValueError unless ``thr`` is a finite number > 0."""
    if not np.isfinite(thr) or thr <= 0:
        raise ValueError(f'thr must be a finite number > 0, but got {thr!r}')


def _check_head_sizes(head_size, mask):
    """ValueError naming the first sample with a masked joint and a bad head size."""
    bad = ~(np.isfinite(head_size) & (head_size > 0)) & mask.any(axis=1)
    if bad.any():
        idx = int(np.flatnonzero(bad)[0])
        raise ValueError(f'sample {idx} has head_size {head_size[idx]!r} (must be finite '
                         f'and > 0) but has joints to evaluate; {int(bad.sum())} '
                         'sample(s) affected')


def _check_gt_finite(gt, mask):
    """ValueError naming the first (sample, joint) that is masked but has no finite gt."""
    bad = ~np.isfinite(gt).all(axis=-1) & mask
    if bad.any():
        idx, joint = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f'sample {idx}, joint {joint}: gt {gt[idx, joint].tolist()} is '
                         'not finite but the joint is masked for evaluation')


def pckh_counts(pred, gt, mask, head_size, thr=0.5):
    """Per-joint numbers of correct and of evaluated (masked) instances.

    Args:
        pred, gt: array-like [N, K, 2], pixels (one convention for both).
        mask: bool array-like [N, K] (True = the joint counts) or None (all count).
        head_size: array-like [N], pixels (0.6 × head-box diagonal, see
            :func:`mpii_head_sizes`).
        thr: threshold as a fraction of the head size (0.5 for PCKh@0.5).
    Returns:
        (correct [K] int64, visible [K] int64): per joint, the masked instances with
        ``distance / head_size <= thr`` and all masked instances.
    Raises:
        ValueError: on a bad shape or ``thr``; a sample with a masked joint and a head
        size that is ≤ 0 or not finite (the message names the sample index); a masked
        joint whose gt is not finite.
    """
    _check_thr(thr)
    pred = as_points('pred', pred, 2)
    gt = as_points('gt', gt, 2, expected_shape=pred.shape)
    mask = as_mask(mask, pred.shape[0], pred.shape[1])
    head_size = _as_head_size(head_size, pred.shape[0])
    _check_head_sizes(head_size, mask)
    _check_gt_finite(gt, mask)
    safe_size = np.where(mask.any(axis=1), head_size, 1.0)
    with np.errstate(invalid='ignore'):
        scaled = np.linalg.norm(pred - gt, axis=-1) / safe_size[:, None]
        correct = (scaled <= thr) & mask
    return correct.sum(axis=0), mask.sum(axis=0)


def pckh(pred, gt, mask, head_size, thr=0.5):
    """PCKh of each joint and their plain mean, in percent.

    Args: as :func:`pckh_counts` (pred, gt [N, K, 2] px; mask [N, K]; head_size [N] px).
    Returns:
        (per_joint, mean): ``per_joint`` float64 [K], percent (0–100) of the masked
        instances of each joint that are correct, -1.0 for a joint with no masked
        instance; ``mean`` float, percent, the plain (unweighted) mean of
        ``per_joint`` over the joints that have any masked instance. (MPII's table
        "Mean" weights joints by visible counts and leaves out pelvis and thorax; the
        ``MPIIPCKh`` metric computes it.)
    Raises:
        ValueError: as :func:`pckh_counts`, and when the mask selects no joint at all.
    """
    correct, visible = pckh_counts(pred, gt, mask, head_size, thr)
    if not visible.any():
        raise ValueError('mask selects no joint (all False); nothing to evaluate')
    has_any = visible > 0
    per_joint = np.full(correct.shape, -1.0)
    per_joint[has_any] = 100.0 * correct[has_any] / visible[has_any]
    return per_joint, float(per_joint[has_any].mean())
