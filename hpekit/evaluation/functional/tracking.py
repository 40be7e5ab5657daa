"""Multi-object tracking metrics from their definitions, in pure numpy (+ scipy's
Hungarian solver): identity switches (CLEAR MOT, Bernardin & Stiefelhagen 2008) and
IDF1 (Ristani et al. 2016).

A sequence is given per frame: ground truth ``gt_ids[t]`` int [n_t] and ``gt_boxes[t]``
[n_t, 4] xyxy px; predictions ``pred_ids[t]`` [m_t] and ``pred_boxes[t]`` [m_t, 4]. A
prediction can match a ground-truth box of its frame when their IoU is >= ``iou_thr``
(0.5).

- **Identity switches** (and MOTA's counts): frame by frame, a ground-truth object keeps
  the prediction it was matched to last when their IoU still passes; the others are
  matched by the Hungarian algorithm on IoU. A switch is counted when an object is
  matched to a prediction id other than the one it was last matched to.
- **IDF1**: one global one-to-one matching of ground-truth trajectories to predicted
  trajectories (Hungarian) maximising the identity true positives IDTP — the frames
  where a matched pair is present together with IoU >= ``iou_thr``. Then IDFN = gt
  boxes − IDTP, IDFP = predicted boxes − IDTP, IDF1 = 2·IDTP / (2·IDTP + IDFP + IDFN).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from hpekit.core.boxes import pairwise_box_iou


def _frames(name: str, ids: Sequence, boxes: Sequence) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Per frame (ids int64 [n], boxes float64 [n, 4]); ValueError naming the frame."""
    if len(ids) != len(boxes):
        raise ValueError(f'{name}: {len(ids)} frames of ids but {len(boxes)} of boxes')
    frames = []
    for t, (frame_ids, frame_boxes) in enumerate(zip(ids, boxes)):
        frame_ids = np.asarray(frame_ids).reshape(-1)
        frame_boxes = np.asarray(frame_boxes, dtype=np.float64)
        if frame_boxes.size == 0:
            frame_boxes = frame_boxes.reshape(0, 4)
        if frame_boxes.shape != (len(frame_ids), 4):
            raise ValueError(f'{name}: frame {t}: boxes must have shape [n, 4] = '
                             f'{[len(frame_ids), 4]} (one per id), got '
                             f'{list(frame_boxes.shape)}')
        if len(np.unique(frame_ids)) != len(frame_ids):
            raise ValueError(f'{name}: frame {t}: an id appears twice: {frame_ids.tolist()}')
        frames.append((frame_ids.astype(np.int64), frame_boxes))
    return frames


def _both(gt_ids, gt_boxes, pred_ids, pred_boxes):
    """Validated per-frame gt and predictions, of the same number of frames."""
    gt = _frames('gt', gt_ids, gt_boxes)
    pred = _frames('pred', pred_ids, pred_boxes)
    if len(gt) != len(pred):
        raise ValueError(f'gt has {len(gt)} frames but pred has {len(pred)}')
    return gt, pred


def clear_mot_counts(gt_ids: Sequence, gt_boxes: Sequence, pred_ids: Sequence,
                     pred_boxes: Sequence, iou_thr: float = 0.5) -> Dict[str, float]:
    """Identity switches and the other CLEAR MOT counts (see the module docstring).

    Returns:
        dict: 'id_switches', 'matches', 'false_negatives', 'false_positives',
        'num_gt' (ground-truth boxes), 'mota' = 1 − (FN + FP + switches) / num_gt
        (NaN without ground truth).
    """
    gt, pred = _both(gt_ids, gt_boxes, pred_ids, pred_boxes)
    last = {}          # gt id → the prediction id it was matched to last
    switches = matches = fn = fp = num_gt = 0
    for (g_ids, g_boxes), (p_ids, p_boxes) in zip(gt, pred):
        iou = pairwise_box_iou(g_boxes, p_boxes)
        pairs = []
        free_g, free_p = list(range(len(g_ids))), list(range(len(p_ids)))
        p_index = {int(p): j for j, p in enumerate(p_ids)}
        for i, g in enumerate(g_ids):      # keep last frame's correspondences
            j = p_index.get(last.get(int(g), None))
            if j is not None and j in free_p and iou[i, j] >= iou_thr:
                pairs.append((i, j))
                free_g.remove(i)
                free_p.remove(j)
        if free_g and free_p:
            sub = iou[np.ix_(free_g, free_p)]
            rows, cols = linear_sum_assignment(-sub)
            pairs += [(free_g[r], free_p[c]) for r, c in zip(rows, cols)
                      if sub[r, c] >= iou_thr]
        for i, j in pairs:
            g, p = int(g_ids[i]), int(p_ids[j])
            if g in last and last[g] != p:
                switches += 1
            last[g] = p
        matches += len(pairs)
        fn += len(g_ids) - len(pairs)
        fp += len(p_ids) - len(pairs)
        num_gt += len(g_ids)
    mota = 1 - (fn + fp + switches) / num_gt if num_gt else float('nan')
    return dict(id_switches=switches, matches=matches, false_negatives=fn,
                false_positives=fp, num_gt=num_gt, mota=float(mota))


def id_switches(gt_ids: Sequence, gt_boxes: Sequence, pred_ids: Sequence,
                pred_boxes: Sequence, iou_thr: float = 0.5) -> int:
    """The number of identity switches (CLEAR MOT); arguments as the module says."""
    return int(clear_mot_counts(gt_ids, gt_boxes, pred_ids, pred_boxes,
                                iou_thr)['id_switches'])


def idf1(gt_ids: Sequence, gt_boxes: Sequence, pred_ids: Sequence, pred_boxes: Sequence,
         iou_thr: float = 0.5) -> Dict[str, float]:
    """IDF1 with IDP, IDR and the identity counts (see the module docstring).

    Returns:
        dict: 'idf1', 'idp' = IDTP / predicted boxes, 'idr' = IDTP / gt boxes (each
        NaN when its denominator is 0), 'idtp', 'idfp', 'idfn'.
    """
    gt, pred = _both(gt_ids, gt_boxes, pred_ids, pred_boxes)
    g_names = sorted({int(i) for ids, _ in gt for i in ids})
    p_names = sorted({int(i) for ids, _ in pred for i in ids})
    g_col = {g: k for k, g in enumerate(g_names)}
    p_col = {p: k for k, p in enumerate(p_names)}
    together = np.zeros((len(g_names), len(p_names)), np.int64)
    for (g_ids, g_boxes), (p_ids, p_boxes) in zip(gt, pred):
        hits = np.argwhere(pairwise_box_iou(g_boxes, p_boxes) >= iou_thr)
        for i, j in hits:
            together[g_col[int(g_ids[i])], p_col[int(p_ids[j])]] += 1
    idtp = 0
    if together.size:
        rows, cols = linear_sum_assignment(-together)
        idtp = int(together[rows, cols].sum())
    num_gt = sum(len(ids) for ids, _ in gt)
    num_pred = sum(len(ids) for ids, _ in pred)
    idfn, idfp = num_gt - idtp, num_pred - idtp

    def ratio(num, den):
        return float(num / den) if den else float('nan')

    return dict(idf1=ratio(2 * idtp, num_gt + num_pred), idp=ratio(idtp, num_pred),
                idr=ratio(idtp, num_gt), idtp=idtp, idfp=idfp, idfn=idfn)


def tracking_metrics(gt_ids: Sequence, gt_boxes: Sequence, pred_ids: Sequence,
                     pred_boxes: Sequence, iou_thr: float = 0.5) -> Dict[str, float]:
    """:func:`clear_mot_counts` and :func:`idf1` in one dict."""
    result = clear_mot_counts(gt_ids, gt_boxes, pred_ids, pred_boxes, iou_thr)
    result.update(idf1(gt_ids, gt_boxes, pred_ids, pred_boxes, iou_thr))
    return result
