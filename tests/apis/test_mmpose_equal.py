"""MMPose's configs and checkpoints, as they are, give MMPose's outputs and keypoints.

The references were made by MMPose 1.3.2 itself, in its own virtual environment, by
``tests/fixtures/mmpose/make_fixtures.py`` (small-width variants of MMPose's shipped
configs, random weights with perturbed BatchNorm statistics; see that folder's
README.md). Here hpekit loads the same config file and checkpoint through its public
API — ``init_model`` translates the MMPose config — and must give:

- ``model(inputs, mode='tensor')`` within 1e-4 of the output's range;
- ``inference_topdown(model, image, boxes, bbox_format='xyxy')`` (the config's flip
  test on): median keypoint error ≤ 0.05 px, ≥ 97 % of keypoints within 0.5 px (a
  near-tie maximum may flip with float summation order), scores within 1e-3.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from hpekit.apis import inference_topdown, init_model

FIXTURES = osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures', 'mmpose')
VARIANTS = ('hrnet_plain', 'hrnet_udp', 'hrnet_dark', 'res50', 'rtmpose_t', 'rtmpose_m')
IMAGES = json.load(open(osp.join(FIXTURES, 'images.json'), encoding='utf-8'))


@pytest.fixture(scope='module', params=VARIANTS)
def variant(request):
    name = request.param
    model = init_model(osp.join(FIXTURES, f'{name}.py'), osp.join(FIXTURES, f'{name}.pth'))
    return name, model, np.load(osp.join(FIXTURES, f'{name}.npz'))


def test_tensor_outputs_equal_mmposes(variant):
    name, model, ref = variant
    with torch.no_grad():
        out = model(torch.from_numpy(ref['inputs']), mode='tensor')
    if 'simcc_x' in ref:
        pairs = zip(('simcc_x', 'simcc_y'), out)
    else:
        pairs = [('heatmaps', out[-1])]   # hpekit's heads return a tuple of maps
    for key, got in pairs:
        want = ref[key]
        assert got.shape == want.shape, f'{name} {key}'
        tol = 1e-4 * float(want.max() - want.min())
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=tol, err_msg=f'{name} {key}')


def test_topdown_keypoints_equal_mmposes(variant):
    name, model, ref = variant
    errors, score_errors = [], []
    for image in IMAGES:
        boxes = ref[f'bboxes_{image}']
        samples = inference_topdown(model, osp.join(FIXTURES, IMAGES[image]['file']), boxes,
                                    bbox_format='xyxy')
        keypoints = np.concatenate([s.pred_instances.keypoints for s in samples])
        scores = np.concatenate([s.pred_instances.keypoint_scores for s in samples])
        want = ref[f'keypoints_{image}']
        assert keypoints.shape == want.shape
        errors.append(np.linalg.norm(keypoints - want, axis=-1).ravel())
        score_errors.append(np.abs(scores - ref[f'keypoint_scores_{image}']).ravel())
    errors, score_errors = np.concatenate(errors), np.concatenate(score_errors)
    assert np.median(errors) <= 0.05, name
    assert np.mean(errors <= 0.5) >= 0.97, name
    assert score_errors.max() <= 1e-3, name


def test_a_wrong_crop_grid_is_caught(variant):
    """The check can fail: hpekit's own crop (grid 'edges') with an MMPose codec is
    refused instead of decoding every keypoint a fraction of a pixel off."""
    name, model, ref = variant
    steps = model.cfg.test_dataloader.dataset.pipeline
    affine = next(s for s in steps if s['type'] == 'TopdownAffine')
    saved = affine['grid']
    affine['grid'] = 'edges'
    try:
        image = next(iter(IMAGES))
        with pytest.raises(ValueError, match="crop's grid 'edges'"):
            inference_topdown(model, osp.join(FIXTURES, IMAGES[image]['file']),
                              ref[f'bboxes_{image}'][:1])
    finally:
        affine['grid'] = saved
