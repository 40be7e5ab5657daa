"""Multi-person tracking for video inference: stable track ids across frames.

A tracker (registry ``TRACKERS``) takes one frame's detections at a time —
``update(boxes [N, 4] xyxy px, scores [N], keypoints [N, K, 2] px or None,
keypoint_scores [N, K] or None) -> track_ids int64 [N]`` — and ``reset()`` starts a new
video. :class:`PoseTracker` is the default. ``boxes_from_keypoints`` proposes the boxes
of the frames between detector runs ("detector every k frames") from the tracked poses
of the frame before.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from hpekit.core.boxes import pairwise_box_iou
from hpekit.registry import TRACKERS

# OKS sigma of every keypoint when the metainfo's are not given: about the mean of
# COCO's 17 keypoint sigmas (0.067).
DEFAULT_OKS_SIGMA = 0.07
# Weight of the newest displacement in a track's velocity (an exponential moving
# average): low enough that box noise does not swing the prediction when people cross.
VELOCITY_SMOOTHING = 0.2


def _detections(boxes, scores, keypoints, keypoint_scores):
    """Validated (boxes float64 [N, 4], scores [N], keypoints [N, K, 2] or None,
    keypoint scores [N, K] or None)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'boxes must have shape [N, 4] (x1, y1, x2, y2 px), got '
                         f'{list(boxes.shape)}')
    bad = ~np.isfinite(boxes).all(axis=1) | (boxes[:, 2] <= boxes[:, 0]) | \
        (boxes[:, 3] <= boxes[:, 1])
    if bad.any():
        raise ValueError(f'boxes must be finite with x2 > x1 and y2 > y1; bad boxes at '
                         f'{np.flatnonzero(bad).tolist()}: {boxes[bad].tolist()}')
    n = len(boxes)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.shape != (n,):
        raise ValueError(f'scores must have shape [N] = [{n}], got {list(scores.shape)}')
    if keypoints is None:
        if keypoint_scores is not None:
            raise ValueError('keypoint_scores given without keypoints')
        return boxes, scores, None, None
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.size == 0 and n == 0:
        keypoints = keypoints.reshape(0, 0, 2)
    if keypoints.ndim != 3 or keypoints.shape[0] != n or keypoints.shape[2] != 2:
        raise ValueError(f'keypoints must have shape [N, K, 2] with N = {n} (one per box), '
                         f'got {list(keypoints.shape)}')
    if keypoint_scores is None:
        keypoint_scores = np.ones(keypoints.shape[:2])
    keypoint_scores = np.asarray(keypoint_scores, dtype=np.float64)
    if keypoint_scores.shape != keypoints.shape[:2]:
        raise ValueError(f'keypoint_scores must have shape [N, K] = '
                         f'{list(keypoints.shape[:2])}, got {list(keypoint_scores.shape)}')
    return boxes, scores, keypoints, keypoint_scores


class BaseTracker:
    """The tracker interface: per frame detections in, one track id per detection out."""

    def update(self, boxes: Any, scores: Any, keypoints: Optional[Any] = None,
               keypoint_scores: Optional[Any] = None) -> np.ndarray:
        """Assign track ids to one frame's detections.

        Args:
            boxes: [N, 4] xyxy px (N may be 0). scores: [N] detection scores.
            keypoints: [N, K, 2] px or None. keypoint_scores: [N, K] or None.
        Returns:
            np.ndarray int64 [N]: the track id of each detection (>= 0).
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every track (a new video starts); ids start again at 0."""
        raise NotImplementedError


@TRACKERS.register_module()
class PoseTracker(BaseTracker):
    """Tracks people by box IoU and keypoint OKS with a Hungarian assignment.

    Each frame, every track (live or lost) is compared with every detection:

    - its box, moved by the track's velocity (``motion``: an exponential moving
      average, weight ``VELOCITY_SMOOTHING``, of its box's displacement per frame, times
      the frames since it was last seen), against the detection's box by IoU;
    - when both have keypoints (the same K), its keypoints (moved the same way) against
      the detection's by OKS, ``mean_k exp(-d_k² / (2·area·(2σ_k)²))`` over the
      keypoints whose scores are >= ``keypoint_thr`` in both (area: the mean of the two
      boxes' areas, px²); the similarity is then ``(1 − oks_weight)·IoU +
      oks_weight·OKS``, else the IoU alone.

    ``scipy.optimize.linear_sum_assignment`` maximises the total similarity; a pair
    below ``min_similarity`` is not matched. A matched track takes the detection's box
    and keypoints; an unmatched detection starts a new track with the next id (ids are
    never reused); a track unmatched for more than ``max_lost`` frames is retired, so a
    person back within ``max_lost`` frames keeps their id. Detection scores are not
    used (filter the detections before).

    Args:
        min_similarity (float): the lowest similarity of a match, in [0, 1].
        max_lost (int): frames a track may go unmatched before it is retired.
        oks_weight (float): weight of OKS against IoU when keypoints are given.
        sigmas (sequence[float], optional): the K keypoints' OKS sigmas (the dataset
            metainfo's ``sigmas``); default ``DEFAULT_OKS_SIGMA`` for every keypoint.
        keypoint_thr (float): keypoint score from which a keypoint counts in OKS.
        motion (bool): predict a track's box and keypoints by its velocity.
    """

    def __init__(self, min_similarity: float = 0.3, max_lost: int = 30,
                 oks_weight: float = 0.5, sigmas: Optional[Sequence[float]] = None,
                 keypoint_thr: float = 0.3, motion: bool = True) -> None:
        if not 0 <= min_similarity <= 1:
            raise ValueError(f'min_similarity must be in [0, 1], got {min_similarity!r}')
        if isinstance(max_lost, bool) or not isinstance(max_lost, (int, np.integer)) \
                or max_lost < 0:
            raise ValueError(f'max_lost must be an int >= 0, got {max_lost!r}')
        if not 0 <= oks_weight <= 1:
            raise ValueError(f'oks_weight must be in [0, 1], got {oks_weight!r}')
        self.sigmas = None if sigmas is None or len(sigmas) == 0 else \
            np.asarray(sigmas, dtype=np.float64)
        if self.sigmas is not None and not (self.sigmas > 0).all():
            raise ValueError(f'sigmas must be > 0, got {self.sigmas.tolist()}')
        self.min_similarity, self.max_lost = float(min_similarity), int(max_lost)
        self.oks_weight, self.keypoint_thr = float(oks_weight), float(keypoint_thr)
        self.motion = bool(motion)
        self.reset()

    def reset(self) -> None:
        self.tracks: List[Dict[str, Any]] = []
        self.frame = -1
        self._next_id = 0

    def update(self, boxes: Any, scores: Any, keypoints: Optional[Any] = None,
               keypoint_scores: Optional[Any] = None) -> np.ndarray:
        boxes, scores, keypoints, keypoint_scores = _detections(
            boxes, scores, keypoints, keypoint_scores)
        self.frame += 1
        self.tracks = [t for t in self.tracks if self.frame - t['frame'] <= self.max_lost + 1]
        similarity = self.similarity(boxes, keypoints, keypoint_scores)
        ids = np.full(len(boxes), -1, np.int64)
        if similarity.size:
            rows, cols = linear_sum_assignment(-similarity)
            for r, c in zip(rows, cols):
                if similarity[r, c] >= self.min_similarity:
                    ids[c] = self.tracks[r]['id']
                    self._follow(self.tracks[r], boxes[c], keypoints, keypoint_scores, c)
        for c in np.flatnonzero(ids < 0):
            ids[c] = self._start(boxes[c], keypoints, keypoint_scores, c)
        return ids

    def similarity(self, boxes: np.ndarray, keypoints: Optional[np.ndarray],
                   keypoint_scores: Optional[np.ndarray]) -> np.ndarray:
        """Similarity [tracks, N] in [0, 1] of the tracks (predicted to this frame) and
        the detections (see the class docstring)."""
        if not self.tracks or not len(boxes):
            return np.zeros((len(self.tracks), len(boxes)))
        shifts = np.stack([self._shift(t) for t in self.tracks])
        track_boxes = np.stack([t['box'] for t in self.tracks]) + shifts
        sim = pairwise_box_iou(track_boxes, boxes)
        if keypoints is None or self.oks_weight == 0:
            return sim
        for r, track in enumerate(self.tracks):
            if track['keypoints'] is None or track['keypoints'].shape != keypoints.shape[1:]:
                continue
            oks = self._oks(track, shifts[r], boxes, keypoints, keypoint_scores)
            both = np.isfinite(oks)
            sim[r, both] = (1 - self.oks_weight) * sim[r, both] + self.oks_weight * oks[both]
        return sim

    def _shift(self, track: Dict[str, Any]) -> np.ndarray:
        """The box displacement [4] predicted from the track's last update to now."""
        if not self.motion:
            return np.zeros(4)
        return track['velocity'] * (self.frame - track['frame'])

    def _oks(self, track, shift, boxes, keypoints, keypoint_scores) -> np.ndarray:
        """OKS [N] of the track's moved keypoints with each detection's (NaN where no
        keypoint is visible in both)."""
        k = keypoints.shape[1]
        sigmas = self.sigmas if self.sigmas is not None else np.full(k, DEFAULT_OKS_SIGMA)
        if len(sigmas) != k:
            raise ValueError(f'PoseTracker: {len(sigmas)} sigmas for {k} keypoints')
        centre_shift = (shift[:2] + shift[2:]) / 2
        mine = track['keypoints'] + centre_shift
        area_mine = np.prod(track['box'][2:] - track['box'][:2])
        areas = (np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) + area_mine) / 2
        d2 = ((keypoints - mine[None]) ** 2).sum(axis=-1)
        e = np.exp(-d2 / (2 * areas[:, None] * (2 * sigmas[None]) ** 2))
        visible = (keypoint_scores >= self.keypoint_thr) & \
            (track['keypoint_scores'] >= self.keypoint_thr)[None] & np.isfinite(d2)
        count = visible.sum(axis=1)
        total = np.where(visible, e, 0.0).sum(axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def _follow(self, track, box, keypoints, keypoint_scores, index) -> None:
        """Move a matched track to the detection ``index``; update its velocity."""
        step = (box - track['box']) / (self.frame - track['frame'])
        track['velocity'] = step if track['hits'] == 1 else \
            track['velocity'] + VELOCITY_SMOOTHING * (step - track['velocity'])
        track['box'], track['frame'] = box.copy(), self.frame
        track['hits'] += 1
        if keypoints is not None:
            track['keypoints'] = keypoints[index].copy()
            track['keypoint_scores'] = keypoint_scores[index].copy()

    def _start(self, box, keypoints, keypoint_scores, index) -> int:
        """A new track for detection ``index``; returns its id."""
        track_id, self._next_id = self._next_id, self._next_id + 1
        self.tracks.append(dict(
            id=track_id, box=box.copy(), velocity=np.zeros(4), frame=self.frame, hits=1,
            keypoints=None if keypoints is None else keypoints[index].copy(),
            keypoint_scores=None if keypoints is None else keypoint_scores[index].copy()))
        return track_id


def boxes_from_keypoints(keypoints: Any, keypoint_scores: Optional[Any] = None,
                         score_thr: float = 0.3, margin: float = 0.25,
                         image_size: Optional[Tuple[int, int]] = None,
                         min_keypoints: int = 2) -> Tuple[np.ndarray, np.ndarray]:
    """Person boxes from poses: for the frames between two detector runs, the boxes
    of frame t + 1 proposed from the tracked keypoints of frame t.

    Each box is the tight box of the person's visible keypoints (score >= score_thr,
    finite), grown by ``margin`` × its width and height on every side (the tight box
    misses the top of the head, the feet and the body's width), then clipped to the
    image when ``image_size`` is given.

    Args:
        keypoints: [N, K, 2] px. keypoint_scores: [N, K] or None (all visible).
        score_thr: the lowest score of a visible keypoint.
        margin: the fraction of the tight box's side added on each side.
        image_size: (width, height) px, or None (no clipping).
        min_keypoints: the fewest visible keypoints a box is made from.
    Returns:
        (boxes float64 [N, 4] xyxy px, valid bool [N]): ``valid`` is False (and the box
        NaN) for a person with fewer than ``min_keypoints`` visible keypoints, or whose
        box is empty after clipping.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[2] != 2:
        raise ValueError(f'keypoints must have shape [N, K, 2], got {list(keypoints.shape)}')
    if keypoint_scores is None:
        keypoint_scores = np.ones(keypoints.shape[:2])
    keypoint_scores = np.asarray(keypoint_scores, dtype=np.float64)
    if keypoint_scores.shape != keypoints.shape[:2]:
        raise ValueError(f'keypoint_scores must have shape {list(keypoints.shape[:2])}, '
                         f'got {list(keypoint_scores.shape)}')
    if margin < 0:
        raise ValueError(f'margin must be >= 0, got {margin!r}')
    visible = (keypoint_scores >= score_thr) & np.isfinite(keypoints).all(axis=-1)
    valid = visible.sum(axis=1) >= max(min_keypoints, 1)
    boxes = np.full((len(keypoints), 4), np.nan)
    for n in np.flatnonzero(valid):
        points = keypoints[n, visible[n]]
        low, high = points.min(axis=0), points.max(axis=0)
        grow = margin * (high - low)
        boxes[n] = np.concatenate([low - grow, high + grow])
    if image_size is not None:
        width, height = image_size
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    with np.errstate(invalid='ignore'):
        valid &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes[~valid] = np.nan
    return boxes, valid
