"""MPJPE / N-MPJPE / PA-MPJPE: functional values worked by hand and the metric class."""
import numpy as np
import pytest
import torch
from metainfo_values import H36M_JOINT_NAMES, metainfo

from hpekit.datasets import parse_pose_metainfo
from hpekit.evaluation.functional import mpjpe, mpjpe_per_joint, procrustes_align, scale_align
from hpekit.evaluation.metrics import mpjpe_metric
from hpekit.evaluation.metrics.mpjpe_metric import MPJPE
from hpekit.registry import METRICS
from hpekit.structures import PoseDataSample


def _rotation(axis, angle):
    """Rodrigues: proper rotation matrix [3, 3] about ``axis`` by ``angle`` radians."""
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


@pytest.fixture
def gt():
    """Random non-planar poses [4, 6, 3]."""
    return np.random.default_rng(0).normal(size=(4, 6, 3))


# The "cross" example, worked by hand: gt on the x and y axes, pred stretched ×2 in x.
# Centroids 0; H = predᵀgt = diag(4, 2, 0) → R = I; s = (4 + 2) / |pred|² = 6 / 10 = 0.6;
# aligned = (±1.2, 0, 0), (0, ±0.6, 0) → errors 0.2, 0.2, 0.4, 0.4 → mean 0.3.
CROSS_GT = np.array([[[1., 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]]])
CROSS_PRED = np.array([[[2., 0, 0], [-2, 0, 0], [0, 1, 0], [0, -1, 0]]])


def test_constant_offset_gives_its_length(gt):
    assert mpjpe(gt + np.array([3., 4., 0.]), gt) == pytest.approx(5.0)


def test_mask_excludes_a_joint():
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[3., 4., 0.], [10., 0., 0.]]])
    assert mpjpe(pred, gt) == pytest.approx(7.5)
    assert mpjpe(pred, gt, mask=np.array([[True, False]])) == pytest.approx(5.0)


def test_mean_is_pooled_over_masked_joints_not_per_sample():
    gt = np.zeros((2, 2, 3))
    pred = np.array([[[3., 0, 0], [0, 4, 0]], [[0, 0, 8.], [0, 0, 100]]])
    mask = np.array([[True, True], [True, False]])
    assert mpjpe(pred, gt, mask) == pytest.approx((3 + 4 + 8) / 3)


def test_sample_without_masked_joints_is_left_out(gt):
    pred = gt + np.array([3., 4., 0.])
    pred[0] += 50.0
    mask = np.ones(gt.shape[:2], dtype=bool)
    mask[0] = False
    for alignment in ('none', 'scale'):
        assert mpjpe(pred, gt, mask, alignment) == pytest.approx(
            mpjpe(pred[1:], gt[1:], alignment=alignment))
    pa = mpjpe(pred, gt, mask, 'procrustes')
    assert np.isfinite(pa) and pa == pytest.approx(0.0, abs=1e-9)


def test_scale_alignment_recovers_a_scaled_copy(gt):
    pred = 2.0 * gt
    assert mpjpe(pred, gt, alignment='scale') == pytest.approx(0.0, abs=1e-12)
    assert mpjpe(pred, gt) == pytest.approx(np.linalg.norm(gt, axis=-1).mean())
    np.testing.assert_allclose(scale_align(pred, gt), gt, atol=1e-12)


def test_scale_alignment_by_hand():
    # s = <p, g> / <p, p> = 2 / 4 = 0.5 → aligned (1,0,0), (0,0,0): errors 0 and 1.
    gt = np.array([[[1., 0, 0], [0, 1, 0]]])
    pred = np.array([[[2., 0, 0], [0, 0, 0]]])
    assert mpjpe(pred, gt) == pytest.approx(1.0)
    assert mpjpe(pred, gt, alignment='scale') == pytest.approx(0.5)
    assert mpjpe(CROSS_PRED, CROSS_GT, alignment='scale') == pytest.approx(0.3)


def test_procrustes_recovers_a_similarity_transform(gt):
    rot = _rotation([1., 2., 3.], 0.7)
    pred = 1.7 * gt @ rot.T + np.array([0.3, -2.0, 5.0])
    assert mpjpe(pred, gt) > 1.0
    assert mpjpe(pred, gt, alignment='procrustes') == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-9)


def test_procrustes_excludes_reflections(gt):
    mirrored = gt * np.array([-1., 1., 1.])
    assert mpjpe(mirrored, gt, alignment='procrustes') > 0.1
    aligned = procrustes_align(mirrored, gt)
    assert np.isfinite(aligned).all()


def test_procrustes_by_hand():
    assert mpjpe(CROSS_PRED, CROSS_GT) == pytest.approx(0.5)
    assert mpjpe(CROSS_PRED, CROSS_GT, alignment='procrustes') == pytest.approx(0.3)
    moved = CROSS_PRED @ _rotation([0., 1., 1.], 2.0).T + np.array([4., 5., 6.])
    assert mpjpe(moved, CROSS_GT, alignment='procrustes') == pytest.approx(0.3)
    expected = np.array([[[1.2, 0, 0], [-1.2, 0, 0], [0, 0.6, 0], [0, -0.6, 0]]])
    np.testing.assert_allclose(procrustes_align(CROSS_PRED, CROSS_GT), expected,
                               atol=1e-12)


def test_procrustes_fits_on_masked_joints_only(gt):
    pred = 0.5 * gt @ _rotation([0., 0., 1.], 1.0).T + 2.0
    pred[:, 5] += 100.0
    mask = np.ones(gt.shape[:2], dtype=bool)
    mask[:, 5] = False
    assert mpjpe(pred, gt, mask, 'procrustes') == pytest.approx(0.0, abs=1e-9)
    assert mpjpe(pred, gt, alignment='procrustes') > 1.0


def test_per_joint():
    gt = np.zeros((2, 3, 3))
    pred = np.array([[[3., 4, 0], [1, 0, 0], [0, 0, 9]],
                     [[0., 0, 5], [0, 3, 0], [0, 0, 9]]])
    mask = np.array([[True, True, False], [True, True, False]])
    np.testing.assert_allclose(mpjpe_per_joint(pred, gt), [5.0, 2.0, 9.0])
    per_joint = mpjpe_per_joint(pred, gt, mask)
    np.testing.assert_allclose(per_joint[:2], [5.0, 2.0])
    assert np.isnan(per_joint[2])
    only_first = np.array([[True, True, False], [False, True, False]])
    np.testing.assert_allclose(mpjpe_per_joint(pred, gt, only_first)[:2], [5.0, 2.0])
    assert mpjpe_per_joint(2 * CROSS_GT, CROSS_GT, alignment='scale') == \
        pytest.approx(np.zeros(4), abs=1e-12)


@pytest.mark.parametrize('pred_shape, gt_shape, mask_shape, word', [
    ((2, 5, 2), (2, 5, 2), None, 'pred'),
    ((10, 3), (10, 3), None, 'pred'),
    ((2, 5, 3), (2, 4, 3), None, 'gt'),
    ((2, 5, 3), (2, 5, 3), (2, 4), 'mask'),
    ((2, 5, 3), (2, 5, 3), (10,), 'mask'),
])
def test_bad_shapes_raise(pred_shape, gt_shape, mask_shape, word):
    mask = None if mask_shape is None else np.ones(mask_shape, dtype=bool)
    with pytest.raises(ValueError, match=word) as info:
        mpjpe(np.zeros(pred_shape), np.zeros(gt_shape), mask)
    message = str(info.value)
    received = mask_shape if word == 'mask' else (gt_shape if word == 'gt' else pred_shape)
    assert str(list(received)) in message


def test_bad_alignment_and_empty_mask_raise(gt):
    with pytest.raises(ValueError, match=r"alignment.*'procrustes'.*'affine'"):
        mpjpe(gt, gt, alignment='affine')
    with pytest.raises(ValueError, match='alignment'):
        mpjpe_per_joint(gt, gt, alignment=None)
    with pytest.raises(ValueError, match='no joint'):
        mpjpe(gt, gt, mask=np.zeros(gt.shape[:2], dtype=bool))


# ---------------------------------------------------------------- the metric class
NAMES = ['root', 'right_hip', 'left_hip']


def _meta(names):
    """Parsed metainfo (MMPose format) of keypoints named ``names``, as the runner
    hands the dataset's metainfo to the metric."""
    swap = {'right_hip': 'left_hip', 'left_hip': 'right_hip'}
    return parse_pose_metainfo(dict(
        dataset_name='tiny', skeleton_info={}, joint_weights=[1.0] * len(names), sigmas=[],
        keypoint_info={i: dict(name=n, id=i, swap=swap.get(n, '')) for i, n in
                       enumerate(names)}))


def _samples():
    """Two clips [T=2, K=3, 3] in metres: every joint off by (3, 4, 0) mm."""
    gen = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        gt = torch.randn(2, 3, 3, generator=gen) * 0.3
        pred = gt + torch.tensor([0.003, 0.004, 0.0])
        samples.append(dict(gt_joints_3d=gt, pred_joints_3d=pred))
    return samples


class _Recorder:
    """Stands in for MMLogger inside the metric module only; records info() texts."""
    messages = []

    @classmethod
    def get_current_instance(cls):
        return cls

    @classmethod
    def info(cls, message):
        cls.messages.append(message)


def test_metric_end_to_end(monkeypatch):
    recorder = _Recorder
    recorder.messages = []
    monkeypatch.setattr(mpjpe_metric, 'MMLogger', recorder)
    metric = METRICS.build(dict(type='MPJPE'))
    metric.dataset_meta = _meta(NAMES)
    samples = _samples()
    metric.process({}, samples[:1])
    metric.process({}, samples[1:])
    results = metric.evaluate(size=2)
    assert set(results) == {'mpjpe', 'n_mpjpe', 'pa_mpjpe'} | {f'mpjpe_{n}' for n in NAMES}
    assert results['mpjpe'] == pytest.approx(5.0)
    assert results['pa_mpjpe'] == pytest.approx(0.0, abs=1e-3)  # float32 input
    assert 0.0 < results['n_mpjpe'] <= 5.0
    for name in NAMES:
        assert results[f'mpjpe_{name}'] == pytest.approx(5.0)
    table = '\n'.join(recorder.messages)
    assert 'right_hip' in table and 'PA-MPJPE' in table and '5.00' in table


def test_metric_per_joint_keys_follow_the_h36m_metainfo():
    metric = MPJPE()
    metric.dataset_meta = metainfo('h36m')
    gt = torch.zeros(2, 17, 3)
    pred = gt.clone()
    pred[:, 0] += torch.tensor([0.0, 0.0, 0.01])     # the root (pelvis): 10 mm off
    metric.process({}, [dict(gt_joints_3d=gt, pred_joints_3d=pred)])
    results = metric.evaluate(size=1)
    assert {f'mpjpe_{n}' for n in H36M_JOINT_NAMES} <= set(results)
    assert results['mpjpe_root'] == pytest.approx(10.0)
    assert results['mpjpe_right_foot'] == pytest.approx(0.0)
    assert results['mpjpe'] == pytest.approx(10.0 / 17)


def test_metric_matches_functional_and_options():
    samples = _samples()
    pred = np.concatenate([s['pred_joints_3d'].numpy() for s in samples]).astype(np.float64)
    gt = np.concatenate([s['gt_joints_3d'].numpy() for s in samples]).astype(np.float64)
    metric = MPJPE(unit_scale=1.0, per_joint=False, prefix='h36m')
    element = PoseDataSample(gt_joints_3d=samples[0]['gt_joints_3d'],
                             pred_joints_3d=samples[0]['pred_joints_3d'])
    metric.process({}, [element.to_dict(), samples[1]])
    results = metric.evaluate(size=2)
    assert set(results) == {'h36m/mpjpe', 'h36m/n_mpjpe', 'h36m/pa_mpjpe'}
    assert results['h36m/n_mpjpe'] == pytest.approx(mpjpe(pred, gt, alignment='scale'))
    assert results['h36m/mpjpe'] == pytest.approx(0.005)


def test_metric_default_joint_names_and_bad_input():
    metric = MPJPE()
    metric.process({}, _samples())
    results = metric.evaluate(size=2)
    assert {'mpjpe_joint_0', 'mpjpe_joint_2'} <= set(results)
    wrong = MPJPE()
    wrong.dataset_meta = _meta(['a', 'b'])
    wrong.process({}, _samples())
    with pytest.raises(ValueError, match='metainfo has 2 keypoints.*3 joints'):
        wrong.evaluate(size=2)
    with pytest.raises(KeyError, match='pred_joints_3d'):
        MPJPE().process({}, [dict(gt_joints_3d=torch.zeros(2, 3, 3))])
