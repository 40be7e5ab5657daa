"""MSRAHeatmap's MMPose geometry (``grid='origin'``) and DARK (``unbiased=True``): equal
to MMPose 1.3.2's own outputs (tests/fixtures/mmpose/codecs.npz, made by
make_fixtures.py), round trips, weights, MMPose's decoding quirks, and the default
('edges', hpekit's) behaviour unchanged."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hpekit.codecs import MSRAHeatmap, build_codec
from hpekit.codecs.msra_heatmap import heatmap_to_input, input_to_heatmap
from hpekit.core import decode_heatmaps, gaussian_heatmaps
from hpekit.core.heatmap_decode import blur_kernel, gaussian_blur, heatmap_maximum

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose'
META = json.loads((FIXTURES / 'codecs.json').read_text())
ARRAYS = dict(np.load(FIXTURES / 'codecs.npz'))
CASES = sorted(n for n, c in META['cases'].items() if c['config']['type'] == 'MSRAHeatmap')
# tolerances of the equality with MMPose (targets, keypoints in input px, scores)
TARGET_ATOL, KEYPOINT_ATOL, SCORE_ATOL = 1e-6, 1e-4, 1e-5


def mmpose_codec(case):
    cfg = dict(META['cases'][case]['config'])
    return build_codec(dict(cfg, grid='origin'))   # an MMPose codec dict + grid='origin'


def test_the_fixture_has_the_msra_cases():
    assert {'msra', 'dark'} <= set(CASES)


@pytest.mark.parametrize('case', CASES)
def test_encode_equals_mmpose(case):
    entry = META['cases'][case]
    codec = mmpose_codec(case)
    out = codec.encode(ARRAYS[META['inputs']['keypoints']],
                       ARRAYS[META['inputs']['keypoints_visible']])
    np.testing.assert_allclose(out['heatmaps'], ARRAYS[entry['encode']['heatmaps']],
                               rtol=0, atol=TARGET_ATOL)
    np.testing.assert_allclose(out['target_weight'],
                               ARRAYS[entry['encode']['keypoint_weights']].reshape(-1),
                               rtol=0, atol=TARGET_ATOL)
    assert out['heatmaps'].dtype == np.float32 and out['target_weight'].dtype == np.float32


@pytest.mark.parametrize('which', ['decode_own', 'decode_random'])
@pytest.mark.parametrize('case', CASES)
def test_decode_equals_mmpose(case, which):
    entry = META['cases'][case][which]
    keypoints, scores = mmpose_codec(case).decode(ARRAYS[entry['inputs'][0]])
    expected = ARRAYS[entry['keypoints']]
    assert keypoints.shape == expected.shape and keypoints.dtype == np.float32
    np.testing.assert_allclose(keypoints, expected, rtol=0, atol=KEYPOINT_ATOL)
    np.testing.assert_allclose(scores, ARRAYS[entry['scores']], rtol=0, atol=SCORE_ATOL)


def test_batched_decoding_is_per_sample_decoding():
    codec = mmpose_codec('dark')
    maps = ARRAYS[META['random_targets']['heatmaps']]
    batch = np.stack([maps, maps[::-1]])
    keypoints, scores = codec.decode(batch)
    for i in range(2):
        one, one_scores = codec.decode(batch[i])
        np.testing.assert_array_equal(keypoints[i], one[0])
        np.testing.assert_array_equal(scores[i], one_scores[0])


def test_decoding_leaves_the_heatmaps_unchanged():
    maps = ARRAYS[META['random_targets']['heatmaps']].copy()
    mmpose_codec('dark').decode(maps)
    np.testing.assert_array_equal(maps, ARRAYS[META['random_targets']['heatmaps']])


# ------------------------------------------------------------------- round trips
POINTS = np.random.default_rng(3).uniform([24, 24], [168, 232], (40, 2)).astype(np.float32)


@pytest.mark.parametrize('grid', ['edges', 'origin'])
def test_dark_round_trip_is_sub_pixel(grid):
    codec = MSRAHeatmap((192, 256), (48, 64), sigma=2, unbiased=True, grid=grid)
    out = codec.encode(POINTS, np.ones(len(POINTS)))
    keypoints, scores = codec.decode(out['heatmaps'])
    # DARK on its own (untruncated, sub-pixel) targets: within 0.01 input px
    np.testing.assert_allclose(keypoints[0], POINTS, atol=0.01)
    assert np.all(scores > 0.8)


def test_origin_round_trip_within_half_a_heatmap_px():
    codec = MSRAHeatmap((192, 256), (48, 64), sigma=2, grid='origin')
    out = codec.encode(POINTS)
    keypoints, _ = codec.decode(out['heatmaps'])
    # MMPose's targets peak on the rounded heatmap px; the quarter step adds <= 1/4
    assert np.abs(keypoints[0] - POINTS).max() <= 0.75 * 4 + 1e-4


def test_origin_maps_heatmap_px_i_to_input_px_i_times_stride():
    codec = MSRAHeatmap((192, 256), (48, 64), sigma=2, grid='origin')
    maps = codec.encode([[40.0, 80.0]])['heatmaps']   # heatmap px (10, 20) exactly
    assert np.unravel_index(maps[0].argmax(), maps[0].shape) == (20, 10)
    assert maps[0, 20, 10] == 1.0
    np.testing.assert_array_equal(codec.decode(maps)[0][0], [[40.0, 80.0]])


# ------------------------------------------------------------------ weights
@pytest.mark.parametrize('grid', ['edges', 'origin'])
@pytest.mark.parametrize('unbiased', [False, True])
def test_invisible_and_far_outside_points_get_weight_0(grid, unbiased):
    codec = MSRAHeatmap((64, 64), (16, 16), sigma=1, unbiased=unbiased, grid=grid)
    out = codec.encode([[10, 10], [500, 10], [20, 20], [-300, -300]], [1, 1, 0, 1])
    assert out['target_weight'].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert out['heatmaps'][0].max() > 0.5
    assert not out['heatmaps'][1:].any()


def test_origin_weights_are_mmpose_s():
    """The weight is the visibility itself, 0 only where the 3σ window misses the
    heatmap: a point just outside keeps weight 1 and a partial Gaussian."""
    codec = MSRAHeatmap((64, 64), (16, 16), sigma=1, grid='origin')
    out = codec.encode([[-6.0, 20.0], [30.0, 30.0], [30.0, 30.0]], [1, 0.3, 0.7])
    assert out['target_weight'].tolist() == pytest.approx([1.0, 0.3, 0.7])
    assert out['heatmaps'][0].max() > 0    # the tail of a Gaussian on heatmap px x = -1
    assert not out['heatmaps'][1].any()    # visible < 0.5: no target


# --------------------------------------------------------- MMPose's decoding quirks
def _peak(h, w, x, y, right=0.0, down=0.0):
    """A map with its maximum at (x, y) and a chosen right / lower neighbour."""
    maps = np.full((1, 1, h, w), 0.1, np.float32)
    maps[0, 0, y, x] = 1.0
    if right:
        maps[0, 0, y, x + 1] = right
    if down:
        maps[0, 0, y + 1, x] = down
    return maps


def test_origin_quarter_step_uses_mmpose_border_rules():
    codec = MSRAHeatmap((64, 64), (16, 16), sigma=1, grid='origin')
    edges = MSRAHeatmap((64, 64), (16, 16), sigma=1)
    stride = 4.0
    # x = 1: MMPose takes no x step (it needs 2 <= x); hpekit's edges decoding does
    keypoints = codec.decode(_peak(16, 16, 1, 5, right=0.5))[0][0, 0]
    np.testing.assert_array_equal(keypoints, [1 * stride, 5 * stride])
    assert edges.decode(_peak(16, 16, 1, 5, right=0.5))[0][0, 0, 0] != \
        heatmap_to_input([[1.0, 5.0]], (64, 64), (16, 16))[0, 0]
    # row 0: MMPose takes no x step (it needs y >= 1)
    np.testing.assert_array_equal(codec.decode(_peak(16, 16, 5, 0, right=0.5))[0][0, 0],
                                  [5 * stride, 0.0])
    # an inner maximum: 0.25 px toward the higher neighbour on both axes
    np.testing.assert_array_equal(
        codec.decode(_peak(16, 16, 5, 6, right=0.5, down=0.4))[0][0, 0],
        [5.25 * stride, 6.25 * stride])


def test_origin_decodes_a_map_without_positive_values_to_minus_one():
    for unbiased in (False, True):
        codec = MSRAHeatmap((64, 64), (16, 16), sigma=1, unbiased=unbiased, grid='origin')
        keypoints, scores = codec.decode(np.full((1, 16, 16), -0.5, np.float32))
        np.testing.assert_array_equal(keypoints[0, 0], [-4.0, -4.0])
        assert scores[0, 0] == -0.5


# ------------------------------------------------------- default unchanged
def test_edges_default_is_hpekit_s_decoding_and_targets():
    codec = MSRAHeatmap((192, 256), (48, 64), sigma=2)
    assert codec.grid == 'edges' and not codec.unbiased
    out = codec.encode(POINTS)
    expected, _ = gaussian_heatmaps(input_to_heatmap(POINTS, (192, 256), (48, 64)),
                                    np.ones(len(POINTS)), (48, 64), 2.0)
    np.testing.assert_array_equal(out['heatmaps'], expected)
    maps = ARRAYS[META['random_targets']['heatmaps']][None]
    coords, scores = decode_heatmaps(maps)
    keypoints, got_scores = codec.decode(maps)
    np.testing.assert_array_equal(
        keypoints, heatmap_to_input(coords, (192, 256), (48, 64)).astype(np.float32))
    np.testing.assert_array_equal(got_scores, scores)


# -------------------------------------------------------------- blur, errors
@pytest.mark.parametrize('size', [3, 5, 7, 9, 11, 17, 23, 35])
def test_blur_kernel_is_opencv_s(size):
    np.testing.assert_allclose(blur_kernel(size),
                               cv2.getGaussianKernel(size, 0, cv2.CV_32F).ravel(),
                               rtol=0, atol=1e-7)


@pytest.mark.parametrize('size', [3, 11, 17, 23])
def test_gaussian_blur_is_opencv_s(size):
    maps = ARRAYS[META['random_targets']['heatmaps']][:3]
    pad = size // 2
    expected = []
    for m in maps:
        padded = np.zeros((m.shape[0] + 2 * pad, m.shape[1] + 2 * pad), np.float32)
        padded[pad:-pad, pad:-pad] = m
        expected.append(cv2.GaussianBlur(padded, (size, size), 0)[pad:-pad, pad:-pad])
    # OpenCV's order of operations is followed: equal to a float32 rounding or two
    np.testing.assert_allclose(gaussian_blur(maps, size), expected, rtol=0, atol=3e-7)
    reflect = [cv2.GaussianBlur(m.copy(), (size, size), 0) for m in maps]
    np.testing.assert_allclose(gaussian_blur(maps, size, 'reflect'), reflect, rtol=0,
                               atol=3e-7)


def test_heatmap_maximum_marks_non_positive_maps():
    maps = np.zeros((2, 4, 5), np.float32)
    maps[0, 2, 3] = 0.5
    locations, values = heatmap_maximum(maps)
    np.testing.assert_array_equal(locations, [[3, 2], [-1, -1]])
    np.testing.assert_array_equal(values, [0.5, 0.0])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match='grid'):
        MSRAHeatmap(grid='corners')
    with pytest.raises(ValueError, match='blur_kernel_size'):
        MSRAHeatmap(blur_kernel_size=10)
    with pytest.raises(ValueError, match='blur_kernel_size'):
        MSRAHeatmap(blur_kernel_size=0)
    with pytest.raises(TypeError, match='unbiased'):
        MSRAHeatmap(unbiased='yes')
    with pytest.raises(ValueError, match='sigma'):
        MSRAHeatmap(sigma=-1)
    with pytest.raises(ValueError, match='visibility'):
        MSRAHeatmap().encode([[1, 2], [3, 4]], [1])
    with pytest.raises(ValueError, match='heatmap_size'):
        MSRAHeatmap(grid='origin').decode(np.zeros((2, 8, 8)))


def test_repr_names_the_non_default_arguments():
    assert repr(MSRAHeatmap((192, 256), (48, 64), 2)) == \
        'MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2)'
    assert repr(MSRAHeatmap((192, 256), (48, 64), 2, unbiased=True, grid='origin')) == (
        "MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2, "
        "unbiased=True, blur_kernel_size=11, grid='origin')")
