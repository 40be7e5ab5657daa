"""Non-maximum suppression of xyxy boxes, in numpy (no compiled ops, no torch).

The rule is mmcv's ``nms`` (what MMDetection's RTMDet uses, ``offset=0``): boxes are
visited in descending score order; a box is kept unless a kept box of higher score
overlaps it with IoU **strictly greater** than ``iou_threshold``. IoU is intersection /
union with widths ``x2 - x1 + offset`` (``offset=1``: the +1 px convention of MMPose's
``nms``, which its demos run on the person boxes), computed in the boxes' dtype; two
empty boxes have IoU NaN, which suppresses nothing (as in mmcv).
``batched_nms`` suppresses only within a class (mmcv's ``batched_nms``), and returns
the kept boxes in descending score order.

Ties in score keep the input order (a stable sort).
"""
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike


def box_iou(box: ArrayLike, boxes: ArrayLike, offset: float = 0) -> np.ndarray:
    """IoU of one xyxy box with many.

    Args:
        box: [4] (x1, y1, x2, y2).
        boxes: [N, 4] in the same convention.
        offset: added to every width and height (0, or 1 for inclusive pixel boxes).

    Returns:
        [N] IoU in [0, 1] (NaN where both boxes are empty), the boxes' dtype.
    """
    box, boxes = np.asarray(box), np.asarray(boxes)
    width = np.maximum(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
                       + offset, 0)
    height = np.maximum(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
                        + offset, 0)
    inter = width * height
    area = (box[2] - box[0] + offset) * (box[3] - box[1] + offset)
    areas = (boxes[:, 2] - boxes[:, 0] + offset) * (boxes[:, 3] - boxes[:, 1] + offset)
    with np.errstate(divide='ignore', invalid='ignore'):
        return inter / (area + areas - inter)


def _check(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
           offset: float = 0) -> None:
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'boxes must be [N, 4] (x1, y1, x2, y2), got shape {boxes.shape}')
    if scores.shape != (len(boxes), ):
        raise ValueError(f'scores must be [N] with N = {len(boxes)} boxes, got shape '
                         f'{scores.shape}')
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f'iou_threshold must be in [0, 1], got {iou_threshold}')
    if offset not in (0, 1):
        raise ValueError(f'offset must be 0 or 1, got {offset}')


def nms(boxes: ArrayLike, scores: ArrayLike, iou_threshold: float,
        offset: float = 0) -> np.ndarray:
    """Greedy NMS over all boxes (class-agnostic).

    Args:
        boxes: [N, 4] xyxy (any unit; float32 as a model gives them).
        scores: [N].
        iou_threshold: a box overlapping a kept box with IoU > this is dropped.
        offset: see ``box_iou`` (0: mmcv's, MMDetection's; 1: MMPose's ``nms``).

    Returns:
        int64 [K]: indices into ``boxes`` of the kept boxes, highest score first.
    """
    boxes, scores = np.asarray(boxes), np.asarray(scores)
    _check(boxes, scores, iou_threshold, offset)
    order = np.argsort(-scores, kind='stable')
    ranked = boxes[order]
    suppressed = np.zeros(len(order), bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = np.flatnonzero(~suppressed[i + 1:]) + i + 1
        if rest.size:
            suppressed[rest[box_iou(ranked[i], ranked[rest], offset) > iou_threshold]] = True
    return order[np.asarray(keep, np.int64)].astype(np.int64)


def batched_nms(boxes: ArrayLike, scores: ArrayLike, labels: ArrayLike,
                iou_threshold: float, class_agnostic: bool = False,
                max_num: Optional[int] = None) -> np.ndarray:
    """NMS within each class (boxes of different labels never suppress each other).

    Args:
        boxes: [N, 4] xyxy.
        scores: [N].
        labels: [N] integer class of each box.
        iou_threshold: see ``nms``.
        class_agnostic: one NMS over all boxes, ignoring the labels.
        max_num: keep at most this many (after NMS, highest scores); None: all.

    Returns:
        int64 [K]: indices of the kept boxes, highest score first (ties: input order).
    """
    boxes, scores, labels = np.asarray(boxes), np.asarray(scores), np.asarray(labels)
    _check(boxes, scores, iou_threshold)
    if labels.shape != scores.shape:
        raise ValueError(f'labels must be [N] with N = {len(boxes)} boxes, got shape '
                         f'{labels.shape}')
    if class_agnostic:
        keep = nms(boxes, scores, iou_threshold)
    else:
        kept = [np.flatnonzero(labels == label)[nms(boxes[labels == label],
                                                     scores[labels == label],
                                                     iou_threshold)]
                for label in np.unique(labels)]
        keep = np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)
        keep = keep[np.argsort(-scores[keep], kind='stable')]
    return keep[:max_num].astype(np.int64)
