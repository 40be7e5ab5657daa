"""AUC and EPE (MMPose's definitions) against hand-worked values and a reference
written here from the definitions; their per-keypoint values and counts."""
import math

import numpy as np
import pytest
import torch

from hpekit.datasets.metainfo import parse_pose_metainfo
from hpekit.evaluation.functional import keypoint_auc, keypoint_epe
from hpekit.evaluation.metrics import AUC, EPE, PCKAccuracy
from hpekit.registry import METRICS

NAMES = ('tip', 'base', 'tail')


def toy_meta(names=NAMES):
    """Parsed metainfo of a keypoint set with ``names`` (no flip pairs, no sigmas)."""
    return parse_pose_metainfo(dict(
        dataset_name='toy', skeleton_info={}, joint_weights=[1.0] * len(names), sigmas=[],
        keypoint_info={i: dict(name=n, id=i, color=[0, 0, 255], type='', swap='')
                       for i, n in enumerate(names)}))


# Hand-worked case: two samples, three keypoints ('tail' never labelled).
#   sample A: tip off by (3, 4) → 5 px, base off by (1, 0) → 1 px
#   sample B: tip off by (0, 2) → 2 px, base not labelled (off by 100 px: ignored)
GT = np.array([[[10., 10.], [20., 20.], [30., 30.]],
               [[40., 40.], [50., 50.], [60., 60.]]])
OFFSET = np.array([[[3., 4.], [1., 0.], [7., 7.]],
                   [[0., 2.], [100., 0.], [9., 9.]]])
VISIBLE = np.array([[1., 1., 0.], [1., 0., 0.]])


def samples(pred=GT + OFFSET, gt=GT, visible=VISIBLE):
    return [dict(pred_keypoints=torch.tensor(p, dtype=torch.float32), gt_keypoints=g,
                 keypoints_visible=v, metainfo=dict(bbox=np.array([0., 0., 100., 100.])))
            for p, g, v in zip(pred, gt, visible)]


def run(metric, items):
    metric.dataset_meta = toy_meta()
    metric.process({}, items[:1])
    metric.process({}, items[1:])
    return metric.evaluate(len(items))


def test_auc_hand_worked():
    # norm_factor 10 px, 4 thresholds 0, .25, .5, .75; normalised distances:
    # tip 0.5 (A), 0.2 (B); base 0.1 (A). "correct" is strictly below the threshold.
    # tip : t=0 0/2, t=.25 1/2 (B), t=.5 1/2 (A's 0.5 is not < 0.5), t=.75 2/2 → 0.5
    # base: t=0 0/1, then 1/1 three times → 0.75
    # AUC = mean over t of the mean over labelled keypoints:
    #       (0 + (.5+1)/2 + (.5+1)/2 + 1) / 4 = 0.625
    result = run(AUC(norm_factor=10, num_thrs=4), samples())
    assert result['AUC'] == pytest.approx(0.625)
    assert result['AUC/tip'] == pytest.approx(0.5)
    assert result['AUC/base'] == pytest.approx(0.75)
    assert math.isnan(result['AUC/tail'])


def test_epe_hand_worked():
    # labelled distances 5 (A tip), 1 (A base), 2 (B tip): pooled mean 8/3 px;
    # per keypoint tip (5 + 2) / 2 = 3.5, base 1, tail never labelled.
    metric = EPE()
    result = run(metric, samples())
    assert result['EPE'] == pytest.approx(8 / 3)
    assert result['EPE/tip'] == pytest.approx(3.5)
    assert result['EPE/base'] == pytest.approx(1.0)
    assert math.isnan(result['EPE/tail'])
    np.testing.assert_array_equal(metric.keypoint_counts['labelled'], [2, 1, 0])


def _reference_auc(pred, gt, mask, norm_factor, num_thrs):
    """MMPose's AUC written out with loops: per threshold, the mean over keypoints that
    have a labelled instance of the share of those instances below the threshold."""
    pcks = []
    for i in range(num_thrs):
        thr = i / num_thrs
        accs = []
        for k in range(gt.shape[1]):
            dists = [math.dist(pred[n, k], gt[n, k]) / norm_factor
                     for n in range(gt.shape[0]) if mask[n, k]]
            if dists:
                accs.append(sum(d < thr for d in dists) / len(dists))
        pcks.append(sum(accs) / len(accs) if accs else 0.0)
    return sum(pcks) / num_thrs


def test_auc_and_epe_equal_loop_references_on_random_data():
    rng = np.random.default_rng(3)
    gt = rng.uniform(0, 200, (7, 5, 2))
    pred = gt + rng.normal(0, 12, gt.shape)
    mask = rng.random((7, 5)) > 0.3
    mask[:, 4] = False   # one keypoint never labelled
    auc, per_keypoint = keypoint_auc(pred, gt, mask)   # defaults: 30 px, 20 thresholds
    assert auc == pytest.approx(_reference_auc(pred, gt, mask, 30.0, 20), abs=1e-12)
    for k in range(4):
        assert per_keypoint[k] == pytest.approx(
            _reference_auc(pred[:, k:k + 1], gt[:, k:k + 1], mask[:, k:k + 1], 30.0, 20))
    assert np.isnan(per_keypoint[4])
    epe, per_kpt_epe, counts = keypoint_epe(pred, gt, mask)
    dists = [math.dist(pred[n, k], gt[n, k]) for n in range(7) for k in range(5) if mask[n, k]]
    assert epe == pytest.approx(sum(dists) / len(dists))
    assert counts.tolist() == mask.sum(axis=0).tolist()
    assert per_kpt_epe[0] == pytest.approx(np.mean([math.dist(pred[n, 0], gt[n, 0])
                                                    for n in range(7) if mask[n, 0]]))


def test_nothing_labelled_gives_zero_as_mmpose():
    none = np.zeros_like(VISIBLE)
    assert keypoint_auc(GT + OFFSET, GT, none)[0] == 0.0
    assert keypoint_epe(GT + OFFSET, GT, none)[0] == 0.0


def test_metrics_are_registered_and_work_beside_pck_in_one_evaluator():
    from mmengine.evaluator import Evaluator
    evaluator = Evaluator([METRICS.build(dict(type='PCKAccuracy', thr=0.05)),
                           METRICS.build(dict(type='AUC', norm_factor=10, num_thrs=4)),
                           METRICS.build(dict(type='EPE'))])
    evaluator.dataset_meta = toy_meta()
    evaluator.process(samples())
    result = evaluator.evaluate(2)
    assert {'PCK', 'AUC', 'EPE', 'PCK/tip', 'AUC/tip', 'EPE/tip'} <= set(result)
    assert result['AUC'] == pytest.approx(0.625) and result['EPE'] == pytest.approx(8 / 3)


def test_table_is_logged_at_compute_time(monkeypatch):
    from hpekit.evaluation.metrics import per_keypoint
    logged = []
    monkeypatch.setattr(per_keypoint.MMLogger.get_current_instance(), 'info', logged.append)
    run(EPE(), samples())
    table = logged[-1]
    assert 'EPE over 2 samples' in table
    lines = table.splitlines()
    assert lines[1].split() == ['keypoint', 'EPE', 'labelled']
    assert lines[2].split() == ['tip', '3.5000', '2']
    assert lines[4].split() == ['tail', 'n/a', '0']


def test_bad_arguments_and_samples_are_named():
    with pytest.raises(ValueError, match='norm_factor must be a finite number > 0'):
        AUC(norm_factor=0)
    with pytest.raises(ValueError, match='num_thrs must be an integer >= 1'):
        AUC(num_thrs=2.5)
    with pytest.raises(KeyError, match="EPE: a data sample has no 'gt_keypoints'"):
        EPE().process({}, [dict(pred_keypoints=np.zeros((3, 2)))])
    metric = AUC()
    metric.dataset_meta = toy_meta(('a', 'b'))   # 2 keypoints; the samples have 3
    metric.process({}, samples())
    with pytest.raises(ValueError, match="AUC: predictions have 3 keypoints, the dataset "
                                         "metainfo 'toy' 2"):
        metric.evaluate(2)
    with pytest.raises(ValueError, match='EPE received no predictions'):
        EPE().compute_metrics([])


def test_pck_accuracy_keeps_its_values_and_reports_counts():
    # bbox 100 px, thr 0.05 → 5 px: tip correct in B only (A's 5 px is not < 5), base in A.
    metric = PCKAccuracy(thr=0.05)
    result = run(metric, samples())
    assert result['PCK/tip'] == pytest.approx(0.5) and result['PCK/base'] == 1.0
    assert result['PCK'] == pytest.approx(0.75)
    np.testing.assert_array_equal(metric.keypoint_counts['labelled'], [2, 1, 0])
