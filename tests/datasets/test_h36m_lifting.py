"""2D → 3D lifting: TemporalConvNet, the VideoPoseLifting codec, H36MLiftingDataset,
PoseLifter's spec, a tiny training on the synthetic twin and its ONNX export."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tool_loader import load_tool

from hpekit.codecs.pose_lifting import (VideoPoseLifting, denormalize_screen_coordinates,
                                        normalize_screen_coordinates)
from hpekit.datasets.h36m_video import H36MLiftingDataset
from hpekit.datasets.synthetic.h36m_full import write_h36m_full
from hpekit.models.backbones.tcn import TemporalConvNet, receptive_field

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'h36m_lifting_tiny.py'


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('h36m_lifting')
    write_h36m_full(str(root), subjects=('S1', 'S5', 'S9'),
                    actions=('Walking', 'Sitting', 'Greeting', 'Phoning'), subactions=1,
                    num_cameras=2, num_frames=24, image_size=32, progress=False)
    return root


@pytest.mark.parametrize('kernels, field', [((3, 3, 3), 27), ((3, 3, 3, 3), 81),
                                            ((3, 3, 3, 3, 3), 243), ((3, 3), 9)])
def test_receptive_fields(kernels, field):
    assert receptive_field(kernels) == field


def test_each_output_sees_its_window_only():
    torch.manual_seed(0)
    net = TemporalConvNet(num_keypoints=2, channels=8, kernel_sizes=(3, 3)).eval()
    x = torch.randn(1, 12, 2, 2)
    out = net(x)
    assert out.shape == (1, 12 - 9 + 1, 8)
    changed = x.clone()
    changed[:, 11] += 1.0           # the last frame: only the last output sees it
    diff = (net(changed) - out).abs().sum(-1)[0]
    assert diff[-1] > 0 and torch.all(diff[:-1] == 0)
    with pytest.raises(ValueError, match='fewer than the receptive field 9'):
        net(torch.randn(1, 8, 2, 2))
    with pytest.raises(ValueError, match='odd'):
        TemporalConvNet(kernel_sizes=(3, 2))


def test_codec_normalises_by_the_camera_frame():
    px = np.array([[[0.0, 0.0], [999.0, 1001.0], [500.0, 250.0]]])
    norm = normalize_screen_coordinates(px, (1000, 1002))
    np.testing.assert_allclose(norm[0, 0], [-1.0, -1.002], atol=1e-6)
    np.testing.assert_allclose(norm[0, 2], [0.0, 0.5 - 1.002], atol=1e-6)
    np.testing.assert_allclose(denormalize_screen_coordinates(norm, (1000, 1002)), px,
                               atol=1e-3)
    out = VideoPoseLifting(num_frames=3).encode(px.repeat(3, 0), (1000, 1002),
                                                np.ones((1, 3, 3)) * [[[1], [2], [3]]])
    assert out['keypoints_norm'].shape == (3, 3, 2)
    np.testing.assert_allclose(out['joints_3d'][0, :, 0], [0, 1, 2])


def test_lifting_samples_hold_context_and_targets(data):
    ds = H36MLiftingDataset(str(data), split='train', receptive_field=9, seq_len=4,
                            seq_step=4)
    train = np.load(data / 'annotation_body3d' / 'fps50' / 'h36m_train.npz')
    info = ds.get_data_info(0)   # frames 0-3 of a 24-frame sequence
    rows = info['frame_ids']
    assert info['keypoints'].shape == (4 + 8, 17, 2) and info['image_size'] == (32, 32)
    np.testing.assert_allclose(info['keypoints'][:4], train['part'][[rows[0]] * 4, :, :2],
                               atol=1e-5)   # the sequence's first frame repeated
    np.testing.assert_allclose(info['keypoints'][4:8], train['part'][rows, :, :2], atol=1e-5)
    s = train['S'][rows, :, :3]
    np.testing.assert_allclose(info['joints_3d'], s - s[:, :1], atol=1e-6)
    assert 'img_paths' not in info


def test_detections_replace_ground_truth_2d(data, tmp_path):
    train = dict(np.load(data / 'annotation_body3d' / 'fps50' / 'h36m_train.npz'))
    det = data / 'det.npz'
    np.savez(det, imgname=train['imgname'], keypoints=train['part'][..., :2] + 5.0)
    ds = H36MLiftingDataset(str(data), split='train', receptive_field=3, seq_len=2,
                            seq_step=2, keypoint_2d_file='det.npz')
    info = ds.get_data_info(3)
    rows = info['frame_ids']
    np.testing.assert_allclose(info['keypoints'][1:3], train['part'][rows, :, :2] + 5,
                               atol=1e-5)
    np.savez(det, imgname=train['imgname'][1:], keypoints=train['part'][1:, :, :2])
    with pytest.raises(ValueError, match='det.npz: no keypoints for frame'):
        H36MLiftingDataset(str(data), split='train', receptive_field=3,
                           keypoint_2d_file='det.npz').full_init()
    os.remove(det)


def test_spec_describes_keypoint_inputs():
    from hpekit.apis import init_model
    from hpekit.models.model_inputs import input_shape_from_args
    model = init_model(str(CONFIG), cfg_options={'test_dataloader.dataset.data_root': '.'})
    spec = model.spec
    assert spec.task == 'lifting' and spec.input_kind == 'keypoints'
    assert spec.input_shape(2) == (2, 9, 17, 2) and spec.input_size is None
    assert spec.input_layout.startswith('[B, T, K, 2] 2D keypoints, x / w')
    assert input_shape_from_args(model, frames=20) == (1, 20, 17, 2)
    with pytest.raises(ValueError, match='keypoints'):
        input_shape_from_args(model, shape=(64, 64))
    assert model.export_forward(torch.zeros(1, 9, 17, 2)).shape == (1, 1, 17, 3)


def test_lifting_trains_well_under_the_baseline_and_exports(tmp_path):
    from hpekit.config.setup import load_config
    mean_pose = load_tool('mean_pose_baseline')
    data = tmp_path / 'data'   # every subject, action and camera; no frames needed
    write_h36m_full(str(data), subactions=1, num_frames=16, image_size=160,
                    progress=False, images=False)
    options = [f'{loader}.dataset.data_root={data}' for loader in
               ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(CONFIG),
                           '--work-dir', str(work), '--cfg-options', *options],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    final = json.loads((work / 'metrics.json').read_text())[-1]
    cfg = load_config(str(CONFIG), dict(o.split('=') for o in options))
    baseline = mean_pose.mean_pose_baseline_mm(
        mean_pose.dataset_joints(cfg.train_dataloader.dataset),
        mean_pose.dataset_joints(cfg.test_dataloader.dataset))
    assert baseline > 100
    assert final['mpjpe'] < 0.6 * baseline, (final['mpjpe'], baseline)
    assert 'MPJPE/Walking' in final and final['pa_mpjpe'] < final['mpjpe']
    # ONNX: normalised keypoints in, joints out; T is dynamic
    pytest.importorskip('onnx')
    out = tmp_path / 'lift.onnx'
    info = load_tool('export_onnx').main([str(CONFIG), str(work / 'epoch_6.pth'), '--out',
                                          str(out), '--frames', '12', '--cfg-options',
                                          *options])
    assert info['input'] == 'keypoints' and info['input_shape'] == [1, 12, 17, 2]
    assert info['output_shapes'] == [[1, 4, 17, 3]] and info['task'] == 'lifting'
    assert info['input_layout'].startswith('[B, T, K, 2] 2D keypoints')
    if isinstance(info['check'], dict):   # onnxruntime installed
        assert info['check']['passed']


def test_inference_lifting_predicts_every_frame():
    from hpekit.apis import inference_lifting, init_model, stack_keypoints
    from hpekit.structures import PoseDataSample
    model = init_model(str(CONFIG), cfg_options={'test_dataloader.dataset.data_root': '.'})
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 64, (5, 17, 2)).astype(np.float32)
    samples = inference_lifting(model, keypoints, (64, 48))
    assert len(samples) == 5 and all(type(s) is PoseDataSample for s in samples)
    padded = np.concatenate([keypoints[[0] * 4], keypoints, keypoints[[-1] * 4]])
    with torch.no_grad():
        want = model.forward_tensor(torch.from_numpy(
            normalize_screen_coordinates(padded, (64, 48)))[None])[0].numpy() * 1000
    for t, sample in enumerate(samples):
        inst = sample.pred_instances
        assert inst.keypoints.shape == (1, 17, 3) and inst.keypoints.dtype == np.float32
        np.testing.assert_allclose(inst.keypoints[0], want[t], rtol=1e-5, atol=1e-4)  # mm
        np.testing.assert_array_equal(inst.keypoint_scores, np.ones((1, 17)))
        assert sample.frame_idx == t and sample.img_shape == (48, 64)
        assert sample.flip_indices == model.dataset_meta['flip_indices']
    np.testing.assert_allclose(stack_keypoints(samples), want, rtol=1e-5, atol=1e-4)
    # scores handed in as a third column come back as keypoint_scores, same joints
    scores = rng.uniform(0, 1, (5, 17)).astype(np.float32)
    scored = inference_lifting(model, np.concatenate([keypoints, scores[..., None]], -1),
                               (64, 48))
    np.testing.assert_array_equal(stack_keypoints(scored, 'keypoint_scores'), scores)
    np.testing.assert_array_equal(stack_keypoints(scored), stack_keypoints(samples))
    with pytest.raises(ValueError, match=r'\[T, 17, 2\]'):
        inference_lifting(model, keypoints[:, :16], (64, 48))


def test_two_stage_inference_from_frames():
    from hpekit.apis import (inference_lifting, inference_topdown, inference_two_stage, init_model,
                             stack_keypoints)
    lifter = init_model(str(CONFIG), cfg_options={'test_dataloader.dataset.data_root': '.'})
    h36m = 'configs/_base_/datasets/h36m.py'
    pose2d = init_model(str(ROOT / 'tests' / 'configs' / 'mpii_tiny.py'), cfg_options={
        'model.backbone.num_joints': 17, 'model.head.num_joints': 17,
        'test_dataloader.dataset.metainfo': dict(from_file=h36m)})
    frames = np.random.default_rng(0).integers(0, 256, (4, 48, 64, 3), dtype=np.uint8)
    box = [8, 4, 56, 44]
    out = inference_two_stage(pose2d, lifter, frames, bboxes=[box])
    assert len(out) == 4 and [s.frame_idx for s in out] == [0, 1, 2, 3]
    assert {s.img_shape for s in out} == {(48, 64)}
    # the same numbers as the two stages run one after the other
    found = [inference_topdown(pose2d, frame, [box])[0].pred_instances for frame in frames]
    points = np.stack([inst.keypoints[0] for inst in found])
    scores = np.stack([inst.keypoint_scores[0] for inst in found])
    np.testing.assert_array_equal(stack_keypoints(out, 'keypoints_2d'), points)
    np.testing.assert_array_equal(stack_keypoints(out, 'keypoint_scores'), scores)
    np.testing.assert_array_equal(stack_keypoints(out, 'bboxes'), np.tile(box, (4, 1)))
    lifted = stack_keypoints(inference_lifting(lifter, points, (64, 48)))
    joints = stack_keypoints(out)
    assert joints.shape == (4, 17, 3) and joints.dtype == np.float32
    np.testing.assert_allclose(joints, lifted, rtol=1e-6)
    mpii = init_model(str(ROOT / 'tests' / 'configs' / 'mpii_tiny.py'))
    with pytest.raises(ValueError, match='the 2D model predicts 16 keypoints'):
        inference_two_stage(mpii, lifter, frames)
