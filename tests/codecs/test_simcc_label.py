"""SimCCLabel: equal to MMPose 1.3.2's own outputs (tests/fixtures/mmpose/codecs.npz,
made by make_fixtures.py), round trips, weights, visibility decoding and argument
errors."""
import json
from pathlib import Path

import numpy as np
import pytest

from hpekit.codecs import SimCCLabel, build_codec
from hpekit.core.simcc import simcc_dark_kernel

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose'
META = json.loads((FIXTURES / 'codecs.json').read_text())
ARRAYS = dict(np.load(FIXTURES / 'codecs.npz'))
CASES = sorted(n for n, c in META['cases'].items() if c['config']['type'] == 'SimCCLabel')
TARGET_ATOL, KEYPOINT_ATOL, SCORE_ATOL = 1e-6, 1e-4, 1e-5


def mmpose_codec(case):
    return build_codec(dict(META['cases'][case]['config']))   # MMPose's dict as it is


def test_the_fixture_has_the_simcc_cases():
    assert {'simcc', 'simcc_normalize', 'simcc_smooth', 'simcc_standard',
            'simcc_dark'} <= set(CASES)


@pytest.mark.parametrize('case', CASES)
def test_encode_equals_mmpose(case):
    entry = META['cases'][case]
    out = mmpose_codec(case).encode(ARRAYS[META['inputs']['keypoints']],
                                    ARRAYS[META['inputs']['keypoints_visible']])
    for field in ('keypoint_x_labels', 'keypoint_y_labels'):
        expected = ARRAYS[entry['encode'][field]]          # (N=1, K, W)
        assert out[field].shape == expected.shape[1:] and out[field].dtype == np.float32
        np.testing.assert_allclose(out[field], expected[0], rtol=0, atol=TARGET_ATOL)
    np.testing.assert_allclose(out['target_weight'],
                               ARRAYS[entry['encode']['keypoint_weights']].reshape(-1),
                               rtol=0, atol=TARGET_ATOL)


@pytest.mark.parametrize('which', ['decode_own', 'decode_random'])
@pytest.mark.parametrize('case', CASES)
def test_decode_equals_mmpose(case, which):
    entry = META['cases'][case][which]
    simcc_x, simcc_y = (ARRAYS[key] for key in entry['inputs'])
    keypoints, scores = mmpose_codec(case).decode(simcc_x, simcc_y)
    expected = ARRAYS[entry['keypoints']]
    assert keypoints.shape == expected.shape and keypoints.dtype == np.float32
    np.testing.assert_allclose(keypoints, expected, rtol=0, atol=KEYPOINT_ATOL)
    np.testing.assert_allclose(scores, ARRAYS[entry['scores']], rtol=0, atol=SCORE_ATOL)


def test_decode_forms_and_batches():
    codec = mmpose_codec('simcc_dark')
    simcc_x, simcc_y = ARRAYS['random/simcc_x'], ARRAYS['random/simcc_y']   # [1, K, W]
    keypoints, scores = codec.decode(simcc_x, simcc_y)
    pair = codec.decode((simcc_x, simcc_y))                  # one (x, y) pair
    unbatched = codec.decode(simcc_x[0], simcc_y[0])         # [K, W]
    for other in (pair, unbatched):
        np.testing.assert_array_equal(other[0], keypoints)
        np.testing.assert_array_equal(other[1], scores)
    batch = codec.decode(np.concatenate([simcc_x, simcc_x[:, ::-1]]),
                         np.concatenate([simcc_y, simcc_y[:, ::-1]]))
    np.testing.assert_array_equal(batch[0][:1], keypoints)
    np.testing.assert_array_equal(batch[0][1], codec.decode(simcc_x[:, ::-1],
                                                            simcc_y[:, ::-1])[0][0])


def test_dark_leaves_the_inputs_unchanged():
    simcc_x, simcc_y = ARRAYS['random/simcc_x'].copy(), ARRAYS['random/simcc_y'].copy()
    mmpose_codec('simcc_dark').decode(simcc_x, simcc_y)
    np.testing.assert_array_equal(simcc_x, ARRAYS['random/simcc_x'])
    np.testing.assert_array_equal(simcc_y, ARRAYS['random/simcc_y'])


def test_decode_visibility_is_mmpose_s_tuple():
    cfg = dict(META['cases']['simcc']['config'], decode_visibility=True)
    codec = build_codec(cfg)
    simcc_x, simcc_y = ARRAYS['random/simcc_x'], ARRAYS['random/simcc_y']
    keypoints, (scores, visibility) = codec.decode(simcc_x, simcc_y)
    plain = mmpose_codec('simcc').decode(simcc_x, simcc_y)
    np.testing.assert_array_equal(keypoints, plain[0])
    np.testing.assert_array_equal(scores, plain[1])
    assert visibility.shape == scores.shape and visibility.dtype == np.float32
    # the smaller of the two softmax maxima of the vectors · beta · sigma
    def peak(v, s):
        z = v[0] * 150.0 * s
        e = np.exp(z - z.max(-1, keepdims=True))
        return (e / e.sum(-1, keepdims=True)).max(-1)
    np.testing.assert_allclose(visibility[0], np.minimum(peak(simcc_x, 4.9),
                                                         peak(simcc_y, 5.66)), atol=1e-6)


# ------------------------------------------------------------------- round trips
# away from the borders: there DARK's zero-padded blur pulls the estimate inward (by
# up to about 1.5 px within 3σ of the border, as MMPose's)
POINTS = np.random.default_rng(7).uniform([12, 12], [180, 244], (50, 2)).astype(np.float32)


@pytest.mark.parametrize('cfg', [dict(), dict(normalize=False), dict(use_dark=True),
                                 dict(smoothing_type='standard'),
                                 dict(smoothing_type='standard', label_smooth_weight=0.2),
                                 dict(simcc_split_ratio=3.0, sigma=(4.0, 5.0))])
def test_round_trip_to_half_a_bin(cfg):
    codec = SimCCLabel((192, 256), **cfg)
    out = codec.encode(POINTS, np.ones(len(POINTS)))
    assert out['target_weight'].tolist() == [1.0] * len(POINTS)
    keypoints, scores = codec.decode(out['keypoint_x_labels'], out['keypoint_y_labels'])
    # a label peaks on the rounded bin: within half a bin (1 / (2·ratio) px)
    half_bin = 0.5 / codec.simcc_split_ratio
    assert np.abs(keypoints[0] - POINTS).max() <= half_bin + 1e-4
    assert np.all(scores > 0)


def test_labels_layout():
    codec = SimCCLabel((32, 48), sigma=2.0, normalize=False)
    out = codec.encode([[10.2, 6.0]])
    assert out['keypoint_x_labels'].shape == (1, 64) and out['keypoint_y_labels'].shape == (1, 96)
    assert out['keypoint_x_labels'][0].argmax() == 20 and out['keypoint_x_labels'][0, 20] == 1
    normalized = SimCCLabel((32, 48), sigma=2.0).encode([[10.2, 6.0]])
    assert normalized['keypoint_x_labels'][0, 20] == pytest.approx(1 / (2 * np.sqrt(2 * np.pi)))
    # MMPose rounds to the bin with NumPy's round (halves to even): 150.25 px → 300.5 → 300
    assert SimCCLabel((192, 256)).encode([[150.25, 10]])['keypoint_x_labels'][0].argmax() == 300
    smooth = SimCCLabel((32, 48), smoothing_type='standard', label_smooth_weight=0.2).encode(
        [[10.2, 6.0]])['keypoint_x_labels'][0]
    assert smooth[20] == pytest.approx(0.8) and smooth[0] == pytest.approx(0.2 / 63)


# ------------------------------------------------------------------ weights
def test_weights():
    codec = SimCCLabel((32, 48), sigma=2.0)
    out = codec.encode([[10, 10], [500, 10], [20, 20], [-2, 30], [5, 5]], [1, 1, 0, 1, 0.7])
    # invisible and far outside: 0; just outside (-4 bins, within 3σ): MMPose keeps the
    # weight and a Gaussian tail; a visibility >= 0.5 is kept as is
    assert out['target_weight'].tolist() == pytest.approx([1.0, 0.0, 0.0, 1.0, 0.7])
    assert not out['keypoint_x_labels'][1:3].any()
    assert 0 < out['keypoint_x_labels'][3].max() < out['keypoint_x_labels'][0].max()
    standard = SimCCLabel((32, 48), smoothing_type='standard').encode([[-2, 30], [10, 10]])
    assert standard['target_weight'].tolist() == [0.0, 1.0]   # 'standard': no tolerance


def test_dark_kernel_rule():
    assert [simcc_dark_kernel(s) for s in (6.0, 5.66, 4.9, 1.5)] == [37, 35, 29, 7]


# -------------------------------------------------------------------- errors
def test_arguments_are_checked():
    with pytest.raises(ValueError, match='smoothing_type'):
        SimCCLabel((192, 256), smoothing_type='laplace')
    with pytest.raises(ValueError, match='label_smooth_weight'):
        SimCCLabel((192, 256), label_smooth_weight=0.1)            # 'gaussian'
    with pytest.raises(ValueError, match='label_smooth_weight'):
        SimCCLabel((192, 256), smoothing_type='standard', label_smooth_weight=1.5)
    with pytest.raises(ValueError, match='sigma'):
        SimCCLabel((192, 256), sigma=(1.0, 0.0))
    with pytest.raises(ValueError, match='sigma'):
        SimCCLabel((192, 256), sigma=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match='simcc_split_ratio'):
        SimCCLabel((192, 256), simcc_split_ratio=0)
    with pytest.raises(ValueError, match='decode_beta'):
        SimCCLabel((192, 256), decode_beta=-1)
    codec = SimCCLabel((192, 256))
    with pytest.raises(ValueError, match=r'simcc_x must be \[K, 384\]'):
        codec.decode(np.zeros((1, 3, 380)), np.zeros((1, 3, 512)))
    with pytest.raises(ValueError, match='differ'):
        codec.decode(np.zeros((1, 3, 384)), np.zeros((1, 2, 512)))
    with pytest.raises(TypeError, match='simcc_y'):
        codec.decode(np.zeros((1, 3, 384)))
    with pytest.raises(ValueError, match='visibility'):
        codec.encode([[1, 2], [3, 4]], [1])


def test_repr():
    assert repr(SimCCLabel((192, 256), sigma=(4.9, 5.66), use_dark=True)) == (
        "SimCCLabel(input_size=(192, 256), smoothing_type='gaussian', sigma=(4.9, 5.66), "
        "simcc_split_ratio=2, normalize=True, use_dark=True)")
