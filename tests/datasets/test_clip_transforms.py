"""Clip transforms, PackClipInputs and the synthetic renderer's geometry."""
import cv2
import numpy as np
import pytest
import torch
from metainfo_values import H36M_FLIP_INDICES, H36M_META, H36M_SKELETON

from hpekit.datasets.synthetic import h36m as synthetic
from hpekit.datasets.synthetic.h36m import (default_camera, project_points, render_h36m_clip,
                                            sample_h36m_poses)
from hpekit.datasets.transforms import (ClipColorJitter, ClipRandomFlip, ClipRandomResizedCrop,
                                        ClipResize, GenerateTarget, PackClipInputs,
                                        TemporalSubsample)
from hpekit.datasets.transforms.clip_transforms import flip_joints_3d
from hpekit.registry import TRANSFORMS
from hpekit.structures import PoseDataSample

J = H36M_META['keypoint_name2id']


def make_results(t=8, size=48, seed=0):
    """A rendered synthetic clip as the dataset returns it."""
    rng = np.random.default_rng(seed)
    joints = sample_h36m_poses(rng, 1, t)[0]
    return {'sample_idx': 7, 'frames': render_h36m_clip(joints, size, rng),
            'joints_3d': joints, 'flip_indices': list(H36M_FLIP_INDICES)}


def bone_lengths(joints):
    """[..., 16] bone lengths of [..., 17, 3] joints."""
    return np.stack([np.linalg.norm(joints[..., c, :] - joints[..., p, :], axis=-1)
                     for p, c in H36M_SKELETON], axis=-1)


# ------------------------------------------------------------------------------ flip
def test_flip_twice_is_identity():
    results = make_results()
    frames, joints = results['frames'].copy(), results['joints_3d'].copy()
    flip = ClipRandomFlip(prob=1.0)
    once = flip(dict(results))
    assert once['flip'] and not np.array_equal(once['frames'], frames)
    twice = flip(once)
    np.testing.assert_array_equal(twice['frames'], frames)
    np.testing.assert_array_equal(twice['joints_3d'], joints)


def test_flip_mirrors_image_columns_and_respects_prob():
    results = make_results(size=40)
    frames = results['frames'].copy()
    out = ClipRandomFlip(prob=1.0)(dict(results))
    assert out['frames'].flags.c_contiguous and out['frames'].dtype == np.uint8
    for x in (0, 13, 39):
        np.testing.assert_array_equal(out['frames'][:, :, x], frames[:, :, 39 - x])
    kept = ClipRandomFlip(prob=0.0)(dict(results))
    assert not kept['flip'] and kept['frames'] is results['frames']
    with pytest.raises(ValueError):
        ClipRandomFlip(prob=1.5)


def test_flipped_joints_are_the_mirrored_body():
    joints = sample_h36m_poses(np.random.default_rng(4), 1, 8)[0]
    out = ClipRandomFlip(prob=1.0)({'frames': np.zeros((8, 4, 4, 3), np.uint8),
                                    'joints_3d': joints.copy(),
                                    'flip_indices': H36M_FLIP_INDICES})
    flipped = out['joints_3d']
    mirror = np.array([-1.0, 1.0, 1.0])
    for side, other in (('left_', 'right_'), ('right_', 'left_')):
        for part in ('hip', 'knee', 'foot', 'shoulder', 'elbow', 'wrist'):
            np.testing.assert_allclose(flipped[:, J[side + part]],
                                       joints[:, J[other + part]] * mirror)
    for centre in ('root', 'spine', 'thorax', 'neck_base', 'head'):
        np.testing.assert_allclose(flipped[:, J[centre]], joints[:, J[centre]] * mirror)
    # The mirrored body is a body: same bone lengths, left and right exchanged.
    np.testing.assert_allclose(bone_lengths(flipped)[:, [3, 4, 5, 0, 1, 2]],
                               bone_lengths(joints)[:, :6], atol=1e-6)


def test_flipped_joints_project_onto_the_flipped_image():
    size = 64
    joints = sample_h36m_poses(np.random.default_rng(2), 1, 8)[0]
    focal, center = default_camera(size)
    before = project_points(joints, focal, center, 4.5)
    after = project_points(flip_joints_3d(joints, H36M_FLIP_INDICES), focal, center, 4.5)
    np.testing.assert_allclose(after[:, :, 0], size - 1 - before[:, H36M_FLIP_INDICES, 0])
    np.testing.assert_allclose(after[:, :, 1], before[:, H36M_FLIP_INDICES, 1])
    # The rendered body lies where the joints project: mirrored in the flipped image.
    frames = render_h36m_clip(joints, size, np.random.default_rng(0), root_depth=4.5)
    mirrored = frames[:, :, ::-1]
    head = np.round(after[:, J['head']]).astype(int)
    for t in range(8):   # the head disc is light grey in both
        assert mirrored[t, head[t, 1], head[t, 0]].min() > 100


# ---------------------------------------------------------------------------- colour
def test_color_jitter_keeps_dtype_shape_and_applies_one_draw():
    results = make_results()
    frames = np.repeat(results['frames'][:1], 8, axis=0)   # 8 identical frames
    out = ClipColorJitter(0.4, 0.4, 0.4)(dict(results, frames=frames.copy()))
    assert out['frames'].dtype == np.uint8 and out['frames'].shape == frames.shape
    assert not np.array_equal(out['frames'], frames)
    for t in range(1, 8):
        np.testing.assert_array_equal(out['frames'][t], out['frames'][0])
    np.testing.assert_array_equal(out['joints_3d'], results['joints_3d'])


def test_color_jitter_brightness_factor_is_shared_by_all_frames():
    frames = make_results()['frames']
    np.random.seed(0)
    out = ClipColorJitter(0.5, 0.0, 0.0)({'frames': frames.copy()})['frames']
    gains = out.reshape(8, -1).astype(float).sum(1) / frames.reshape(8, -1).sum(1)
    assert gains.std() < 0.01 and abs(gains.mean() - 1) > 0.001
    skip = ClipColorJitter(prob=0.0)({'frames': frames})['frames']
    assert skip is frames
    with pytest.raises(ValueError):
        ClipColorJitter(brightness=2)


# ------------------------------------------------------------------- crop and resize
@pytest.mark.parametrize('size, shape', [(40, (40, 40)), ((30, 50), (30, 50))])
def test_random_resized_crop_shapes(size, shape):
    results = make_results(size=64)
    results['frames'] = results['frames'][:, :, :48]          # 64 high, 48 wide
    joints = results['joints_3d'].copy()
    out = ClipRandomResizedCrop(size=size)(results)
    assert out['frames'].shape == (8, *shape, 3) and out['frames'].dtype == np.uint8
    x, y, w, h = out['crop_box']
    assert 0 <= x and x + w <= 48 and 0 <= y and y + h <= 64
    assert 0.75 * 64 * 48 <= w * h <= 64 * 48 and 0.7 <= w / h <= 1.4
    np.testing.assert_array_equal(out['joints_3d'], joints)


def test_random_resized_crop_same_box_for_all_frames():
    frames = np.repeat(make_results(size=64)['frames'][:1], 8, axis=0)
    out = ClipRandomResizedCrop(size=32, scale=(0.3, 0.5))({'frames': frames})['frames']
    for t in range(1, 8):
        np.testing.assert_array_equal(out[t], out[0])
    fallback = ClipRandomResizedCrop(size=16, ratio=(5.0, 6.0))._central_box(64, 48)
    assert fallback == (0, 27, 48, 10)
    with pytest.raises(ValueError):
        ClipRandomResizedCrop(scale=(0.9, 0.5))


def test_resize_uses_area_when_shrinking():
    results = make_results(size=64)
    out = ClipResize(24)(dict(results))['frames']
    assert out.shape == (8, 24, 24, 3)
    expected = cv2.resize(results['frames'][5], (24, 24), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out[5], expected)
    assert ClipResize((80, 96))(dict(results))['frames'].shape == (8, 80, 96, 3)


def test_resize_to_the_codec_input_size():
    """Without ``size``, ClipResize takes the codec's input_size (W, H)."""
    results = make_results(size=64)
    resize = ClipResize(input_size=(96, 80))
    assert resize.size == (80, 96)
    assert resize(dict(results))['frames'].shape == (8, 80, 96, 3)
    assert ClipResize(input_size=40)(dict(results))['frames'].shape == (8, 40, 40, 3)
    same = ClipResize(input_size=(64, 64))(dict(results))
    assert same['frames'] is results['frames']      # already that size: unchanged
    with pytest.raises(ValueError, match='input_size'):
        ClipResize()


# -------------------------------------------------------------------------- temporal
def test_temporal_subsample_keeps_frames_and_joints_aligned():
    frames = np.arange(16, dtype=np.uint8)[:, None, None, None] * np.ones((16, 4, 4, 3), np.uint8)
    joints = np.arange(16, dtype=np.float32)[:, None, None] * np.ones((16, 17, 3), np.float32)
    offsets = set()
    for _ in range(30):
        out = TemporalSubsample(num_frames=8)({'frames': frames, 'joints_3d': joints})
        kept = out['frames'][:, 0, 0, 0].astype(int)
        np.testing.assert_array_equal(kept, out['joints_3d'][:, 0, 0])
        np.testing.assert_array_equal(kept, out['frame_inds'])
        np.testing.assert_array_equal(np.diff(kept), 2)
        offsets.add(kept[0])
    assert offsets == {0, 1}
    fixed = TemporalSubsample(3, random_offset=False)({'frames': frames, 'joints_3d': joints})
    np.testing.assert_array_equal(fixed['frame_inds'], [0, 5, 10])
    with pytest.raises(ValueError):
        TemporalSubsample(20)({'frames': frames})


# ---------------------------------------------------------------------------- packing
def test_pack_clip_inputs_types_and_shapes():
    results = make_results(size=32)
    packed = PackClipInputs()(dict(results))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.dtype == torch.uint8 and inputs.shape == (8, 3, 32, 32)
    assert inputs.is_contiguous()
    np.testing.assert_array_equal(inputs[2, 1].numpy(), results['frames'][2, :, :, 1])
    assert isinstance(sample, PoseDataSample)
    assert sample.gt_joints_3d.dtype == torch.float32 and sample.gt_joints_3d.shape == (8, 17, 3)
    assert sample.sample_idx == 7 and sample.flip_indices == H36M_FLIP_INDICES
    bare = PackClipInputs(meta_keys=('sample_idx', 'absent'))({'frames': results['frames'],
                                                               'sample_idx': 1})
    assert 'gt_joints_3d' not in bare['data_samples'] and bare['data_samples'].sample_idx == 1


def test_a_full_pipeline_built_from_configs():
    pipeline = [TRANSFORMS.build(cfg) for cfg in (
        dict(type='TemporalSubsample', num_frames=4),
        dict(type='ClipRandomResizedCrop', size=32),
        dict(type='ClipRandomFlip', prob=0.5),
        dict(type='ClipColorJitter'),
        dict(type='ClipResize', size=24),
        dict(type='PackClipInputs'))]
    results = make_results(size=48)
    for transform in pipeline:
        results = transform(results)
    assert results['inputs'].shape == (4, 3, 24, 24)
    assert results['data_samples'].gt_joints_3d.shape == (4, 17, 3)


# ---------------------------------------------------------------------------- target
def test_generate_target_makes_the_joints_root_relative():
    joints = sample_h36m_poses(np.random.default_rng(3), 1, 8)[0] + np.float32([0.5, -0.2, 4.0])
    codec = dict(type='RootRelativeJoints3D', input_size=(48, 48), num_frames=8,
                 root_index=J['root'])
    out = TRANSFORMS.build(dict(type='GenerateTarget', encoder=codec))(
        {'frames': np.zeros((8, 4, 4, 3), np.uint8), 'joints_3d': joints.copy()})
    target = out['joints_3d']
    assert target.dtype == np.float32 and target.shape == (8, 17, 3)
    np.testing.assert_array_equal(target[:, J['root']], 0)
    np.testing.assert_allclose(target, joints - joints[:, J['root']:J['root'] + 1], atol=1e-6)
    with pytest.raises(KeyError, match='joints_3d'):
        GenerateTarget(encoder=codec)({'frames': np.zeros((8, 4, 4, 3), np.uint8)})
    with pytest.raises(ValueError):
        GenerateTarget(encoder=dict(codec, num_frames=0))


# --------------------------------------------------------------------------- renderer
def test_renderer_body_model_matches_the_metainfo():
    """The synthetic renderer draws the bones of configs/_base_/datasets/h36m.py."""
    assert synthetic.NUM_JOINTS == H36M_META['num_keypoints']
    assert [tuple(b) for b in synthetic.H36M_SKELETON] == H36M_SKELETON


def test_sampled_poses_are_rigid_bodies_at_the_pelvis():
    joints = sample_h36m_poses(np.random.default_rng(1), 6, 8)
    assert joints.dtype == np.float32 and joints.shape == (6, 8, 17, 3)
    np.testing.assert_array_equal(joints[:, :, 0], 0)
    lengths = bone_lengths(joints.astype(np.float64))
    np.testing.assert_allclose(lengths, lengths[:1, :1].repeat(6, 0).repeat(8, 1), atol=1e-5)
    assert np.all(joints[:, :, J['head'], 1] < joints[:, :, J['right_foot'], 1])   # upright
    step = np.linalg.norm(np.diff(joints, axis=1), axis=-1).max()
    assert step < 0.25   # smooth motion between frames


def test_render_is_deterministic_and_shows_the_body():
    joints = sample_h36m_poses(np.random.default_rng(1), 1, 4)[0]
    a = render_h36m_clip(joints, 56, np.random.default_rng(9))
    b = render_h36m_clip(joints, 56, np.random.default_rng(9))
    assert a.dtype == np.uint8 and a.shape == (4, 56, 56, 3)
    np.testing.assert_array_equal(a, b)
    saturation = a.max(-1).astype(int) - a.min(-1)
    assert (saturation > 100).mean() > 0.02   # coloured limbs on a grey-ish background
