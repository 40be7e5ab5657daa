"""Smoothing filters: less jitter close to the truth, causality, latency, gaps, 2D/3D."""
import numpy as np
import pytest

from hpekit.core.smoothing import (GaussianFilter, OneEuroFilter, SavitzkyGolayFilter,
                                   build_pose_filter, fill_missing)
from hpekit.evaluation.functional import accel_error
from hpekit.registry import POSE_FILTERS

FILTERS = {
    'one_euro': dict(type='OneEuroFilter', min_cutoff=2.0, beta=0.01, fps=50.0),
    'savgol': dict(type='SavitzkyGolayFilter', window=11, polyorder=2),
    'gaussian': dict(type='GaussianFilter', sigma=2.0, window=11),
}


def trajectory(dims=3, frames=120, joints=4, noise=4.0, seed=0):
    """(truth, noisy) [T, K, dims]: smooth motions (mm, or px; periods of 4 and 3 s at
    50 fps) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, (1, joints, dims))
    truth = 100 * np.sin(2 * np.pi * t / 200 + phase) + 25 * np.cos(2 * np.pi * t / 150)
    return truth, truth + rng.normal(0, noise, truth.shape)


def mean_error(a, b):
    return float(np.linalg.norm(a - b, axis=-1).mean())


def run_online(f, track, scores=None):
    """step() over a track, then flush(): the frames in order [T, K, C]."""
    outputs = [f.step(x, None if scores is None else scores[t]) for t, x in enumerate(track)]
    assert all(o is None for o in outputs[:f.latency_frames])
    kept = [o for o in outputs if o is not None]
    rest = list(f.flush())
    return np.stack(kept + rest)


@pytest.mark.parametrize('name', sorted(FILTERS))
@pytest.mark.parametrize('dims', [2, 3])
def test_filters_cut_jitter_and_stay_close(name, dims):
    truth, noisy = trajectory(dims)
    smooth = POSE_FILTERS.build(FILTERS[name]).filter(noisy)
    assert smooth.shape == noisy.shape
    assert accel_error(smooth, truth) < 0.5 * accel_error(noisy, truth)
    # close to the truth: the non-causal filters beat the noise; the causal One-Euro
    # lags a little behind the motion
    bound = 1.2 if name == 'one_euro' else 0.7
    assert mean_error(smooth, truth) < bound * mean_error(noisy, truth)


def test_one_euro_is_causal():
    _, noisy = trajectory(frames=40)
    f = OneEuroFilter(min_cutoff=0.5, beta=0.01, fps=30)
    base = f.filter(noisy)
    changed = noisy.copy()
    changed[25:] += 100.0          # only the future of frame 24 changes
    other = f.filter(changed)
    np.testing.assert_array_equal(base[:25], other[:25])
    assert not np.allclose(base[25:], other[25:])
    assert f.latency_frames == 0
    np.testing.assert_array_equal(run_online(f, noisy), base)


def test_one_euro_follows_fast_motion_with_beta():
    # a ramp of 10 units per frame: the speed term lets the filter catch up
    track = np.arange(60.0)[:, None, None] * np.array([10.0, 0.0])[None, None]
    slow = OneEuroFilter(min_cutoff=0.5, beta=0.0, fps=30).filter(track)
    fast = OneEuroFilter(min_cutoff=0.5, beta=0.05, fps=30).filter(track)
    assert abs(fast[-1, 0, 0] - track[-1, 0, 0]) < 0.5 * abs(slow[-1, 0, 0] - track[-1, 0, 0])


@pytest.mark.parametrize('name', ['savgol', 'gaussian'])
def test_window_filters_online_equals_offline_with_latency(name):
    _, noisy = trajectory(dims=2, frames=30)
    f = POSE_FILTERS.build(FILTERS[name])
    assert f.latency_frames == 5
    np.testing.assert_allclose(run_online(f, noisy), f.filter(noisy), atol=1e-9)
    # a stream shorter than the window: still every frame, as offline
    np.testing.assert_allclose(run_online(f, noisy[:4]), f.filter(noisy[:4]), atol=1e-9)


def test_savgol_keeps_a_quadratic_exactly():
    t = np.arange(20.0)
    track = np.stack([0.5 * t ** 2 - 3 * t, 2 * t + 1], axis=-1)[:, None]
    smooth = SavitzkyGolayFilter(window=5, polyorder=2).filter(track)
    # away from the edges (edge replication bends the first/last 2 frames)
    np.testing.assert_allclose(smooth[2:-2], track[2:-2], atol=1e-9)


def test_gaussian_kernel_is_the_scipy_one():
    f = GaussianFilter(sigma=1.5, window=7)
    impulse = np.zeros((15, 1, 2))
    impulse[7] = 1.0
    np.testing.assert_allclose(f.filter(impulse)[4:11, 0, 0], f.kernel()[::-1], atol=1e-12)
    assert f.kernel().sum() == pytest.approx(1.0)


def test_gaps_are_interpolated_by_window_filters():
    t = np.arange(30.0)
    truth = np.stack([3 * t, -2 * t, t], axis=-1)[:, None].repeat(2, axis=1)   # linear
    track = truth.copy()
    track[10:14, 0] = np.nan                    # a gap of 4 frames in joint 0
    scores = np.ones((30, 2))
    scores[20, 1] = 0.05                        # a low-score keypoint counts as missing
    track[20, 1] = 1e6                          # ... whatever its value
    for f in (SavitzkyGolayFilter(window=5, polyorder=1), GaussianFilter(1.0, window=5)):
        out = f.filter(track, scores)
        assert np.isfinite(out).all()
        # linear motion is kept by interpolation + smoothing (edges aside)
        np.testing.assert_allclose(out[3:-3], truth[3:-3], atol=1e-6)
        # online, a gap is filled from the window only (held past its last valid
        # frame): finite everywhere, exact where the window saw no gap
        online = run_online(f, track, scores)
        assert np.isfinite(online).all()
        np.testing.assert_allclose(online[3:8], truth[3:8], atol=1e-6)
        np.testing.assert_allclose(online[23:27], truth[23:27], atol=1e-6)
        assert np.abs(online - truth).max() < 4 * 3 + 1e-6   # within a gap's motion


def test_one_euro_holds_missing_keypoints():
    track = np.arange(10.0)[:, None, None] * np.ones((1, 2, 2))
    track[4:6, 0] = np.nan
    out = OneEuroFilter(min_cutoff=5.0, fps=30).filter(track)
    np.testing.assert_array_equal(out[4, 0], out[3, 0])
    np.testing.assert_array_equal(out[5, 0], out[3, 0])
    assert out[6, 0, 0] > out[3, 0, 0]
    assert np.isfinite(out).all()


def test_a_keypoint_never_seen_stays_nan():
    track = np.random.default_rng(0).normal(size=(12, 2, 3))
    track[:, 1] = np.nan
    for name in FILTERS:
        out = POSE_FILTERS.build(FILTERS[name]).filter(track)
        assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, 0]).all()
    np.testing.assert_array_equal(fill_missing(track, np.isnan(track).any(-1))[:, 0],
                                  track[:, 0])


def test_names_aliases_and_short_names():
    assert type(build_pose_filter('one_euro')) is OneEuroFilter
    assert type(build_pose_filter('savgol')) is SavitzkyGolayFilter
    assert type(build_pose_filter('gaussian')) is GaussianFilter
    mmpose_style = POSE_FILTERS.build(dict(type='SavizkyGolayFilter', window_size=7,
                                           polyorder=2))
    assert type(mmpose_style) is SavitzkyGolayFilter and mmpose_style.window == 7
    assert mmpose_style.latency_frames == 3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='window must be an odd int'):
        SavitzkyGolayFilter(window=10)
    with pytest.raises(ValueError, match='polyorder'):
        SavitzkyGolayFilter(window=5, polyorder=5)
    with pytest.raises(ValueError, match='sigma'):
        GaussianFilter(sigma=0)
    with pytest.raises(ValueError, match='fps'):
        OneEuroFilter(fps=0)
    with pytest.raises(ValueError, match=r'track must have shape \[T, K, C\]'):
        GaussianFilter().filter(np.zeros((5, 3)))
    with pytest.raises(ValueError, match='scores must have shape'):
        GaussianFilter().filter(np.zeros((5, 3, 2)), np.ones((5, 2)))
    f = OneEuroFilter()
    f.step(np.zeros((3, 2)))
    with pytest.raises(ValueError, match='reset'):
        f.step(np.zeros((4, 2)))
    f.reset()
    assert f.step(np.ones((4, 2))).shape == (4, 2)
