"""2D keypoint metrics of any keypoint set, per keypoint, in numpy: PCK, AUC, EPE and
COCO's keypoint similarity.

Shapes: N instances (people / samples), K keypoints. ``pred`` and ``gt`` are [N, K, 2]
image px in one convention; ``mask`` [N, K] is True (nonzero) where the ground truth
is labelled and counts. The definitions follow MMPose's ``keypoint_eval.py``
(``keypoint_pck_accuracy``, ``keypoint_auc``, ``keypoint_epe``) and pycocotools'
``computeOks``; every function also returns its per-keypoint values, NaN for a
keypoint that no instance labels.
"""
from typing import Tuple

import numpy as np
from numpy.typing import ArrayLike

from hpekit.evaluation.functional._checks import as_mask, as_points


def _distances(pred: ArrayLike, gt: ArrayLike, mask: ArrayLike
               ) -> Tuple[np.ndarray, np.ndarray]:
    """(Euclidean distances float64 [N, K] px, mask bool [N, K]) after shape checks."""
    gt = as_points('gt', gt, 2)
    pred = as_points('pred', pred, 2, expected_shape=gt.shape)
    valid = as_mask(None if mask is None else np.asarray(mask) > 0, *gt.shape[:2])
    return np.linalg.norm(pred - gt, axis=-1), valid


def _per_keypoint_mean(values: np.ndarray, valid: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(mean of ``values`` [N, K] over the valid instances of each keypoint [K], NaN
    where none is valid; counts int64 [K])."""
    counts = valid.sum(axis=0)
    sums = np.where(valid, values, 0.0).sum(axis=0)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), counts


def pck_per_keypoint(pred: ArrayLike, gt: ArrayLike, visible: ArrayLike, norm: ArrayLike,
                     thr: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per-keypoint PCK: (accuracy float64 [K] (NaN where no instance counts), counts [K]).

    Args:
        pred, gt: float [N, K, 2] px.
        visible: [N, K], nonzero where the ground truth counts.
        norm: float [N] normalising length px per sample; samples with norm <= 0 do
            not count.
        thr: a keypoint is correct when ``‖pred - gt‖ / norm < thr`` (MMPose's strict
            inequality).
    """
    dist, valid = _distances(pred, gt, visible)
    norm = np.asarray(norm, np.float64).reshape(-1)
    if norm.shape != (dist.shape[0], ):
        raise ValueError(f'norm must have shape [N] = [{dist.shape[0]}], but got '
                         f'{list(np.shape(norm))}')
    valid &= (norm > 0)[:, None]
    with np.errstate(divide='ignore', invalid='ignore'):
        correct = (dist / norm[:, None] < thr).astype(np.float64)
    return _per_keypoint_mean(correct, valid)


def keypoint_auc(pred: ArrayLike, gt: ArrayLike, mask: ArrayLike, norm_factor: float = 30.0,
                 num_thrs: int = 20) -> Tuple[float, np.ndarray]:
    """Area under the PCK curve, as MMPose's ``keypoint_auc``: (AUC, per keypoint [K]).

    The distance of each labelled keypoint is divided by ``norm_factor`` (px, the same
    for every instance); PCK at threshold t is the share of those normalised
    distances below t (strict), per keypoint. AUC of a keypoint is the mean of its PCK
    over the ``num_thrs`` thresholds ``t_i = i / num_thrs``, i = 0 … num_thrs-1 (so
    0, 0.05, … 0.95 by default: a left Riemann sum of the curve on [0, 1)); a fraction
    in [0, 1], NaN for a keypoint never labelled. The overall AUC is MMPose's: at each
    threshold the mean PCK over the labelled keypoints, averaged over the thresholds
    (equal to the mean of the per-keypoint values); 0 when no keypoint is labelled.
    """
    if not np.isfinite(norm_factor) or norm_factor <= 0:
        raise ValueError(f'norm_factor must be a finite number > 0 (px), got {norm_factor!r}')
    if int(num_thrs) != num_thrs or num_thrs < 1:
        raise ValueError(f'num_thrs must be an integer >= 1, got {num_thrs!r}')
    dist, valid = _distances(pred, gt, mask)
    norm_dist = dist / float(norm_factor)
    curves = [_per_keypoint_mean((norm_dist < i / num_thrs).astype(np.float64), valid)[0]
              for i in range(int(num_thrs))]
    per_keypoint = np.mean(curves, axis=0)
    seen = per_keypoint[~np.isnan(per_keypoint)]
    return (float(seen.mean()) if seen.size else 0.0), per_keypoint


def keypoint_epe(pred: ArrayLike, gt: ArrayLike, mask: ArrayLike
                 ) -> Tuple[float, np.ndarray, np.ndarray]:
    """End-point error, as MMPose's ``keypoint_epe``: (EPE px, per keypoint px [K],
    counts [K]).

    EPE is the mean Euclidean distance (px) over every labelled (instance, keypoint)
    pair pooled together (0 when none is labelled); per keypoint, the mean over the
    instances that label it (NaN for none). A non-finite prediction gives NaN.
    """
    dist, valid = _distances(pred, gt, mask)
    per_keypoint, counts = _per_keypoint_mean(dist, valid)
    total = int(valid.sum())
    return (float(dist[valid].sum() / total) if total else 0.0), per_keypoint, counts


def keypoint_similarity(pred: ArrayLike, gt: ArrayLike, area: float,
                        sigmas: ArrayLike) -> np.ndarray:
    """COCO's keypoint similarity of predictions with one ground-truth person.

    ``ks_k = exp(-d_k² / (2 · A · (2σ_k)²))``: d_k the distance (px) between predicted
    and ground-truth keypoint k, A the ground-truth person's area (px², COCO's
    'area', plus a tiny epsilon as pycocotools adds), σ_k the keypoint's OKS sigma
    (so the scale is s² = A and COCO's per-keypoint constant is κ_k = 2σ_k). The OKS of
    a person is the mean of ks over its labelled keypoints (pycocotools'
    ``computeOks``).

    Args:
        pred: [..., K, 2] px (any leading shape, e.g. [P, K, 2] for P candidates).
        gt: [K, 2] px.
        area: px².
        sigmas: [K].

    Returns:
        float64 [..., K] in (0, 1].
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    sigmas = np.asarray(sigmas, np.float64).reshape(-1)
    if gt.shape != (len(sigmas), 2) or pred.shape[-2:] != gt.shape:
        raise ValueError(f'keypoint_similarity: gt must be [K, 2] and pred [..., K, 2] '
                         f'with K = {len(sigmas)} sigmas, got gt {list(gt.shape)}, pred '
                         f'{list(pred.shape)}')
    sq_dist = ((pred - gt) ** 2).sum(axis=-1)
    return np.exp(-sq_dist / (2.0 * (float(area) + np.spacing(1)) * (2.0 * sigmas) ** 2))
