"""PoseInferencer on a video in the wild (``track_video``): detection, tracking,
per-track smoothing and 2D → 3D lifting on a generated two-person video, with tiny
random-weight models (tests/configs/coco_tiny.py, h36m_lifting_tiny.py) and the true
boxes as the detector (a COCO detection results file keyed by frame name)."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from people_video import render_people, write_detections, write_video

from hpekit.apis import PoseInferencer, inference_lifting
from hpekit.apis.inferencer import KEYPOINTS_3D_UNIT, video_result_to_json
from hpekit.config.files import find_config_file
from hpekit.core.keypoint_mapping import load_keypoint_mapping, map_keypoints
from hpekit.core.smoothing import GaussianFilter, OneEuroFilter
from hpekit.datasets.metainfo import keypoint_names

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
POSE2D, LIFTER = str(CONFIGS / 'coco_tiny.py'), str(CONFIGS / 'h36m_lifting_tiny.py')
NUM_FRAMES, EMPTY_FRAME = 10, 6


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    """(video path, detections file, true boxes [T, 2, 4])."""
    root = tmp_path_factory.mktemp('clip')
    frames, boxes = render_people(NUM_FRAMES)
    write_video(root / 'clip.mp4', frames)
    dets = write_detections(root / 'dets.json', 'clip', boxes, empty_frames=(EMPTY_FRAME,))
    return str(root / 'clip.mp4'), dets, boxes


@pytest.fixture(scope='module')
def lifted(clip):
    """(inferencer with a lifter, its results on the clip), no smoothing."""
    torch.manual_seed(0)
    inferencer = PoseInferencer(pose2d=POSE2D, pose3d=LIFTER, det_model=clip[1])
    return inferencer, list(inferencer.track_video(clip[0]))


def by_track(results):
    """{track id: [(frame index, person)]}."""
    tracks = {}
    for result in results:
        for person in result['instances']:
            tracks.setdefault(person['track_id'], []).append((result['index'], person))
    return tracks


def test_two_people_keep_their_track_ids_and_the_empty_frame_is_counted(clip, lifted):
    inferencer, results = lifted
    _, _, boxes = clip
    assert [r['index'] for r in results] == list(range(NUM_FRAMES))
    assert results[EMPTY_FRAME]['instances'] == []
    assert inferencer.video_counts == dict(frames=NUM_FRAMES, skipped_frames=0,
                                           empty_frames=1, detector_runs=NUM_FRAMES)
    left_ids = set()
    for t, result in enumerate(results):
        if t == EMPTY_FRAME:
            continue
        people = sorted(result['instances'], key=lambda p: p['bbox'][0])
        assert len(people) == 2
        np.testing.assert_allclose([p['bbox'] for p in people], boxes[t], atol=1e-3)
        left_ids.add(people[0]['track_id'])
        assert people[0]['track_id'] != people[1]['track_id']
    assert len(left_ids) == 1                   # the left person keeps one id throughout
    assert set(by_track(results)) == {0, 1}


def test_each_track_is_lifted_from_its_mapped_coco_keypoints(clip, lifted):
    """keypoints_3d of a track = inference_lifting of its COCO → H36M-mapped 2D track."""
    inferencer, results = lifted
    names_2d = keypoint_names(inferencer.model.dataset_meta)
    names_3d = keypoint_names(inferencer.lifter.dataset_meta)
    assert names_2d != names_3d
    mapping = load_keypoint_mapping(find_config_file('_base_/datasets/coco_to_h36m.py'))
    for people in by_track(results).values():
        raw = np.stack([p['keypoints_raw'] for _, p in people])
        scores = np.stack([p['keypoint_scores'] for _, p in people])
        mapped, mapped_scores = map_keypoints(raw, scores, names_2d, names_3d, mapping)
        expected = inference_lifting(inferencer.lifter, np.concatenate(
            [mapped, mapped_scores[..., None]], -1), (160, 120))
        got = np.stack([p['keypoints_3d'] for _, p in people])
        assert got.shape == (len(people), 17, 3) and np.isfinite(got).all()
        np.testing.assert_allclose(got, [s.pred_instances.keypoints[0] for s in expected],
                                   rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(np.stack([p['keypoints'] for _, p in people]), raw)
    record = json.loads(json.dumps(video_result_to_json(results[0])))
    assert record['keypoints_3d_unit'] == KEYPOINTS_3D_UNIT == 'mm'
    assert len(record['instances']) == 2
    assert np.shape(record['instances'][0]['keypoints_3d']) == (17, 3)


def test_offline_smoothing_is_the_filter_over_each_whole_track(clip):
    torch.manual_seed(0)
    smooth = dict(type='GaussianFilter', sigma=1.5, window=5, score_thr=0.0)
    inferencer = PoseInferencer(pose2d=POSE2D, det_model=clip[1], smooth=smooth)
    results = list(inferencer.track_video(clip[0]))
    for people in by_track(results).values():
        raw = np.stack([p['keypoints_raw'] for _, p in people])
        smoothed = np.stack([p['keypoints'] for _, p in people])
        assert smoothed.shape == raw.shape == (len(people), 17, 2)
        assert np.abs(smoothed - raw).max() > 0.1
        scores = np.stack([p['keypoint_scores'] for _, p in people])
        expected = GaussianFilter(1.5, 5, 0.0).filter(raw, scores)
        # a keypoint never scoring >= score_thr in the track keeps its raw values
        np.testing.assert_allclose(smoothed, np.where(np.isfinite(expected), expected, raw))


def test_smooth3d_is_the_filter_over_each_lifted_track_offline_and_online(clip, lifted):
    """smooth3d filters the lifter's output of each track (the 2D keypoints untouched):
    offline the whole track, online frame by frame with a causal filter."""
    _, raw_results = lifted
    raw_3d = {track: np.stack([p['keypoints_3d'] for _, p in people])
              for track, people in by_track(raw_results).items()}
    torch.manual_seed(0)
    smooth = dict(type='GaussianFilter', sigma=1.5, window=5)
    inferencer = PoseInferencer(pose2d=POSE2D, pose3d=LIFTER, det_model=clip[1],
                                smooth3d=smooth)
    for track, people in by_track(list(inferencer.track_video(clip[0]))).items():
        got = np.stack([p['keypoints_3d'] for _, p in people])
        np.testing.assert_allclose(got, GaussianFilter(1.5, 5).filter(raw_3d[track]),
                                   rtol=1e-5, atol=1e-4)
        assert np.abs(got - raw_3d[track]).max() > 1e-3
        assert all(np.array_equal(p['keypoints'], p['keypoints_raw']) for _, p in people)
    with pytest.raises(ValueError, match="smooth3d='savgol' is non-causal"):
        PoseInferencer(pose2d=POSE2D, pose3d=LIFTER, smooth3d='savgol').track_video(
            clip[0], online=True)


def test_online_one_euro_per_track_and_non_causal_filters_refused(clip):
    torch.manual_seed(0)
    inferencer = PoseInferencer(pose2d=POSE2D, det_model=clip[1],
                                smooth=dict(type='OneEuroFilter', score_thr=0.0))
    results = list(inferencer.track_video(clip[0], online=True, max_frames=5))
    assert all(r['frame'].shape == (120, 160, 3) for r in results)
    for people in by_track(results).values():
        raw = np.stack([p['keypoints_raw'] for _, p in people])
        smoothed = np.stack([p['keypoints'] for _, p in people])
        scores = np.stack([p['keypoint_scores'] for _, p in people])
        expected = OneEuroFilter(score_thr=0.0).filter(raw, scores)
        np.testing.assert_allclose(smoothed, np.where(np.isfinite(expected), expected, raw))
        assert not np.allclose(smoothed, raw)
    savgol = PoseInferencer(pose2d=POSE2D, smooth='savgol')
    with pytest.raises(ValueError, match="latency 5 frames.*'one_euro'"):
        savgol.track_video(clip[0], online=True)


def test_detector_every_k_frames_poses_carry_the_boxes_between(clip):
    torch.manual_seed(0)
    inferencer = PoseInferencer(pose2d=POSE2D, det_model=clip[1], det_interval=4,
                                kpt_thr=0.0)
    results = list(inferencer.track_video(clip[0], max_frames=6))
    assert inferencer.video_counts['detector_runs'] == 2        # frames 0 and 4
    assert all(len(r['instances']) == 2 for r in results)
    proposed = np.array([p['bbox'] for p in results[1]['instances']])
    keypoints = np.array([p['keypoints_raw'] for p in results[0]['instances']])
    assert (proposed[:, :2] <= keypoints.min(axis=1)).all()     # boxes around the poses
    assert (proposed[:, 2:] >= keypoints.max(axis=1)).all()


def test_a_frame_of_another_size_is_skipped_and_counted(tmp_path):
    frames, _ = render_people(4)
    for t, frame in enumerate(frames):
        if t == 2:
            frame = cv2.resize(frame, (80, 60))
        cv2.imwrite(str(tmp_path / f'{t:03d}.png'), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    torch.manual_seed(0)
    inferencer = PoseInferencer(pose2d=POSE2D)
    results = list(inferencer.track_video(str(tmp_path)))
    assert [len(r['instances']) for r in results] == [1, 1, 0, 1]
    assert '80×60 differs' in results[2]['skipped'] and results[3]['skipped'] is None
    assert inferencer.video_counts['skipped_frames'] == 1


def test_missing_and_unreadable_videos_name_the_path(tmp_path):
    torch.manual_seed(0)
    inferencer = PoseInferencer(pose2d=POSE2D)
    missing = str(tmp_path / 'nope.mp4')
    with pytest.raises(FileNotFoundError, match='nope.mp4'):
        list(inferencer.track_video(missing))
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video at all')
    with pytest.raises(OSError, match='bad.mp4'):
        list(inferencer.track_video(str(bad)))


def test_a_lifter_whose_keypoints_cannot_be_formed_is_refused_at_construction():
    mpii = str(CONFIGS / 'mpii_tiny.py')
    with pytest.raises(ValueError, match="cannot be formed.*'neck_base'.*nose"):
        PoseInferencer(pose2d=mpii, pose3d=LIFTER)
    with pytest.raises(ValueError, match="'head'.*no rule"):
        PoseInferencer(pose2d=POSE2D, pose3d=LIFTER, keypoint_mapping={
            'root': {'left_hip': 0.5, 'right_hip': 0.5}})


def test_mmpose_argument_names_and_conflicts():
    with pytest.raises(ValueError, match='exactly one'):
        PoseInferencer(POSE2D, pose2d=POSE2D)
    with pytest.raises(ValueError, match='det_interval'):
        PoseInferencer(pose2d=POSE2D, det_interval=0)
    with pytest.raises(ValueError, match='one person class'):
        PoseInferencer(pose2d=POSE2D, det_model='x.json', det_cat_ids=[0, 1])
