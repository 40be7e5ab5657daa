"""Acceleration error (functional and in the Human3.6M metric) and the tracking metrics
(identity switches, IDF1) against hand-computed examples."""
import numpy as np
import pytest

from hpekit.evaluation.functional import (accel_error, accel_errors, clear_mot_counts,
                                          id_switches, idf1, pairwise_box_iou)
from hpekit.datasets import keypoint_names, parse_pose_metainfo
from hpekit.evaluation.metrics import H36MPerActionMPJPE
from hpekit.evaluation.metrics.per_keypoint import build_table


# ------------------------------------------------------------ acceleration error
def test_accel_error_by_hand():
    # joint 0 of pred jumps +1 in x at frame 1; gt is still. Second differences of
    # pred: frame 1: 0 − 2·1 + 0 = −2, frame 2: 1 − 0 + 0 = 1 (x only) → errors 2, 1;
    # joint 1 is exact → mean over (2 frames × 2 joints) = (2 + 1 + 0 + 0) / 4.
    gt = np.zeros((4, 2, 3))
    pred = gt.copy()
    pred[1, 0, 0] = 1.0
    errors, valid = accel_errors(pred, gt)
    np.testing.assert_allclose(errors, [[2, 0], [1, 0]])
    assert valid.all()
    assert accel_error(pred, gt) == pytest.approx(0.75)
    # a constant velocity or offset has no acceleration error
    ramp = np.arange(5.0)[:, None, None] * np.array([1.0, 2.0, 3.0]) + 7.0
    assert accel_error(ramp + 3.0, np.zeros((5, 1, 3)) + 1.0) == pytest.approx(0.0)
    # in 2D too: x = 0, 1, 4 (t²) has acceleration 2
    quad = np.array([[[0.0, 0.0]], [[1.0, 0.0]], [[4.0, 0.0]]])
    assert accel_error(quad, np.zeros((3, 1, 2))) == pytest.approx(2.0)


def test_accel_error_mask_and_errors():
    gt = np.zeros((4, 2, 3))
    pred = gt.copy()
    pred[1, 0, 0] = 1.0
    pred[3, 1] = np.nan
    mask = np.ones((4, 2), bool)
    mask[3, 1] = False         # joint 1 is missing in frame 3: its last acceleration goes
    errors, valid = accel_errors(pred, gt, mask)
    assert valid.tolist() == [[True, True], [True, False]]
    assert accel_error(pred, gt, mask) == pytest.approx((2 + 1 + 0) / 3)
    with pytest.raises(ValueError, match='NaN'):
        accel_error(pred, gt)
    with pytest.raises(ValueError, match='at least 3'):
        accel_error(np.zeros((2, 1, 3)), np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match='same shape'):
        accel_error(np.zeros((3, 1, 3)), np.zeros((3, 2, 3)))


def _clip(pred, gt, ids, seq='S9_Walking_1.1', action='Walking'):
    return dict(pred_joints_3d=pred, gt_joints_3d=gt, frame_ids=np.asarray(ids),
                action=action, seq_name=seq)


def test_h36m_metric_reports_accel_over_sequences():
    # one sequence of 6 frames in two clips (metres); joint 0 of frame 3 is 1 mm off in
    # x → accelerations at frames 2, 3, 4 off by 1, 2, 1 mm → over 4 accelerations × 2
    # joints: (1 + 2 + 1) / 8 = 0.5 mm/frame². Clip edges do not cut the sequence.
    gt = np.random.default_rng(0).normal(scale=0.3, size=(6, 2, 3))
    pred = gt.copy()
    pred[3, 0, 0] += 0.001
    metric = H36MPerActionMPJPE(per_joint=False)
    metric.process({}, [_clip(pred[:3], gt[:3], [10, 11, 12]),
                        _clip(pred[3:], gt[3:], [13, 14, 15])])
    result = metric.compute_metrics(metric.results)
    assert result['accel_error'] == pytest.approx(0.5, rel=1e-4)   # stored as float32
    # a second sequence whose frame rows follow on is not joined to the first, and a
    # skipped frame id splits a sequence: no acceleration across either
    # (each offset alone has no acceleration; joined to the rest, its jump would)
    metric = H36MPerActionMPJPE(per_joint=False)
    metric.process({}, [_clip(gt[:3], gt[:3], [10, 11, 12]),
                        _clip(gt[3:] + 0.05, gt[3:], [13, 14, 15], seq='S9_Walking_1.2'),
                        _clip(gt[:3] + 0.05, gt[:3], [20, 21, 23], seq='S9_Eating_1.1')])
    assert metric.compute_metrics(metric.results)['accel_error'] == pytest.approx(0.0, abs=1e-4)


def test_h36m_metric_accel_per_clip_and_per_joint():
    meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/h36m.py'))
    gt = np.zeros((3, 17, 3))
    pred = gt.copy()
    pred[1, 4, 2] = 0.002                  # one joint, 2 mm off at the middle frame
    sample = dict(pred_joints_3d=pred, gt_joints_3d=gt, action='Walking')  # no seq_name
    metric = H36MPerActionMPJPE()
    metric.dataset_meta = meta
    metric.process({}, [sample])
    result = metric.compute_metrics(metric.results)
    name = meta['keypoint_id2name'][4]
    assert result[f'accel_error/{name}'] == pytest.approx(4.0)     # |0 − 2·2 + 0|
    assert result['accel_error'] == pytest.approx(4.0 / 17)
    assert result[f'accel_error/{meta["keypoint_id2name"][0]}'] == 0.0
    table = build_table(result, keypoint_names(meta))       # tools/test.py's tables
    assert table.columns == ['mpjpe', 'accel_error']
    # too short to accelerate: mpjpe is still reported, accel_error is not
    metric = H36MPerActionMPJPE(per_joint=False)
    metric.process({}, [dict(sample, pred_joints_3d=pred[:2], gt_joints_3d=gt[:2])])
    result = metric.compute_metrics(metric.results)
    assert 'mpjpe' in result and 'accel_error' not in result


# ------------------------------------------------------------ tracking metrics
BOX = np.array([[0, 0, 10, 10]], float)
FAR = np.array([[50, 50, 60, 60]], float)


def test_box_iou_by_hand():
    iou = pairwise_box_iou([[0, 0, 10, 10]],
                           [[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(iou, [[50 / 150, 0, 1]])


def test_one_switch_and_idf1_by_hand():
    # one person over 4 frames; the tracker calls it 5, 5, then 7, 7
    gt_ids, gt_boxes = [[1]] * 4, [BOX] * 4
    pred_ids, pred_boxes = [[5], [5], [7], [7]], [BOX] * 4
    assert id_switches(gt_ids, gt_boxes, pred_ids, pred_boxes) == 1
    # best one-to-one match: 1 ↔ 5 (or 7), IDTP 2 → IDF1 = 2·2 / (4 + 4)
    result = idf1(gt_ids, gt_boxes, pred_ids, pred_boxes)
    assert result['idf1'] == pytest.approx(0.5)
    assert (result['idtp'], result['idfp'], result['idfn']) == (2, 2, 2)


def test_idf1_global_matching_by_hand():
    # gt 1: frames 0-3 at BOX; gt 2: frames 0-1 at FAR. pred 1 follows gt 1 in frames
    # 0-2, pred 2 follows gt 2 in frames 0-1 and then gt 1 in frame 3.
    # IDTP(1,1) = 3, IDTP(1,2) = 1, IDTP(2,2) = 2 → global match 1↔1, 2↔2: IDTP = 5 of
    # 6 gt and 6 predicted boxes → IDF1 = 10 / 12; one switch (gt 1: pred 1 → 2).
    gt_ids = [[1, 2], [1, 2], [1], [1]]
    gt_boxes = [np.r_[BOX, FAR], np.r_[BOX, FAR], BOX, BOX]
    pred_ids = [[1, 2], [1, 2], [1], [2]]
    pred_boxes = [np.r_[BOX, FAR], np.r_[BOX, FAR], BOX, BOX]
    result = idf1(gt_ids, gt_boxes, pred_ids, pred_boxes)
    assert result['idtp'] == 5 and result['idf1'] == pytest.approx(10 / 12)
    counts = clear_mot_counts(gt_ids, gt_boxes, pred_ids, pred_boxes)
    assert counts['id_switches'] == 1 and counts['mota'] == pytest.approx(1 - 1 / 6)


def test_misses_false_positives_and_the_iou_threshold():
    near = BOX + [6, 0, 6, 0]       # IoU 4/16 = 0.25 with BOX: not a match at 0.5
    counts = clear_mot_counts([[1], [1]], [BOX, BOX], [[3], [3]], [BOX, near])
    assert (counts['matches'], counts['false_negatives'], counts['false_positives']) == \
        (1, 1, 1)
    assert clear_mot_counts([[1], [1]], [BOX, BOX], [[3], [3]], [BOX, near],
                            iou_thr=0.2)['matches'] == 2
    empty = idf1([[1]], [BOX], [[]], [np.zeros((0, 4))])
    assert empty['idf1'] == 0.0 and np.isnan(empty['idp'])
    with pytest.raises(ValueError, match='frame 0: an id appears twice'):
        idf1([[1, 1]], [np.r_[BOX, FAR]], [[]], [[]])
    with pytest.raises(ValueError, match='gt has 1 frames but pred has 2'):
        idf1([[1]], [BOX], [[1], [1]], [BOX, BOX])
    with pytest.raises(ValueError, match=r'frame 0: boxes must have shape'):
        idf1([[1]], [np.zeros((2, 4))], [[1]], [BOX])
