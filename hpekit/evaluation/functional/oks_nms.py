"""Non-maximum suppression of one image's predicted people by OKS (as MMPose's
``CocoMetric(nms_mode='oks_nms')``, its default): pure numpy."""
from typing import List

import numpy as np
from numpy.typing import ArrayLike


def oks_overlaps(person: np.ndarray, others: np.ndarray, area: float, other_areas: np.ndarray,
                 sigmas: np.ndarray) -> np.ndarray:
    """The object keypoint similarity of one person with each of several others.

    Args:
        person: [K, 3] (x, y, score) image px (scores unused).
        others: [N, K, 3].
        area, other_areas: the people's areas, px² (scalar, [N]); their mean scales the
            distances.
        sigmas: [K], the keypoints' OKS sigmas.

    Returns:
        [N] float32: ``mean_k exp(-d_k² / (2 · (2σ_k)² · mean area))``, computed in the
        dtype of the inputs (float32 keypoints give float32 arithmetic, as MMPose's).
    """
    variances = (sigmas * 2) ** 2
    dx = others[..., 0] - person[None, :, 0]
    dy = others[..., 1] - person[None, :, 1]
    scale = (area + other_areas) / 2 + np.spacing(1)
    e = (dx ** 2 + dy ** 2) / variances / scale[:, None] / 2
    return (np.sum(np.exp(-e), axis=1) / person.shape[0]).astype(np.float32)


def oks_nms(keypoints: ArrayLike, scores: ArrayLike, areas: ArrayLike, threshold: float,
            sigmas: ArrayLike) -> List[int]:
    """Greedy OKS-NMS: the indices of the people kept, best first.

    Repeatedly keep the highest-scoring person left and drop every other whose OKS
    with it exceeds ``threshold`` (MMPose's ``oks_nms`` rule: kept when OKS <=
    threshold; ties in score resolved by numpy's ``argsort`` order, as MMPose's).

    Args:
        keypoints: [N, K, 3] (x, y, keypoint score), image px.
        scores: [N] person scores.
        areas: [N] person areas, px² (MMPose: the padded crop box's w·h).
        threshold (float): OKS above which a lower-scoring person is dropped (0.9).
        sigmas: [K] OKS sigmas of the keypoints (the dataset metainfo's).

    Returns:
        list of int indices into the N people.
    """
    keypoints = np.asarray(keypoints)
    scores, areas = np.asarray(scores), np.asarray(areas)
    sigmas = np.asarray(sigmas)
    order = scores.argsort()[::-1]
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlaps = oks_overlaps(keypoints[best], keypoints[rest], areas[best], areas[rest],
                                sigmas)
        order = rest[overlaps <= threshold]
    return keep
