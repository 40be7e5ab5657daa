"""Top-down transforms: affine geometry, flip, heatmap targets, half body, packing, I/O."""
import cv2
import numpy as np
import pytest
import torch
from metainfo_values import (MPII_FLIP_INDICES, MPII_LOWER_BODY_IDS, MPII_META, MPII_UPPER_BODY_IDS,
                             per_sample_keys)

from hpekit.codecs import MSRAHeatmap
from hpekit.codecs.msra_heatmap import input_to_heatmap
from hpekit.core import apply_affine, gaussian_heatmaps, invert_affine
from hpekit.datasets.transforms import GenerateTarget
from hpekit.datasets.transforms.topdown_transforms import (LoadImage, PackPoseInputs,
                                                           RandomHalfBody, TopdownAffine)
from hpekit.registry import TRANSFORMS
from hpekit.structures import PoseDataSample

J = MPII_META['keypoint_name2id']
CODEC = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2.0)


def _keypoints():
    """A plausible 16-joint layout around (320, 240), 0-based px."""
    rng = np.random.default_rng(0)
    return (np.array([320.0, 240.0]) + rng.uniform(-90, 90, (16, 2))).astype(np.float32)


def _results(img=None, **extra):
    results = {'img': np.zeros((480, 640, 3), np.uint8) if img is None else img,
               'center': np.array([320.0, 240.0], np.float32),
               'bbox_size': np.array([256.0, 256.0], np.float32),
               'keypoints': _keypoints(), 'keypoints_visible': np.ones(16, np.float32),
               'sample_idx': 7, 'image_id': 'x.jpg'}
    results.update(per_sample_keys(MPII_META))   # as the dataset adds them
    results.update(extra)
    return results


def _blob_image(point, shape=(480, 640), sigma=2.5):
    """float-valued Gaussian blob (peak 250) at a sub-pixel point, as uint8 [H, W, 3]."""
    ys, xs = np.mgrid[:shape[0], :shape[1]]
    blob = 250 * np.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * sigma ** 2))
    return np.repeat(np.round(blob).astype(np.uint8)[..., None], 3, axis=2)


def _centroid(img):
    weight = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:img.shape[0], :img.shape[1]]
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def _affine(flip=False, rotate=False, scale=0.0, **kwargs):
    return TopdownAffine(input_size=(256, 256), scale_factor=scale, rotate_factor=30,
                         rotate_prob=1.0 if rotate else 0.0, flip_prob=1.0 if flip else 0.0,
                         **kwargs)


def test_affine_round_trip():
    np.random.seed(0)
    for _ in range(5):
        results = TopdownAffine(input_size=(256, 256))(_results())
        back = apply_affine(results['keypoints_input'], invert_affine(results['affine']))
        np.testing.assert_allclose(back, results['keypoints'], atol=0.5)
        np.testing.assert_allclose(apply_affine(results['keypoints'], results['affine']),
                                   results['keypoints_input'], atol=1e-3)
        assert results['img'].shape == (256, 256, 3) and results['img'].dtype == np.uint8
        assert results['affine'].shape == (2, 3)
        assert results['input_size'] == (256, 256) and isinstance(results['flip'], bool)


@pytest.mark.parametrize('flip, rotate', [(False, False), (True, False), (False, True),
                                          (True, True)])
def test_dot_lands_at_keypoint(flip, rotate):
    np.random.seed(1)
    keypoints = _keypoints()
    joint = J['right_wrist']
    img = _blob_image(keypoints[joint])
    results = _affine(flip, rotate, scale=0.25)(_results(img))
    assert results['flip'] is flip and (results['rotation'] != 0) is rotate
    # the image content of joint j lands at the slot of its mirror joint when flipped
    slot = MPII_FLIP_INDICES[joint] if flip else joint
    assert np.linalg.norm(_centroid(results['img']) - results['keypoints_input'][slot]) < 1.0


def test_dot_with_reduced_decode(tmp_path):
    keypoints = _keypoints() * 2   # in a 1280×960 image
    path = str(tmp_path / 'big.jpg')
    point = keypoints[J['left_elbow']]
    cv2.imwrite(path, _blob_image(point, (960, 1280), sigma=6), [cv2.IMWRITE_JPEG_QUALITY, 98])
    results = {'img_path': path, 'sample_idx': 0, 'input_size': (64, 64),
               'center': np.array([640.0, 480.0], np.float32),
               'bbox_size': np.array([700.0, 700.0], np.float32), 'keypoints': keypoints,
               'keypoints_visible': np.ones(16, np.float32),
               'flip_indices': list(MPII_FLIP_INDICES)}
    results = LoadImage()(results)
    assert results['img_scale'] == 0.125 and results['img'].shape == (120, 160, 3)
    results = TopdownAffine(input_size=(64, 64), augment=False)(results)
    found = _centroid(results['img'])
    assert np.linalg.norm(found - results['keypoints_input'][J['left_elbow']]) < 0.5


def test_no_reduction_without_input_size(tmp_path):
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, np.zeros((400, 800, 3), np.uint8))
    results = LoadImage()({'img_path': path, 'bbox_size': np.array([800.0, 800.0])})
    assert results['img_scale'] == 1.0 and results['img'].shape == (400, 800, 3)
    results = LoadImage(reduce_decode=False)({'img_path': path, 'input_size': (32, 32),
                                              'bbox_size': np.array([800.0, 800.0])})
    assert results['img_scale'] == 1.0


def test_flip_swaps_left_and_right_and_twice_restores():
    img = np.random.default_rng(2).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    plain = _affine(flip=False)(_results(img))
    flipped = _affine(flip=True)(_results(img))
    mirror = flipped['keypoints_input'].copy()
    mirror[:, 0] = 255 - mirror[:, 0]   # x -> W - 1 - x
    for part in ('wrist', 'ankle', 'elbow', 'knee', 'hip', 'shoulder'):
        left, right = f'left_{part}', f'right_{part}'
        np.testing.assert_allclose(mirror[J[left]], plain['keypoints_input'][J[right]], atol=1e-3)
        np.testing.assert_allclose(mirror[J[right]], plain['keypoints_input'][J[left]], atol=1e-3)
    for centre in ('pelvis', 'thorax', 'upper_neck', 'head_top'):
        np.testing.assert_allclose(mirror[J[centre]], plain['keypoints_input'][J[centre]],
                                   atol=1e-3)
    np.testing.assert_array_equal(flipped['keypoints'], plain['keypoints'][MPII_FLIP_INDICES])
    # the image is exactly mirrored; mirroring and permuting again restores everything
    np.testing.assert_array_equal(flipped['img'][:, ::-1], plain['img'])
    again = mirror[MPII_FLIP_INDICES]
    np.testing.assert_allclose(again, plain['keypoints_input'], atol=1e-3)


def test_visibility_zeroed_outside_crop():
    keypoints = _keypoints()
    keypoints[0] = [320 + 200, 240]      # right of the 256 px box
    keypoints[1] = [320, 240 - 129]      # just above it
    keypoints[2] = [320 - 127, 240 + 127]  # inside, near the corner
    visible = np.ones(16, np.float32)
    visible[3] = 0
    results = _affine()(_results(keypoints=keypoints, keypoints_visible=visible))
    assert results['keypoints_visible'][:4].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert results['keypoints_visible'].dtype == np.float32


def test_val_mode_is_identity_augmentation():
    np.random.seed(3)
    results = TopdownAffine(input_size=(256, 256), augment=False)(_results())
    assert results['flip'] is False and results['rotation'] == 0 and results['box_scale'] == 1
    np.testing.assert_allclose(results['keypoints_input'],
                               (results['keypoints'] - [320, 240]) + 127.5, atol=1e-4)


def _vertex(values):
    """Position (0..2) of the vertex of the parabola through 3 equally spaced values."""
    left, mid, right = values
    return 1 + 0.5 * (left - right) / (left - 2 * mid + right)


def test_gaussian_integer_and_subpixel_peak():
    heatmaps, weight = gaussian_heatmaps([[10, 20], [30.3, 40.6]], [1, 1], (64, 48), 2.0)
    assert heatmaps.shape == (2, 48, 64) and heatmaps.dtype == np.float32
    assert weight.tolist() == [1.0, 1.0]
    assert heatmaps[0, 20, 10] == 1.0 and heatmaps[0].argmax() == 20 * 64 + 10
    assert heatmaps[0, 20, 11] == pytest.approx(np.exp(-1 / 8))
    # the log of a Gaussian is a parabola: three samples give the exact sub-pixel peak
    log = np.log(np.maximum(heatmaps[1].astype(np.float64), 1e-30))
    assert _vertex(log[41, 29:32]) + 29 == pytest.approx(30.3, abs=1e-4)
    assert _vertex(log[39:42, 30]) + 39 == pytest.approx(40.6, abs=1e-4)
    assert heatmaps[1].max() < 1.0


def test_gaussian_truncated_and_weights():
    heatmaps, weight = gaussian_heatmaps(
        [[10, 10], [-1, 5], [5, 64], [10, 10], [float('nan'), 3], [-0.4, 63.4]],
        [1, 1, 1, 0, 1, 1], (64, 64), 2.0)
    assert weight.tolist() == [1, 0, 0, 0, 0, 1]
    assert heatmaps[0, 10, 16] > 0 and heatmaps[0, 10, 17] == 0   # 3σ = 6 px
    assert heatmaps[0, 16, 16] > 0 and heatmaps[0, 10, 3] == 0
    assert not heatmaps[1:5].any()
    with pytest.raises(ValueError):
        gaussian_heatmaps([[1, 1]], [1, 1], (8, 8))


def test_generate_target_uses_the_affine_convention():
    results = {'keypoints_input': np.array([[127.5, 127.5], [1.5, 253.5]] + [[0, 0]] * 14),
               'keypoints_visible': np.ones(16, np.float32), 'input_size': (256, 256)}
    results = GenerateTarget(encoder=CODEC)(results)
    assert results['heatmaps'].shape == (16, 64, 64) and results['target_weight'].shape == (16,)
    assert results['heatmap_size'] == (64, 64)
    # (x + 0.5) · 64 / 256 - 0.5: 1.5 → 0, 253.5 → 63, 127.5 → 31.5
    assert results['heatmaps'][1, 63, 0] == 1.0
    assert results['heatmaps'][0, 31, 31] == results['heatmaps'][0, 32, 32]
    np.testing.assert_allclose(input_to_heatmap([[127.5, 1.5]], (256, 256), (64, 64)),
                               [[31.5, 0.0]])


def test_generate_target_is_built_from_the_registry_and_needs_its_inputs():
    transform = TRANSFORMS.build(dict(type='GenerateTarget', encoder=CODEC))
    assert isinstance(transform.encoder, MSRAHeatmap)
    assert transform.encoder.input_size == (256, 256)
    assert transform.encoder.heatmap_size == (64, 64)
    with pytest.raises(KeyError, match='keypoints_input'):
        transform({'keypoints_visible': np.ones(16, np.float32)})


def test_codec_decode_inverts_encode():
    """The codec's decoding returns input px that round-trip its encoding."""
    codec = MSRAHeatmap(input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)
    points = np.array([[127.5, 95.5], [17.5, 33.5], [201.5, 150.5]])
    heatmaps = codec.encode(points, np.ones(3))['heatmaps']
    assert heatmaps.shape == (3, 48, 64)
    keypoints, scores = codec.decode(heatmaps)
    assert keypoints.shape == (1, 3, 2) and scores.shape == (1, 3)
    # argmax + quarter-pixel shift: within a quarter heatmap px (1 input px at stride 4)
    np.testing.assert_allclose(keypoints[0], points, atol=1.0 + 1e-6)
    with pytest.raises(ValueError, match='heatmap_size'):
        codec.decode(np.zeros((3, 64, 64), np.float32))


def test_half_body_box_contains_the_chosen_joints():
    np.random.seed(4)
    transform = RandomHalfBody(prob=1.0, min_visible=8)
    chosen = set()
    for _ in range(20):
        results = transform(_results())
        half = results['half_body']
        chosen.add(half)
        ids = MPII_UPPER_BODY_IDS if half == 'upper' else MPII_LOWER_BODY_IDS
        points = results['keypoints'][list(ids)]
        low = results['center'] - results['bbox_size'] / 2
        high = results['center'] + results['bbox_size'] / 2
        assert np.all(points >= low) and np.all(points <= high)
        assert results['bbox_size'][0] == results['bbox_size'][1]
        extent = (points.max(0) - points.min(0)).max()
        assert results['bbox_size'][0] == pytest.approx(1.5 * extent, rel=1e-5)
    assert chosen == {'upper', 'lower'}


def test_half_body_needs_enough_visible_joints():
    visible = np.zeros(16, np.float32)
    visible[:7] = 1
    results = RandomHalfBody(prob=1.0, min_visible=8)(_results(keypoints_visible=visible))
    assert results['half_body'] is None
    np.testing.assert_array_equal(results['center'], [320, 240])


def test_pack_pose_inputs():
    results = GenerateTarget(encoder=CODEC)(_affine()(_results(img_scale=1.0)))
    packed = TRANSFORMS.build(dict(type='PackPoseInputs'))(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 256, 256)
    assert inputs.is_contiguous()
    assert torch.equal(inputs, torch.from_numpy(results['img']).permute(2, 0, 1))
    assert isinstance(sample, PoseDataSample)
    assert sample.gt_heatmaps.shape == (16, 64, 64) and sample.gt_heatmaps.dtype == torch.float32
    assert sample.target_weight.shape == (16,) and sample.keypoints_visible.shape == (16,)
    assert sample.gt_keypoints.shape == (16, 2) and sample.gt_keypoints.dtype == torch.float32
    np.testing.assert_allclose(sample.gt_keypoints.numpy(), _keypoints())
    for key in ('sample_idx', 'image_id', 'center', 'bbox_size', 'input_size',
                'heatmap_size', 'flip_indices', 'img_scale'):
        assert key in sample.metainfo, key
    assert sample.sample_idx == 7


def test_pack_without_heatmaps():
    packed = PackPoseInputs()(TopdownAffine(input_size=(256, 256), augment=False)(_results()))
    sample = packed['data_samples']
    assert 'gt_heatmaps' not in sample and 'target_weight' not in sample
    assert sample.gt_keypoints.shape == (16, 2)


def test_load_image(tmp_path):
    img = np.random.default_rng(5).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    path = str(tmp_path / 'ok.png')
    cv2.imwrite(path, img)
    results = LoadImage()({'img_path': path, 'sample_idx': 3})
    np.testing.assert_array_equal(results['img'], img[..., ::-1])   # BGR file → RGB
    assert results['img_scale'] == 1.0 and results['img_shape'] == (30, 40)
    np.testing.assert_array_equal(LoadImage(to_rgb=False)({'img_path': path})['img'], img)


def test_load_image_errors(tmp_path):
    missing = str(tmp_path / 'nope.jpg')
    with pytest.raises(FileNotFoundError, match=r'nope\.jpg.*sample_idx 12'):
        LoadImage()({'img_path': missing, 'sample_idx': 12, 'image_id': 'nope.jpg'})
    corrupt = tmp_path / 'bad.jpg'
    corrupt.write_bytes(b'\xff\xd8\xff\xe0 this is not really a jpeg' * 3)
    with pytest.raises(OSError, match=r'bad\.jpg.*sample_idx 4.*corrupt'):
        LoadImage()({'img_path': str(corrupt), 'sample_idx': 4})


def test_half_body_reads_the_halves_from_the_results():
    """The body halves come from the data info (the dataset's metainfo), not arguments."""
    results = _results()
    del results['upper_body_ids']
    with pytest.raises(KeyError, match='upper_body_ids'):
        RandomHalfBody(prob=1.0, min_visible=8)(results)
    # halves of another layout: only joints 0..3 form the "upper" half
    np.random.seed(6)
    for _ in range(10):
        results = RandomHalfBody(prob=1.0, min_visible=8)(
            _results(upper_body_ids=[0, 1, 2, 3], lower_body_ids=[4, 5, 6, 7]))
        ids = [0, 1, 2, 3] if results['half_body'] == 'upper' else [4, 5, 6, 7]
        points = results['keypoints'][ids]
        extent = (points.max(0) - points.min(0)).max()
        assert results['bbox_size'][0] == pytest.approx(1.5 * extent, rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError):
        TopdownAffine(input_size=(256, 256), flip_prob=2)
    with pytest.raises(ValueError):
        TopdownAffine(input_size=(0, 256))
    with pytest.raises(ValueError, match='input_size'):
        TopdownAffine()     # no default: a config's codec gives it
    with pytest.raises(ValueError):
        MSRAHeatmap(sigma=0)
    with pytest.raises(ValueError):
        GenerateTarget(encoder=dict(CODEC, sigma=0))
    with pytest.raises(TypeError):
        GenerateTarget(encoder=None)
    with pytest.raises(ValueError):
        RandomHalfBody(prob=-0.1)


def test_half_body_box_takes_the_input_aspect_ratio():
    from hpekit.datasets.transforms.topdown_transforms import half_body_box
    tall = np.array([[0.0, 0.0], [10.0, 40.0]])
    center, size = half_body_box(tall, padding=1.5, aspect=192 / 256)
    np.testing.assert_allclose(center, [5, 20])
    np.testing.assert_allclose(size, [45, 60])          # widened to 3:4, then × 1.5
    _, wide = half_body_box(np.array([[0.0, 0.0], [40.0, 10.0]]), padding=1.5,
                            aspect=192 / 256)
    np.testing.assert_allclose(wide, [60, 80])          # heightened to 3:4
    _, square = half_body_box(tall, padding=1.5)
    np.testing.assert_allclose(square, [60, 60])
