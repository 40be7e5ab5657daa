"""MMPose habits that ran without an error and gave wrong results (docs/reliability.md,
"MMPose habits"; found by a newcomer's trial): an image array straight from
``cv2.imread`` (BGR, as MMPose takes arrays), ``RandomFlip`` in a top-down pipeline
(it found mmcv's image-only flip) and mmcv's other image-only geometric transforms."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hpekit.apis import frames as frames_module
from hpekit.apis import inference_topdown, init_model, merge_data_samples
from hpekit.config.checks import ConfigError, check_config
from hpekit.config.setup import load_config
from hpekit.registry import TRANSFORMS
from hpekit.utils import register_all_modules

register_all_modules()
ROOT = Path(__file__).resolve().parents[2]
MPII_TINY = ROOT / 'tests' / 'configs' / 'mpii_tiny.py'
BOXES = [[4, 6, 60, 44], [30, 2, 78, 46]]


def picture(width=80, height=48, seed=0):
    """A colourful uint8 RGB picture (random colour blocks, smoothly resized)."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (6, 10, 3), dtype=np.uint8), (width, height))


def capture_logs(monkeypatch):
    """The messages ``hpekit.apis.frames`` logs, with its once-per-process flag reset."""
    texts = []
    monkeypatch.setattr(frames_module, '_bgr_default_logged', False)
    monkeypatch.setattr(frames_module, 'print_log', lambda msg, **kw: texts.append(msg))
    return texts


def predict(model, image, **kwargs):
    """(keypoints [N, K, 2], scores [N, K]) of ``inference_topdown`` on BOXES."""
    people = merge_data_samples(inference_topdown(model, image, BOXES, **kwargs))
    return people.pred_instances.keypoints, people.pred_instances.keypoint_scores


# ------------------------------------------------------------ 1. BGR image arrays
@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return init_model(MPII_TINY)


def test_bgr_array_from_cv2_imread_gives_the_keypoints_of_the_file_path(model, tmp_path,
                                                                         monkeypatch):
    path = str(tmp_path / 'person.png')
    cv2.imwrite(path, picture()[..., ::-1])               # cv2 writes BGR: RGB on disk
    logs = capture_logs(monkeypatch)
    from_path = predict(model, path)
    assert logs == []                                      # a path: no order to guess
    from_imread = predict(model, cv2.imread(path))         # MMPose's habit: BGR array
    for got, expected in zip(from_imread, from_path):
        np.testing.assert_array_equal(got, expected)
    assert len(logs) == 1 and 'BGR' in logs[0] and "channel_order='rgb'" in logs[0]
    # RGB arrays are said so; the pipeline then sees the same pixels
    rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
    for got, expected in zip(predict(model, rgb, channel_order='rgb'), from_path):
        np.testing.assert_array_equal(got, expected)
    # the order matters to the model (else this test proves nothing): an RGB array
    # given without channel_order is taken as BGR and predicts something else
    assert not np.array_equal(predict(model, rgb)[1], from_path[1])
    assert len(logs) == 1                                  # one line per process


def test_bgr_default_logs_one_line_and_a_stated_order_none(model, monkeypatch):
    logs = capture_logs(monkeypatch)
    for order in ('bgr', 'rgb'):
        predict(model, picture(), channel_order=order)
    assert logs == []
    for _ in range(3):
        predict(model, picture())
    assert len(logs) == 1
    with pytest.raises(ValueError, match="channel_order must be 'rgb' or 'bgr'"):
        predict(model, picture(), channel_order='RGB')


# ------------------------------------------------------ 2. RandomFlip in a pipeline
COLOURS = np.array([[255, 0, 0], [0, 0, 255], [0, 255, 0]], np.uint8)   # RGB
POINTS = np.array([[30.0, 30.0], [66.0, 52.0], [48.0, 16.0]], np.float32)  # image px
FLIP_INDICES = [1, 0, 2]          # joint 0 is a left joint, 1 its right twin, 2 central
INPUT_SIZE = (50, 40)


@pytest.fixture(scope='module')
def marked_image(tmp_path_factory):
    """A 100×80 PNG, black, with a 7 px square of COLOURS[k] centred on POINTS[k]."""
    image = np.zeros((80, 100, 3), np.uint8)
    for (x, y), colour in zip(POINTS.astype(int), COLOURS):
        image[y - 3:y + 4, x - 3:x + 4] = colour
    path = str(tmp_path_factory.mktemp('flip') / 'marked.png')
    cv2.imwrite(path, image[..., ::-1])
    return path


def run(steps, path):
    results = dict(img_path=path, center=np.array([49.5, 39.5], np.float32),
                   bbox_size=np.array([100.0, 80.0], np.float32), keypoints=POINTS.copy(),
                   keypoints_visible=np.ones(3, np.float32), flip_indices=FLIP_INDICES,
                   sample_idx=0)
    for step in steps:
        results = TRANSFORMS.build(step)(results)
    return results


def colour_under(results, k):
    """The crop's colour at keypoint k (its input px, rounded)."""
    x, y = np.round(results['keypoints_input'][k]).astype(int)
    return results['img'][y, x]


def affine(**kwargs):
    return dict(type='TopdownAffine', input_size=INPUT_SIZE, augment=False, **kwargs)


@pytest.mark.parametrize('order', ['before LoadImage', 'after LoadImage'])
def test_random_flip_moves_the_keypoints_with_the_pixels(marked_image, order):
    flip = dict(type='RandomFlip', direction='horizontal', prob=1.0)
    load = dict(type='LoadImage')
    steps = [flip, load, affine()] if order == 'before LoadImage' else [load, flip, affine()]
    flipped = run(steps, marked_image)
    plain = run([load, affine()], marked_image)
    assert flipped['flip'] and flipped['flip_direction'] == 'horizontal'
    assert not plain['flip']
    # the crop is the plain crop mirrored (x → W − 1 − x, hpekit's grid)
    diff = np.abs(flipped['img'].astype(int) - plain['img'][:, ::-1].astype(int))
    assert diff.max() <= 2
    for k in range(3):
        np.testing.assert_array_equal(colour_under(plain, k), COLOURS[k])
        # label k now sits on the mirrored marker of its twin flip_indices[k]
        np.testing.assert_array_equal(colour_under(flipped, k), COLOURS[FLIP_INDICES[k]])
        twin = plain['keypoints_input'][FLIP_INDICES[k]]
        np.testing.assert_allclose(flipped['keypoints_input'][k],
                                   [INPUT_SIZE[0] - 1 - twin[0], twin[1]], atol=1e-4)


def test_mmcv_random_flip_would_leave_the_keypoints_behind(marked_image):
    """Guard: mmcv's image-only RandomFlip (what the name found before) flips the
    pixels only, so the markers are no longer under their keypoints."""
    steps = [dict(type='LoadImage'), dict(type='mmengine.RandomFlip', prob=1.0), affine()]
    results = run(steps, marked_image)
    assert not np.array_equal(colour_under(results, 0), COLOURS[0])
    assert not np.array_equal(colour_under(results, 0), COLOURS[1])


def test_random_flip_never_flips_twice_with_topdown_affine_flip_prob(marked_image):
    np.random.seed(0)
    steps = [dict(type='RandomFlip', prob=0.0), dict(type='LoadImage'),
             dict(type='TopdownAffine', input_size=INPUT_SIZE, flip_prob=1.0,
                  scale_factor=0.0, rotate_prob=0.0)]
    assert not any(run(steps, marked_image)['flip'] for _ in range(5))   # its draw rules
    steps[0]['prob'] = 1.0
    results = run(steps, marked_image)
    assert results['flip']
    np.testing.assert_array_equal(colour_under(results, 0), COLOURS[1])   # flipped once


def test_random_flip_refuses_other_directions_and_a_place_after_the_crop(marked_image):
    for direction in ('vertical', 'diagonal', ['horizontal', 'vertical']):
        with pytest.raises(ValueError, match="direction must be 'horizontal'"):
            TRANSFORMS.build(dict(type='RandomFlip', direction=direction))
    with pytest.raises(ValueError, match='prob must be a number in'):
        TRANSFORMS.build(dict(type='RandomFlip', prob=1.5))
    with pytest.raises(ValueError, match='RandomFlip after TopdownAffine'):
        run([dict(type='LoadImage'), affine(), dict(type='RandomFlip')], marked_image)


# --------------------------------------- 3. mmcv's image-only transforms, refused
def config_with(step, index=2, loader='train_dataloader', **affine_args):
    cfg = load_config(str(MPII_TINY))
    pipeline = list(cfg[loader].dataset.pipeline)
    if affine_args:
        at = next(i for i, s in enumerate(pipeline) if s['type'] == 'TopdownAffine')
        pipeline[at] = dict(pipeline[at], **affine_args)
    if step is not None:
        pipeline.insert(index, step)
    cfg[loader].dataset.pipeline = pipeline
    return cfg


@pytest.mark.parametrize('step, name', [
    (dict(type='Resize', scale=(64, 64)), 'Resize'),
    (dict(type='RandomResize', scale=(64, 64), ratio_range=(0.8, 1.2)), 'RandomResize'),
    (dict(type='CenterCrop', crop_size=32), 'CenterCrop'),
    (dict(type='mmengine.RandomFlip', prob=0.5), 'RandomFlip'),
    (dict(type='RandomApply', transforms=[dict(type='Resize', scale=(64, 64))]), 'Resize'),
])
def test_mmcv_image_only_transform_in_a_keypoint_pipeline_is_refused(step, name):
    with pytest.raises(ConfigError, match=r'train_dataloader\.dataset\.pipeline\[2\]') as err:
        check_config(config_with(step), loaders=())
    message = str(err.value)
    assert f'mmcv.transforms.processing.{name}' in message
    assert 'moves the pixels but not the keypoints' in message and 'Instead:' in message
    assert "TopdownAffine" in message or "hpekit's dict(type='RandomFlip'" in message


def test_pixel_only_mmcv_transform_and_hpekit_random_flip_are_allowed():
    check_config(config_with(dict(type='RandomGrayscale', prob=0.2), index=3), loaders=())
    check_config(config_with(dict(type='RandomFlip', direction='horizontal'), index=1),
                 loaders=())
    check_config(config_with(None), loaders=())


@pytest.mark.parametrize('kwargs, message', [
    (dict(index=3), r'pipeline\[3\]: RandomFlip only draws the flip.*none after it'),
    (dict(index=1, flip_prob=0.5),
     r'pipeline\[1\] \(RandomFlip\) and train_dataloader\.dataset\.pipeline\[3\]\.flip_prob'),
    (dict(index=1, loader='val_dataloader'), r'val_dataloader\.dataset\.pipeline\[1\]: '
                                             'RandomFlip in a val_dataloader pipeline'),
])
def test_random_flip_that_no_topdown_affine_applies_once_is_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_config(config_with(dict(type='RandomFlip'), **kwargs), loaders=())
