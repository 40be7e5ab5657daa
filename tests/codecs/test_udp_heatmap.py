"""UDPHeatmap ('gaussian' and 'combined'): equal to MMPose 1.3.2's own outputs
(tests/fixtures/mmpose/codecs.npz, made by make_fixtures.py), round trips, weights
and argument errors."""
import json
from pathlib import Path

import numpy as np
import pytest

from hpekit.codecs import UDPHeatmap, build_codec
from hpekit.core.heatmap_decode import decode_offset_maps

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose'
META = json.loads((FIXTURES / 'codecs.json').read_text())
ARRAYS = dict(np.load(FIXTURES / 'codecs.npz'))
CASES = sorted(n for n, c in META['cases'].items() if c['config']['type'] == 'UDPHeatmap')
TARGET_ATOL, KEYPOINT_ATOL, SCORE_ATOL = 1e-6, 1e-4, 1e-5


def mmpose_codec(case):
    return build_codec(dict(META['cases'][case]['config']))   # MMPose's dict as it is


def test_the_fixture_has_the_udp_cases():
    assert {'udp', 'udp_combined'} <= set(CASES)


@pytest.mark.parametrize('case', CASES)
def test_encode_equals_mmpose(case):
    entry = META['cases'][case]
    out = mmpose_codec(case).encode(ARRAYS[META['inputs']['keypoints']],
                                    ARRAYS[META['inputs']['keypoints_visible']])
    np.testing.assert_allclose(out['heatmaps'], ARRAYS[entry['encode']['heatmaps']],
                               rtol=0, atol=TARGET_ATOL)
    np.testing.assert_allclose(out['target_weight'],
                               ARRAYS[entry['encode']['keypoint_weights']].reshape(-1),
                               rtol=0, atol=TARGET_ATOL)


@pytest.mark.parametrize('which', ['decode_own', 'decode_random'])
@pytest.mark.parametrize('case', CASES)
def test_decode_equals_mmpose(case, which):
    """Keypoints within 1e-4 px (NaN where MMPose's are: an all-zero 'gaussian' map
    is modulated by 0/0), scores within 1e-5.

    hpekit returns px of the 'corners' crop, ``x_hm·(W - 1)/(w - 1)``; MMPose's codec
    returns ``x_hm·W/(w - 1)`` (its estimator then maps back with its non-UDP
    formula): the same heatmap location, scaled by W/(W - 1)."""
    entry = META['cases'][case][which]
    codec = mmpose_codec(case)
    keypoints, scores = codec.decode(ARRAYS[entry['inputs'][0]])
    expected = ARRAYS[entry['keypoints']]
    assert keypoints.shape == expected.shape and keypoints.dtype == np.float32
    size = np.array(codec.input_size, np.float64)
    np.testing.assert_allclose(keypoints * (size / (size - 1)), expected, rtol=0,
                               atol=KEYPOINT_ATOL)
    np.testing.assert_allclose(scores, ARRAYS[entry['scores']], rtol=0, atol=SCORE_ATOL)


@pytest.mark.parametrize('case', ['udp', 'udp_combined'])
def test_batched_decoding_is_per_sample_decoding(case):
    codec = mmpose_codec(case)
    maps = ARRAYS[META['cases'][case]['decode_random']['inputs'][0]]
    batch = np.stack([maps, maps * 0.5])
    keypoints, scores = codec.decode(batch)
    for i in range(2):
        one, one_scores = codec.decode(batch[i])
        np.testing.assert_array_equal(keypoints[i], one[0])
        np.testing.assert_array_equal(scores[i], one_scores[0])


# ------------------------------------------------------------------- round trips
POINTS = np.random.default_rng(5).uniform([16, 16], [176, 240], (30, 2)).astype(np.float32)


@pytest.mark.parametrize('heatmap_type', ['gaussian', 'combined'])
def test_round_trip_returns_the_points(heatmap_type):
    """Encoding maps x to x·(w - 1)/(W - 1) and decoding back with (W - 1)/(w - 1)."""
    codec = UDPHeatmap((192, 256), (48, 64), heatmap_type=heatmap_type)
    out = codec.encode(POINTS, np.ones(len(POINTS)))
    keypoints, scores = codec.decode(out['heatmaps'])
    expected = POINTS
    # DARK's step within 0.06 px (the zero-padded blur biases it near the border);
    # the offsets are exact; the scores are the maxima of the maps (Gaussians peak
    # near 1, the blurred discs of radius 3.5 px near 0.33)
    atol, low = (0.06, 0.5) if heatmap_type == 'gaussian' else (1e-3, 0.3)
    np.testing.assert_allclose(keypoints[0], expected, atol=atol)
    assert np.all(scores > low)


def test_combined_maps_layout():
    codec = UDPHeatmap((65, 65), (17, 17), heatmap_type='combined', radius_factor=0.25)
    out = codec.encode([[32.0, 16.0]])       # heatmap px (8, 4); radius 0.25·17 px
    maps = out['heatmaps']
    assert maps.shape == (3, 17, 17)
    assert maps[0, 4, 8] == 1 and maps[0, 4, 12] == 1 and maps[0, 4, 13] == 0
    radius = 0.25 * 17
    assert maps[1, 0, 0] == pytest.approx(8 / radius)       # offsets over the whole map
    assert maps[2, 16, 3] == pytest.approx((4 - 16) / radius)
    keypoints, _ = decode_offset_maps(maps, 0.25, 11)
    np.testing.assert_allclose(keypoints, [[8.0, 4.0]], atol=1e-5)


# ------------------------------------------------------------------ weights
def test_gaussian_weights():
    codec = UDPHeatmap((65, 65), (17, 17), sigma=1)
    out = codec.encode([[10, 10], [500, 10], [20, 20], [-10, 30], [30, 30]],
                       [1, 1, 0, 1, 0.7])
    # invisible (0) and far outside: 0; just outside (-2.5 heatmap px, within 3σ):
    # MMPose keeps the weight and a partial Gaussian; a visibility >= 0.5 is kept as is
    assert out['target_weight'].tolist() == pytest.approx([1.0, 0.0, 0.0, 1.0, 0.7])
    assert not out['heatmaps'][1].any() and not out['heatmaps'][2].any()
    assert 0 < out['heatmaps'][3].max() < 0.5


def test_combined_weights_are_never_lowered():
    codec = UDPHeatmap((65, 65), (17, 17), heatmap_type='combined')
    out = codec.encode([[10, 10], [500, 10], [20, 20]], [1, 1, 0])
    assert out['target_weight'].tolist() == [1.0, 1.0, 0.0]   # MMPose's: no bounds check
    assert not out['heatmaps'][3].any()                        # the far point's disc
    assert not out['heatmaps'][6:9].any()                      # invisible: empty maps


# -------------------------------------------------------------------- errors
def test_arguments_are_checked():
    with pytest.raises(ValueError, match='heatmap_type'):
        UDPHeatmap((192, 256), (48, 64), heatmap_type='offset')
    with pytest.raises(ValueError, match='at least 2'):
        UDPHeatmap((192, 256), (1, 64))
    with pytest.raises(ValueError, match='sigma'):
        UDPHeatmap((192, 256), (48, 64), sigma=0)
    with pytest.raises(ValueError, match='radius_factor'):
        UDPHeatmap((192, 256), (48, 64), heatmap_type='combined', radius_factor=-1)
    with pytest.raises(ValueError, match='blur_kernel_size'):
        UDPHeatmap((192, 256), (48, 64), blur_kernel_size=4)
    codec = UDPHeatmap((192, 256), (48, 64), heatmap_type='combined')
    with pytest.raises(ValueError, match='3 per keypoint'):
        codec.decode(np.zeros((4, 64, 48), np.float32))
    with pytest.raises(ValueError, match='heatmap_size'):
        codec.decode(np.zeros((3, 48, 64), np.float32))
    with pytest.raises(ValueError, match='visibility'):
        codec.encode([[1, 2], [3, 4]], [1, 1, 1])


def test_repr():
    assert repr(UDPHeatmap((192, 256), (48, 64))) == (
        "UDPHeatmap(input_size=(192, 256), heatmap_size=(48, 64), heatmap_type="
        "'gaussian', sigma=2, blur_kernel_size=11)")
    assert 'radius_factor=0.0546875' in repr(
        UDPHeatmap((192, 256), (48, 64), heatmap_type='combined'))
