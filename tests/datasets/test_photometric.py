"""RTMPose's photometric transforms: YOLOXHSVRandomAug and Albumentation."""
import importlib.util
import os
import sys

import cv2
import numpy as np
import pytest

from hpekit.datasets.transforms import (Albumentation, GenerateTarget, PackPoseInputs,
                                        TopdownAffine, YOLOXHSVRandomAug)
from hpekit.datasets.transforms.photometric import coarse_dropout_args
from hpekit.registry import TRANSFORMS
from hpekit.utils import register_all_modules

register_all_modules()
RTMPOSE_ALBU = [dict(type='Blur', p=0.1), dict(type='MedianBlur', p=0.1),
                dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4,
                     min_holes=1, min_height=0.2, min_width=0.2, p=1.0)]


def _image(h=64, w=48, seed=0):
    # smooth colours (a photo-like crop) with a little noise, no pure black pixel
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w) + 60], -1)
    noise = np.random.default_rng(seed).integers(-10, 10, img.shape)
    return np.clip(img + noise, 1, 255).astype(np.uint8)


# ---------------------------------------------------------------- YOLOXHSVRandomAug
def _mmdet_on_bgr(bgr, gains):
    """MMDetection's arithmetic on a BGR image (the reference for the RGB version)."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def test_hsv_changes_colours_keeps_shape_dtype_and_leaves_the_input_alone():
    img = _image()
    original = img.copy()
    aug = YOLOXHSVRandomAug()
    changed = 0
    for seed in range(10):
        np.random.seed(seed)
        out = aug(dict(img=img))['img']
        assert out.shape == img.shape and out.dtype == np.uint8
        changed += int(np.abs(out.astype(int) - img).mean() > 2)
    assert changed >= 5   # each of 3 shifts is on with p=1/2: all off 1 time in 8
    assert np.array_equal(img, original)


def test_hsv_is_reproducible_from_numpys_seed():
    img = _image()
    aug = YOLOXHSVRandomAug()
    outs = []
    for seed in (3, 3, 4):
        np.random.seed(seed)
        outs.append(aug(dict(img=img.copy()))['img'])
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])


def test_hsv_on_rgb_equals_mmdetection_on_the_bgr_copy():
    img = _image()
    aug = YOLOXHSVRandomAug(hue_delta=20, saturation_delta=60, value_delta=60)
    for seed in range(6):
        np.random.seed(seed)
        gains = aug.draw_gains()
        np.random.seed(seed)
        ours = aug(dict(img=img.copy()))['img']
        reference = _mmdet_on_bgr(np.ascontiguousarray(img[..., ::-1]), gains)[..., ::-1]
        assert np.array_equal(ours, reference), seed


def test_hsv_gains_are_mmdetections_draws():
    aug = YOLOXHSVRandomAug(hue_delta=5, saturation_delta=30, value_delta=30)
    np.random.seed(0)
    gains = np.array([aug.draw_gains() for _ in range(400)])
    assert gains.dtype == np.int16
    assert np.all(np.abs(gains) <= [5, 30, 30])
    zero = (gains == 0).mean(axis=0)
    assert np.all((zero > 0.4) & (zero < 0.65))   # off half the time (+ truncation)


def test_hue_shift_moves_red_towards_yellow():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 200
    out = YOLOXHSVRandomAug.apply_gains(red, np.array([15, 0, 0], np.int16))
    assert out[0, 0, 0] == 200 and out[0, 0, 1] > 90 and out[0, 0, 2] == 0   # orange
    assert cv2.cvtColor(out, cv2.COLOR_RGB2HSV)[0, 0, 0] == 15


def test_hsv_refuses_bad_arguments_and_images():
    with pytest.raises(ValueError, match='hue_delta'):
        YOLOXHSVRandomAug(hue_delta=-1)
    with pytest.raises(ValueError, match='uint8'):
        YOLOXHSVRandomAug()(dict(img=np.zeros((4, 4, 3), np.float32)))


# -------------------------------------------------------------------- Albumentation
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')   # no PyPI version check on import
needs_albumentations = pytest.mark.skipif(
    importlib.util.find_spec('albumentations') is None,
    reason='albumentations is not installed (requirements/albumentations.txt)')


def _albu(transforms):
    return TRANSFORMS.build(dict(type='Albumentation', transforms=transforms))


@needs_albumentations
def test_rtmposes_albumentations_build_and_drop_one_fractional_hole():
    aug = _albu(RTMPOSE_ALBU)
    img = _image(80, 60)
    np.random.seed(0)
    out = aug(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    hole = np.all(out == 0, axis=-1)
    rows, cols = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
    assert hole.sum() == len(rows) * len(cols)   # one filled rectangle
    assert 0.2 * 80 - 1 <= len(rows) <= 0.4 * 80 + 1
    assert 0.2 * 60 - 1 <= len(cols) <= 0.4 * 60 + 1


@needs_albumentations
def test_blur_smooths_the_image():
    img = _image()
    out = _albu([dict(type='Blur', blur_limit=(5, 5), p=1.0)])(dict(img=img.copy()))['img']
    assert out.shape == img.shape
    assert np.abs(np.diff(out.astype(int), axis=1)).mean() < \
        np.abs(np.diff(img.astype(int), axis=1)).mean() * 0.6


@needs_albumentations
def test_albumentation_is_reproducible_from_numpys_seed():
    aug = _albu(RTMPOSE_ALBU)
    img = _image()
    outs = []
    for seed in (5, 5, 6):
        np.random.seed(seed)
        outs.append(aug(dict(img=img.copy()))['img'])
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])


@needs_albumentations
def test_transforms_draw_independently():
    # Two InvertImg(p=0.5) cancel when applied together: with correlated draws (each
    # transform seeded alike) the image would never change.
    aug = _albu([dict(type='InvertImg', p=0.5), dict(type='InvertImg', p=0.5)])
    img = _image()
    changed = []
    for seed in range(40):
        np.random.seed(seed)
        changed.append(not np.array_equal(aug(dict(img=img.copy()))['img'], img))
    assert 8 <= sum(changed) <= 32


@needs_albumentations
@pytest.mark.parametrize('transforms, name', [
    ([dict(type='HorizontalFlip', p=0.5)], 'HorizontalFlip'),
    ([dict(type='Blur'), dict(type='Affine', rotate=10)], 'Affine'),
    ([dict(type='OneOf', transforms=[dict(type='Blur'), dict(type='RandomCrop', height=8,
                                                             width=8)])], 'RandomCrop'),
])
def test_spatial_transforms_are_refused_by_name(transforms, name):
    with pytest.raises(ValueError, match=f"'{name}'.*not a pixel-level") as err:
        _albu(transforms)
    assert 'keypoints' in str(err.value) and 'TopdownAffine' in str(err.value)


@needs_albumentations
def test_an_unknown_transform_is_named():
    with pytest.raises(ValueError, match="no transform 'Blurr'"):
        _albu([dict(type='Blurr')])


def test_a_missing_albumentations_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'albumentations', None)   # import fails
    with pytest.raises(ImportError, match=r'pip install "hpekit\[albumentations\]"'):
        Albumentation([dict(type='Blur')])


def test_coarse_dropout_arguments_are_translated_both_ways():
    mmpose = dict(max_holes=1, max_height=0.4, max_width=0.4, min_holes=1, min_height=0.2,
                  min_width=0.2, fill_value=0, p=1.0)
    new = {'num_holes_range', 'hole_height_range', 'hole_width_range', 'fill', 'p'}
    assert coarse_dropout_args(mmpose, new) == dict(
        num_holes_range=(1, 1), hole_height_range=(0.2, 0.4), hole_width_range=(0.2, 0.4),
        fill=0, p=1.0)
    assert coarse_dropout_args(dict(max_holes=8, max_height=8), new) == dict(
        num_holes_range=(8, 8), hole_height_range=(8, 8))   # no min: min = max
    old = {'max_holes', 'max_height', 'max_width', 'min_holes', 'min_height', 'min_width',
           'fill_value', 'always_apply', 'p'}
    assert coarse_dropout_args(mmpose, old) == mmpose   # the old API takes them as they are
    assert coarse_dropout_args(dict(num_holes_range=(1, 2), fill=3), old) == dict(
        min_holes=1, max_holes=2, fill_value=3)
    assert coarse_dropout_args(dict(always_apply=True, max_holes=1), new) == dict(
        num_holes_range=(1, 1), p=1.0)


@needs_albumentations
def test_in_a_topdown_pipeline_the_keypoints_do_not_move():
    results = dict(img=_image(120, 100), img_shape=(120, 100),
                   center=np.array([50.0, 60.0], np.float32),
                   bbox_size=np.array([80.0, 100.0], np.float32),
                   keypoints=np.array([[40, 40], [60, 40], [45, 90], [55, 90]], np.float32),
                   keypoints_visible=np.ones(4, np.float32), flip_indices=[1, 0, 3, 2],
                   sample_idx=0)
    codec = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=1.0)
    crop = TopdownAffine(input_size=(48, 64), augment=False)(results)
    before = crop['keypoints_input'].copy(), crop['img'].copy()
    np.random.seed(0)
    for transform in (YOLOXHSVRandomAug(), Albumentation(RTMPOSE_ALBU)):
        crop = transform(crop)
    assert np.array_equal(crop['keypoints_input'], before[0])
    assert crop['img'].shape == (64, 48, 3) and not np.array_equal(crop['img'], before[1])
    packed = PackPoseInputs()(GenerateTarget(encoder=codec)(crop))
    assert tuple(packed['inputs'].shape) == (3, 64, 48)
