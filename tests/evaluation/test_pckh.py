"""PCKh: functional values worked by hand, the .mat layout and the MPIIPCKh metric."""
import numpy as np
import pytest
import scipy.io
import torch
from metainfo_values import MPII_META, metainfo, mpii_id

from hpekit.datasets.synthetic.mpii import MAT_JOINT_NAMES
from hpekit.evaluation.functional import (load_mpii_gt, mpii_head_sizes, pckh, pckh_counts,
                                          save_mpii_gt)
from hpekit.evaluation.metrics import mpii_pckh
from hpekit.evaluation.metrics.mpii_pckh import MPIIPCKh, pckh_table
from hpekit.registry import METRICS
from hpekit.structures import PoseDataSample

PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle')
KEYS = PARTS + ('PCKh', 'PCKh (plain mean)', 'PCKh@0.1')

# A head box 30 × 40 px → diagonal 50 → head size 0.6 · 50 = 30 px; PCKh@0.5: 15 px.
BOX = np.array([[10., 20.], [40., 60.]])
HEAD = 30.0


# ------------------------------------------------------------------ pckh, by hand
def _one_sample(distances):
    """gt at 0, pred at (d, 0) per joint → pred, gt [1, K, 2]."""
    gt = np.zeros((1, len(distances), 2))
    pred = gt.copy()
    pred[0, :, 0] = distances
    return pred, gt


def test_just_below_and_above_the_threshold():
    pred, gt = _one_sample([14.99, 15.01, 0.0])
    per_joint, mean = pckh(pred, gt, None, [HEAD])
    np.testing.assert_allclose(per_joint, [100.0, 0.0, 100.0])
    assert mean == pytest.approx(200.0 / 3)


def test_distance_equal_to_threshold_counts_as_correct_as_the_official_code():
    gt = np.zeros((1, 1, 2))
    pred = np.array([[[9.0, 12.0]]])  # distance 15 exactly = 0.5 · 30
    assert pckh(pred, gt, None, [HEAD])[0][0] == 100.0
    assert pckh(pred, gt, None, [HEAD], thr=0.49)[0][0] == 0.0


def test_per_joint_percent_over_samples_and_invisible_joints_ignored():
    gt = np.zeros((4, 2, 2))
    pred = np.zeros((4, 2, 2))
    pred[:, 0, 1] = [1.0, 20.0, 1.0, 100.0]   # joint 0: 2 of 3 visible correct
    pred[:, 1, 1] = [100.0, 1.0, 1.0, 1.0]    # joint 1: the wrong one is invisible
    mask = np.array([[1, 0], [1, 1], [1, 1], [0, 1]], dtype=bool)
    per_joint, mean = pckh(pred, gt, mask, np.full(4, HEAD))
    np.testing.assert_allclose(per_joint, [200.0 / 3, 100.0])
    assert mean == pytest.approx((200.0 / 3 + 100.0) / 2)


def test_joint_without_valid_instance_is_minus_one_and_left_out_of_the_mean():
    pred, gt = _one_sample([0.0, 100.0, 100.0])
    per_joint, mean = pckh(pred, gt, np.array([[True, False, True]]), [HEAD])
    np.testing.assert_array_equal(per_joint, [100.0, -1.0, 0.0])
    assert mean == pytest.approx(50.0)


def test_head_size_scales_the_threshold():
    pred, gt = _one_sample([20.0])
    assert pckh(pred, gt, None, [30.0])[0][0] == 0.0
    assert pckh(pred, gt, None, [60.0])[0][0] == 100.0


def test_non_finite_prediction_is_wrong_not_an_error():
    pred, gt = _one_sample([np.nan, 0.0])
    np.testing.assert_array_equal(pckh(pred, gt, None, [HEAD])[0], [0.0, 100.0])


def test_counts():
    pred, gt = _one_sample([1.0, 20.0, 1.0])
    correct, visible = pckh_counts(pred, gt, np.array([[1, 1, 0]], bool), [HEAD])
    np.testing.assert_array_equal(correct, [1, 0, 0])
    np.testing.assert_array_equal(visible, [1, 1, 0])


def test_head_size_formula_on_a_hand_box():
    boxes = np.stack([BOX, np.array([[0., 0.], [3., 4.]])], axis=-1)  # [2, 2, N=2]
    np.testing.assert_allclose(mpii_head_sizes(boxes), [HEAD, 0.6 * 5.0])
    with pytest.raises(ValueError, match=r'\[2, 2, N\]'):
        mpii_head_sizes(np.zeros((2, 2)))


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize('bad', [0.0, -1.0, np.nan, np.inf])
def test_bad_head_size_names_the_sample(bad):
    pred = np.zeros((3, 2, 2))
    with pytest.raises(ValueError, match='sample 1'):
        pckh(pred, pred, None, [HEAD, bad, HEAD])


def test_bad_head_size_without_masked_joints_is_fine():
    pred = np.zeros((2, 2, 2))
    mask = np.array([[True, True], [False, False]])
    per_joint, _ = pckh(pred, pred, mask, [HEAD, 0.0])
    np.testing.assert_array_equal(per_joint, [100.0, 100.0])


@pytest.mark.parametrize('kwargs, match', [
    (dict(pred=np.zeros((2, 3))), r'pred must have shape \[N, K, 2\]'),
    (dict(gt=np.zeros((2, 4, 2))), 'gt must have the same shape'),
    (dict(mask=np.ones((2, 4), bool)), r'mask must have shape \[N, K\]'),
    (dict(head_size=np.ones(3)), r'head_size must have shape \[N\]'),
    (dict(thr=0.0), 'thr must be'),
    (dict(mask=np.zeros((2, 3), bool)), 'nothing to evaluate'),
])
def test_validation_errors(kwargs, match):
    args = dict(pred=np.zeros((2, 3, 2)), gt=np.zeros((2, 3, 2)), mask=None,
                head_size=np.ones(2))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        pckh(**args)


def test_non_finite_gt_of_a_masked_joint_raises():
    gt = np.zeros((2, 3, 2))
    gt[1, 2] = np.nan
    with pytest.raises(ValueError, match='sample 1, joint 2'):
        pckh(np.zeros_like(gt), gt, None, np.ones(2))
    mask = np.ones((2, 3), bool)
    mask[1, 2] = False
    assert pckh(np.zeros_like(gt), gt, mask, np.ones(2))[1] == 100.0


# ------------------------------------------------------------------ the .mat file
def _random_gt(n, seed=0):
    """pos [N, 16, 2] (1-based px), visible [N, 16], boxes [N, 2, 2] around the head."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(1.0, 400.0, size=(n, 16, 2))
    visible = rng.random((n, 16)) > 0.2
    top_left = rng.uniform(0.0, 300.0, size=(n, 2))
    boxes = np.stack([top_left, top_left + rng.uniform(20.0, 60.0, size=(n, 2))], axis=1)
    return pos, visible, boxes


def test_save_load_round_trip_in_the_official_layout(tmp_path):
    pos, visible, boxes = _random_gt(3)
    path = tmp_path / 'sub' / 'mpii_gt_val.mat'
    save_mpii_gt(path, pos, visible, boxes, joint_names=MAT_JOINT_NAMES)
    raw = scipy.io.loadmat(path)
    assert raw['pos_gt_src'].shape == (16, 2, 3)
    assert raw['jnt_visible'].shape == raw['jnt_missing'].shape == (16, 3)
    assert raw['headboxes_src'].shape == (2, 2, 3)
    np.testing.assert_array_equal(raw['pos_gt_src'][:, :, 1], pos[1])
    np.testing.assert_array_equal(raw['headboxes_src'][1, :, 2], boxes[2, 1])
    np.testing.assert_array_equal(raw['jnt_missing'], 1 - visible.T)
    # The official tools find joints by name like this.
    names = raw['dataset_joints']
    assert np.where(names == 'head')[1][0] == 9
    assert np.where(names == 'lwri')[1][0] == 15
    gt = load_mpii_gt(path)
    np.testing.assert_array_equal(gt['pos_gt_src'], pos)
    np.testing.assert_array_equal(gt['jnt_visible'], visible)
    assert gt['jnt_visible'].dtype == bool
    np.testing.assert_array_equal(gt['headboxes_src'], boxes)
    np.testing.assert_allclose(gt['head_size'],
                               0.6 * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1))
    # the official short names are in the order of the metainfo's keypoints
    assert len(MAT_JOINT_NAMES) == MPII_META['num_keypoints']
    assert MAT_JOINT_NAMES[mpii_id('head_top')] == 'head'
    assert MAT_JOINT_NAMES[mpii_id('left_wrist')] == 'lwri'


def test_save_load_any_number_of_joints_with_default_names(tmp_path):
    pos, visible, boxes = _random_gt(2)
    path = tmp_path / 'k5.mat'
    save_mpii_gt(path, pos[:, :5], visible[:, :5], boxes)
    raw = scipy.io.loadmat(path)
    assert raw['pos_gt_src'].shape == (5, 2, 2)
    assert [str(n[0]) for n in raw['dataset_joints'][0]] == [f'joint_{i}' for i in range(5)]
    gt = load_mpii_gt(path)
    np.testing.assert_array_equal(gt['pos_gt_src'], pos[:, :5])
    np.testing.assert_array_equal(gt['jnt_visible'], visible[:, :5])


def test_load_reads_jnt_missing_when_jnt_visible_is_absent(tmp_path):
    pos, visible, boxes = _random_gt(2)
    path = tmp_path / 'official.mat'
    scipy.io.savemat(path, dict(pos_gt_src=pos.transpose(1, 2, 0),
                                jnt_missing=(~visible).T.astype(np.uint8),
                                headboxes_src=boxes.transpose(1, 2, 0)))
    np.testing.assert_array_equal(load_mpii_gt(path)['jnt_visible'], visible)


def test_load_errors_name_the_file_or_the_key(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.mat'):
        load_mpii_gt(tmp_path / 'nope.mat')
    pos, visible, boxes = _random_gt(2)
    path = tmp_path / 'bad.mat'
    scipy.io.savemat(path, dict(pos_gt_src=pos.transpose(1, 2, 0),
                                jnt_visible=visible.T.astype(float)))
    with pytest.raises(ValueError, match=r"'headboxes_src'.*\[2, 2, 2\]"):
        load_mpii_gt(path)
    scipy.io.savemat(path, dict(pos_gt_src=pos, jnt_visible=visible.T.astype(float),
                                headboxes_src=boxes.transpose(1, 2, 0)))
    with pytest.raises(ValueError, match=r"'pos_gt_src' must have shape \[K, 2, N\]"):
        load_mpii_gt(path)
    scipy.io.savemat(path, dict(pos_gt_src=pos.transpose(1, 2, 0),
                                headboxes_src=boxes.transpose(1, 2, 0)))
    with pytest.raises(ValueError, match='jnt_visible'):
        load_mpii_gt(path)


def test_save_validates_shapes(tmp_path):
    pos, visible, boxes = _random_gt(2)
    with pytest.raises(ValueError, match='jnt_visible'):
        save_mpii_gt(tmp_path / 'x.mat', pos, visible[:1], boxes)
    with pytest.raises(ValueError, match=r'jnt_visible must have shape \[2, 15\]'):
        save_mpii_gt(tmp_path / 'x.mat', pos[:, :15], visible, boxes)   # K from pos
    with pytest.raises(ValueError, match=r'pos_gt_src must have shape \[N, K, 2\]'):
        save_mpii_gt(tmp_path / 'x.mat', pos[..., :1], visible, boxes)


# ------------------------------------------------------------------ the metric
@pytest.fixture
def gt_file(tmp_path):
    """A 4-person .mat: all joints visible, every head box BOX (head size 30 px)."""
    pos = np.random.default_rng(1).uniform(50.0, 300.0, size=(4, 16, 2))
    path = tmp_path / 'mpii_gt_val.mat'
    save_mpii_gt(path, pos, np.ones((4, 16), bool), np.repeat(BOX[None], 4, axis=0))
    return path, pos


def _evaluate(path, preds, ids=None, **kwargs):
    """Run MPIIPCKh on dict samples: preds [M, 16, 2] 0-based px, ids [M]."""
    metric = MPIIPCKh(gt_file=str(path), **kwargs)
    ids = range(len(preds)) if ids is None else ids
    samples = [dict(pred_keypoints=torch.as_tensor(p, dtype=torch.float32),
                    sample_idx=int(i)) for p, i in zip(preds, ids)]
    metric.process(None, samples[:2])
    metric.process(None, samples[2:])
    return metric.evaluate(len(samples))


def test_perfect_predictions_give_100_everywhere(gt_file):
    path, pos = gt_file
    metrics = _evaluate(path, pos - 1.0)
    joints = tuple(f'PCKh/{n}' for n in MPII_META['keypoint_id2name'].values())
    assert set(metrics) == set(KEYS + joints)
    for key in KEYS + joints:
        assert metrics[key] == pytest.approx(100.0), key


def test_predictions_without_the_minus_one_are_still_within_threshold(gt_file):
    path, pos = gt_file   # an offset of √2 px ≪ 15 px; PCKh@0.1 (3 px) too
    assert _evaluate(path, pos)['PCKh@0.1'] == pytest.approx(100.0)
    assert _evaluate(path, pos + 1.5)['PCKh@0.1'] == pytest.approx(0.0)


@pytest.mark.parametrize('part, names', [
    ('Head', ('head_top',)), ('Shoulder', ('right_shoulder', 'left_shoulder')),
    ('Elbow', ('right_elbow', 'left_elbow')), ('Wrist', ('right_wrist', 'left_wrist')),
    ('Hip', ('right_hip', 'left_hip')), ('Knee', ('right_knee', 'left_knee')),
    ('Ankle', ('right_ankle', 'left_ankle'))])
def test_shifting_one_part_drops_exactly_that_part(gt_file, part, names):
    path, pos = gt_file
    joints = tuple(mpii_id(n) for n in names)
    pred = pos - 1.0
    pred[:, list(joints), 0] += 0.5 * HEAD + 0.5
    metrics = _evaluate(path, pred)
    for other in PARTS:
        assert metrics[other] == pytest.approx(0.0 if other == part else 100.0), other
    assert metrics['PCKh'] == pytest.approx(100.0 * (14 - len(joints)) / 14)


def test_mean_excludes_pelvis_thorax_and_is_weighted_by_visible_counts(tmp_path):
    pos = np.random.default_rng(2).uniform(50.0, 300.0, size=(4, 16, 2))
    visible = np.ones((4, 16), bool)
    visible[1:, 0] = False             # r_ankle visible in one sample only
    path = tmp_path / 'gt.mat'
    save_mpii_gt(path, pos, visible, np.repeat(BOX[None], 4, axis=0))
    pred = pos - 1.0
    pred[:, [0, 10, 6, 7], 1] += 100.0  # r_ankle, r_wrist, pelvis, thorax wrong
    metrics = _evaluate(path, pred)
    # 14 joints count; visible 12·4 (all correct) + r_wrist 4 + r_ankle 1 = 53.
    assert metrics['PCKh'] == pytest.approx(100.0 * 48 / 53)
    assert metrics['PCKh'] != pytest.approx(100.0 * 12 / 14)   # the unweighted mean
    assert metrics['PCKh@0.1'] == pytest.approx(100.0 * 48 / 53)
    # Parts: the plain mean of left and right, as the official table.
    assert metrics['Ankle'] == pytest.approx(50.0)
    assert metrics['Wrist'] == pytest.approx(50.0)


def test_threshold_0_1_is_reported_next_to_the_mean(gt_file):
    path, pos = gt_file
    pred = pos - 1.0
    pred[:2, :, 0] += 0.3 * HEAD        # half the samples: between 0.1 and 0.5
    metrics = _evaluate(path, pred)
    assert metrics['PCKh'] == pytest.approx(100.0)
    assert metrics['PCKh@0.1'] == pytest.approx(50.0)
    assert _evaluate(path, pred, thr=0.2)['PCKh'] == pytest.approx(50.0)


def test_matches_the_official_array_formulas_on_random_data(tmp_path):
    pos, visible, boxes = _random_gt(40, seed=3)
    path = tmp_path / 'gt.mat'
    save_mpii_gt(path, pos, visible, boxes)
    pred = pos - 1.0 + np.random.default_rng(4).normal(0.0, 12.0, size=pos.shape)
    metrics = _evaluate(path, pred)
    # The official evaluation, spelled out on [16, 2, N] arrays.
    err = np.linalg.norm((pred + 1.0).transpose(1, 2, 0) - pos.transpose(1, 2, 0), axis=1)
    head = 0.6 * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    vis = visible.T.astype(float)
    count = vis.sum(axis=1)
    ok = lambda thr: ((err / head <= thr) * vis).sum(axis=1)  # noqa: E731
    ratio = count.copy()
    ratio[[6, 7]] = 0
    ratio /= ratio.sum()
    assert metrics['PCKh'] == pytest.approx(np.sum(100 * ok(0.5) / count * ratio))
    assert metrics['PCKh@0.1'] == pytest.approx(np.sum(100 * ok(0.1) / count * ratio))
    per_joint = 100 * ok(0.5) / count
    assert metrics['Wrist'] == pytest.approx(0.5 * (per_joint[10] + per_joint[15]))
    assert metrics['Head'] == pytest.approx(per_joint[9])


def test_subset_of_samples_is_evaluated_and_logged(tmp_path, monkeypatch):
    pos = np.random.default_rng(5).uniform(50.0, 300.0, size=(4, 16, 2))
    boxes = np.repeat(BOX[None], 4, axis=0)
    boxes[1] = 0.0                      # sample 1: no head box
    path = tmp_path / 'gt.mat'
    save_mpii_gt(path, pos, np.ones((4, 16), bool), boxes)
    logged = []
    logger = mpii_pckh.MMLogger.get_current_instance()
    monkeypatch.setattr(logger, 'info', logged.append)
    pred = pos - 1.0
    pred[3] += 100.0
    metrics = _evaluate(path, pred[[3, 0]], ids=[3, 0])
    assert metrics['PCKh'] == pytest.approx(50.0)
    assert '2 of 4' in logged[-1] and 'Shoulder' in logged[-1]
    with pytest.raises(ValueError, match='sample 1 has no valid head size'):
        _evaluate(path, pred[:3])


def test_bad_sample_indices_raise(gt_file):
    path, pos = gt_file
    with pytest.raises(ValueError, match='sample_idx 4 is outside the 4 samples'):
        _evaluate(path, pos[:2], ids=[0, 4])
    with pytest.raises(ValueError, match='sample_idx 1 was predicted more than once'):
        _evaluate(path, pos[:2], ids=[1, 1])


def test_missing_gt_file_raises_at_evaluation(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.mat'):
        _evaluate(tmp_path / 'absent.mat', np.zeros((1, 16, 2)))


def test_registry_build_prefix_and_pose_data_samples(gt_file):
    path, pos = gt_file
    metric = METRICS.build(dict(type='MPIIPCKh', gt_file=str(path), prefix='mpii'))
    samples = []
    for i, p in enumerate(pos - 1.0):
        sample = PoseDataSample(metainfo=dict(sample_idx=i))
        sample.pred_keypoints = torch.as_tensor(p[None])   # [1, 16, 2] is accepted
        samples.append(sample)
    metric.process(None, samples)
    metrics = metric.evaluate(len(samples))
    assert metrics['mpii/PCKh'] == pytest.approx(100.0)


def test_process_errors_name_the_missing_field():
    metric = MPIIPCKh(gt_file='unused.mat')
    with pytest.raises(KeyError, match='pred_keypoints'):
        metric.process(None, [dict(sample_idx=0)])
    with pytest.raises(KeyError, match='sample_idx'):
        metric.process(None, [dict(pred_keypoints=np.zeros((16, 2)))])
    with pytest.raises(ValueError, match=r'\[16, 2\]'):
        metric.process(None, [dict(pred_keypoints=np.zeros((17, 2)), sample_idx=0)])


def test_the_table_comes_from_the_metainfo():
    """MPII's metainfo names the official table; the parts resolve to its joint ids."""
    parts, excluded = pckh_table(MPII_META)
    assert [name for name, _ in parts] == list(PARTS)
    assert dict(parts)['Head'] == (mpii_id('head_top'),)
    assert dict(parts)['Wrist'] == (mpii_id('right_wrist'), mpii_id('left_wrist'))
    assert excluded == (mpii_id('pelvis'), mpii_id('thorax'))
    # without a pckh_table: one column per flip pair and per unpaired keypoint
    meta = metainfo('mpii')
    del meta['pckh_table']
    parts, excluded = pckh_table(meta)
    assert excluded == ()
    columns = dict(parts)
    assert columns['Ankle'] == (0, 5) and columns['Shoulder'] == (12, 13)
    assert columns['head_top'] == (9,) and columns['pelvis'] == (6,)
    assert sorted(j for _, ids in parts for j in ids) == list(range(16))


def test_metric_follows_the_runner_dataset_meta(tmp_path):
    """The runner's dataset_meta sets the joint count and the table's columns."""
    pos = np.random.default_rng(6).uniform(50.0, 300.0, size=(3, 15, 2))
    path = tmp_path / 'jhmdb.mat'
    save_mpii_gt(path, pos, np.ones((3, 15), bool), np.repeat(BOX[None], 3, axis=0))
    metric = MPIIPCKh(gt_file=str(path))
    metric.dataset_meta = metainfo('jhmdb')
    pred = pos - 1.0
    pred[:, 0, 0] += 100.0               # the neck: wrong
    metric.process(None, [dict(pred_keypoints=p, sample_idx=i) for i, p in enumerate(pred)])
    metrics = metric.evaluate(3)
    assert metrics['neck'] == pytest.approx(0.0) and metrics['head'] == pytest.approx(100.0)
    assert metrics['Shoulder'] == pytest.approx(100.0)
    assert metrics['PCKh'] == pytest.approx(100.0 * 14 / 15)   # no joint left out
    with pytest.raises(ValueError, match=r'\[15, 2\]'):
        metric.process(None, [dict(pred_keypoints=np.zeros((16, 2)), sample_idx=0)])
