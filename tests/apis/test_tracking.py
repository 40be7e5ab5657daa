"""PoseTracker on synthetic multi-person sequences with known identities (people
crossing, leaving and returning), scored by identity switches and IDF1."""
import numpy as np
import pytest

from hpekit.apis.tracking import BaseTracker, PoseTracker, boxes_from_keypoints
from hpekit.evaluation.functional import tracking_metrics
from hpekit.registry import TRACKERS

# Unit skeletons (x, y) in a person of height 1, centred on x = 0, top at y = 0:
# head, shoulders, hands, hips, feet.
ARMS_UP = np.array([[0, .05], [-.15, .2], [.15, .2], [-.2, 0.], [.2, 0.], [-.1, .55],
                    [.1, .55], [-.1, 1], [.1, 1]])
ARMS_DOWN = ARMS_UP.copy()
ARMS_DOWN[3:5, 1] = .5


def scene(frames=60, noise=0.0, seed=0, same_size=False, away=range(20, 28)):
    """Per frame (ids [n], boxes [n, 4], keypoints [n, 9, 2]): person 0 walks right and
    person 1 left, crossing at frame 30 (person 1 smaller and lower unless
    ``same_size``); person 2 stands still and is not detected during ``away``."""
    rng = np.random.default_rng(seed)
    people = [dict(x0=60, vx=6, top=100, height=200, pose=ARMS_UP),
              dict(x0=420, vx=-6, top=100 if same_size else 160,
                   height=200 if same_size else 120, pose=ARMS_DOWN),
              dict(x0=300, vx=0, top=350, height=150, pose=ARMS_DOWN, away=away)]
    out = []
    for t in range(frames):
        ids, boxes, keypoints = [], [], []
        for pid, p in enumerate(people):
            if t in p.get('away', ()):
                continue
            kpts = p['pose'] * p['height'] + [p['x0'] + p['vx'] * t, p['top']]
            kpts = kpts + rng.normal(0, noise, kpts.shape)
            low, high = kpts.min(axis=0), kpts.max(axis=0)
            ids.append(pid)
            boxes.append(np.concatenate([low, high]) + 0.1 * np.r_[low - high, high - low])
            keypoints.append(kpts)
        out.append((np.array(ids), np.array(boxes), np.array(keypoints)))
    return out


def track(frames, tracker, keypoints=True):
    """The tracker's ids per frame, and the tracking metrics against the scene's ids."""
    pred = [tracker.update(boxes, np.ones(len(boxes)), kpts if keypoints else None)
            for _, boxes, kpts in frames]
    gt_ids, gt_boxes = [f[0] for f in frames], [f[1] for f in frames]
    return pred, tracking_metrics(gt_ids, gt_boxes, pred, gt_boxes)


def test_easy_scene_keeps_every_identity():
    frames = scene(noise=1.0)
    pred, metrics = track(frames, TRACKERS.build(dict(type='PoseTracker')))
    assert metrics['id_switches'] == 0 and metrics['idf1'] == 1.0
    assert metrics['false_negatives'] == metrics['false_positives'] == 0
    # the returning person (back after 8 frames, max_lost 30) keeps their id
    before, after = pred[19][frames[19][0] == 2], pred[28][frames[28][0] == 2]
    assert before.tolist() == after.tolist()
    assert sorted({int(i) for ids in pred for i in ids}) == [0, 1, 2]


def test_a_person_away_longer_than_max_lost_gets_a_new_id():
    frames = scene(away=range(10, 30))
    pred, metrics = track(frames, PoseTracker(max_lost=5))
    ids_of_2 = [int(ids[f[0] == 2][0]) for ids, f in zip(pred, frames) if 2 in f[0]]
    assert ids_of_2[0] == 2 and ids_of_2[-1] == 3      # a new id, never a reused one
    assert metrics['id_switches'] == 1 and metrics['idf1'] < 1.0
    # within max_lost the id is kept
    pred, metrics = track(frames, PoseTracker(max_lost=20))
    assert metrics['id_switches'] == 0


def test_hard_crossing_is_reported_and_keypoints_resolve_it():
    # two people of one size crossing at one height, noisy boxes: by box IoU alone
    # (no motion) identities switch; the poses (arms up vs down) keep them apart
    frames = scene(noise=4.0, same_size=True)
    _, by_box = track(frames, PoseTracker(motion=False), keypoints=False)
    assert by_box['id_switches'] >= 1 and by_box['idf1'] < 0.9
    _, by_pose = track(frames, PoseTracker(motion=False), keypoints=True)
    assert by_pose['id_switches'] == 0 and by_pose['idf1'] == 1.0


def test_hungarian_beats_greedy_assignment():
    # IoU of tracks (A, B) with detections (X, Y): [[0.05, 0.53], [0.37, 0.55]]. A greedy
    # match takes B–Y (the best pair) and leaves A–X below min_similarity: A would be
    # lost and X a new person. The assignment takes A–Y and B–X (0.53 + 0.37).
    tracker = PoseTracker(motion=False)
    assert tracker.update([[15, 0, 24, 10], [9, 0, 23, 10]], [1, 1]).tolist() == [0, 1]
    assert tracker.update([[4, 0, 16, 10], [12, 0, 29, 10]], [1, 1]).tolist() == [1, 0]


def test_zero_detections_and_ids_never_reused():
    tracker = PoseTracker(max_lost=0)
    assert tracker.update(np.zeros((0, 4)), np.zeros(0)).tolist() == []
    assert tracker.update([[0, 0, 10, 10]], [0.9]).tolist() == [0]
    assert tracker.update(np.zeros((0, 4)), []).tolist() == []
    assert tracker.update([[0, 0, 10, 10]], [0.9]).tolist() == [1]   # retired → new id
    tracker.reset()
    assert tracker.update([[0, 0, 10, 10]], [0.9]).tolist() == [0]
    assert isinstance(tracker, BaseTracker)


def test_bad_detections_are_named():
    tracker = PoseTracker()
    with pytest.raises(ValueError, match=r'boxes must have shape \[N, 4\]'):
        tracker.update([[0, 0, 10]], [1])
    with pytest.raises(ValueError, match='x2 > x1'):
        tracker.update([[10, 0, 0, 10]], [1])
    with pytest.raises(ValueError, match=r'scores must have shape \[N\]'):
        tracker.update([[0, 0, 10, 10]], [1, 1])
    with pytest.raises(ValueError, match=r'keypoints must have shape \[N, K, 2\]'):
        tracker.update([[0, 0, 10, 10]], [1], np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match='4 sigmas for 9 keypoints'):
        tracker = PoseTracker(sigmas=[0.1] * 4)
        tracker.update([[0, 0, 10, 10]], [1], np.ones((1, 9, 2)))
        tracker.update([[0, 0, 10, 10]], [1], np.ones((1, 9, 2)))
    with pytest.raises(ValueError, match='max_lost'):
        PoseTracker(max_lost=-1)


def test_boxes_from_keypoints():
    keypoints = np.array([[[10, 20], [30, 60], [20, 40]],
                          [[0, 0], [5, 5], [100, 100]]], dtype=float)
    scores = np.array([[1, 1, 0.9], [1, 0.1, 0.1]])
    boxes, valid = boxes_from_keypoints(keypoints, scores, margin=0.25)
    np.testing.assert_allclose(boxes[0], [5, 10, 35, 70])      # 20×40 tight, +25 % a side
    assert valid.tolist() == [True, False] and np.isnan(boxes[1]).all()
    clipped, _ = boxes_from_keypoints(keypoints[:1], None, margin=0.25, image_size=(32, 64))
    np.testing.assert_allclose(clipped[0], [5, 10, 32, 64])
    # the boxes carry a tracked person from one frame to the next
    frames = scene(frames=12)
    tracker = PoseTracker()
    ids0 = tracker.update(frames[0][1], np.ones(3), frames[0][2])
    proposed, ok = boxes_from_keypoints(frames[0][2], margin=0.1)
    assert ok.all()
    ids1 = tracker.update(proposed, np.ones(3), frames[1][2])
    assert ids1.tolist() == ids0.tolist()
