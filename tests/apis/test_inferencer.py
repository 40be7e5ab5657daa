"""PoseInferencer, person detectors and PoseLocalVisualizer (hpekit.apis, visualization)."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from metainfo_values import MPII_META
from mmengine.structures import InstanceData
from pose_pictures import (LEFT_FOREARM, RIGHT_FOREARM, assert_colour, link_colour, midpoint,
                           stick_figure)

from hpekit.apis import PoseInferencer
from hpekit.apis import inferencer as inferencer_module
from hpekit.registry import PERSON_DETECTORS
from hpekit.structures import PoseDataSample
from hpekit.visualization import PoseLocalVisualizer

MPII_TINY = Path(__file__).resolve().parents[1] / 'configs' / 'mpii_tiny.py'


def image(seed, width=96, height=72):
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8), (width, height))


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    for i in range(2):
        cv2.imwrite(str(root / f'img{i}.jpg'), image(i))
    return root


@pytest.fixture(scope='module')
def make():
    torch.manual_seed(0)
    return lambda **kw: PoseInferencer(str(MPII_TINY), **kw)


def test_folder_with_the_whole_image_detector_writes_pictures_and_json(make, folder,
                                                                      tmp_path):
    results = list(make()(str(folder), out_dir=str(tmp_path), return_vis=True))
    assert [r['name'] for r in results] == ['img0.jpg', 'img1.jpg']
    for r in results:
        (sample,) = r['predictions']
        assert sample.pred_instances.keypoints.shape == (1, 16, 2)
        np.testing.assert_allclose(sample.pred_instances.bboxes, [[0, 0, 96, 72]])
        assert r['visualization'].shape == (72, 96, 3)
        records = json.loads((tmp_path / 'predictions' / (r['name'][:-4] + '.json'))
                             .read_text())
        assert len(records) == 1 and len(records[0]['keypoints']) == 16
        assert cv2.imread(str(tmp_path / 'visualizations' / r['name'])).shape == (72, 96, 3)


def test_detections_file_and_given_boxes(make, folder, tmp_path):
    dets = tmp_path / 'dets.json'
    dets.write_text(json.dumps([
        dict(image_id='img0.jpg', category_id=1, bbox=[10, 10, 30, 40], score=0.9),
        dict(image_id='img0.jpg', category_id=1, bbox=[50, 5, 30, 60], score=0.8),
        dict(image_id='img0.jpg', category_id=1, bbox=[0, 0, 5, 5], score=0.1),
        dict(image_id='img0.jpg', category_id=2, bbox=[0, 0, 50, 50], score=0.99)]))
    inferencer = make(detector=dict(type='DetectionsFileDetector', det_file=str(dets),
                                    score_thr=0.5))
    by_name = {r['name']: r['predictions'] for r in inferencer(str(folder))}
    assert len(by_name['img0.jpg']) == 2 and by_name['img1.jpg'] == []
    np.testing.assert_allclose(by_name['img0.jpg'][1].pred_instances.bboxes, [[50, 5, 80, 65]])
    assert by_name['img0.jpg'][0].pred_instances.bbox_scores[0] == pytest.approx(0.9)
    given = make(detector=dict(type='GivenBoxesDetector', bboxes=[[10, 10, 30, 40]],
                               bbox_format='xywh'))
    (result,) = list(given(str(folder / 'img1.jpg')))
    np.testing.assert_allclose(result['predictions'][0].pred_instances.bboxes,
                               [[10, 10, 40, 50]])
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([dict(image_id='a.jpg', bbox=[1, 2])]))
    with pytest.raises(ValueError, match='bad.json: record 0'):
        make(detector=dict(type='DetectionsFileDetector', det_file=str(bad)))


def test_a_registered_detector_of_ones_own(make, folder):
    @PERSON_DETECTORS.register_module(force=True)
    class LeftHalfDetector:
        def __call__(self, image, name=None):
            return np.array([[0, 0, image.shape[1] / 2, image.shape[0]]]), np.ones(1)

    (result,) = list(make(detector=dict(type='LeftHalfDetector'))(str(folder / 'img0.jpg')))
    np.testing.assert_allclose(result['predictions'][0].pred_instances.bboxes, [[0, 0, 48, 72]])


def test_video_and_webcam(make, tmp_path, monkeypatch):
    path = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (96, 72))
    for i in range(4):
        writer.write(image(i))
    writer.release()
    inferencer = make()
    names = [r['name'] for r in inferencer(path, max_frames=3)]
    assert names == ['clip_000000.jpg', 'clip_000001.jpg', 'clip_000002.jpg']

    class FakeCamera:      # a webcam index opens cv2.VideoCapture(index)
        def __init__(self, index):
            self.index, self.left = index, 2

        def isOpened(self):
            return True

        def read(self):
            self.left -= 1
            return (self.left >= 0), image(max(self.left, 0))

        def release(self):
            pass

    monkeypatch.setattr(inferencer_module.cv2, 'VideoCapture', FakeCamera)
    results = list(inferencer(0))
    assert [r['name'] for r in results] == ['webcam0_000000', 'webcam0_000001']
    assert all(len(r['predictions']) == 1 for r in results)


def test_arrays_are_bgr_as_in_mmpose_and_files_are_decoded_to_rgb(make, tmp_path):
    """An array from cv2.imread gives what its file gives (arrays are BGR by default,
    as MMPose's inferencer takes them); RGB arrays are passed with
    channel_order='rgb'; the frames of a video file are decoded by hpekit (to RGB)
    and equal OpenCV's BGR frames given as arrays."""
    inferencer = make()
    path = str(tmp_path / 'person.png')
    cv2.imwrite(path, image(3))

    def scores(inputs, **kwargs):
        return [r['predictions'][0].pred_instances.keypoint_scores
                for r in inferencer(inputs, **kwargs)]

    (from_path,) = scores(path)
    bgr = cv2.imread(path)
    for got in (scores(bgr), scores([bgr]), scores(bgr[..., ::-1], channel_order='rgb')):
        np.testing.assert_array_equal(got[0], from_path)
    np.testing.assert_array_equal(inferencer.predict(bgr)[0].pred_instances.keypoint_scores,
                                  from_path)
    assert not np.array_equal(scores(bgr[..., ::-1])[0], from_path)   # RGB taken as BGR
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 10, (96, 72))
    for i in range(3):
        writer.write(image(i))
    writer.release()
    capture, frames = cv2.VideoCapture(video), []
    while len(frames) < 3 and capture.grab():
        frames.append(capture.retrieve()[1])
    capture.release()
    for got, expected in zip(scores(video), scores(frames)):
        np.testing.assert_array_equal(got, expected)


def test_pose_local_visualizer_draws_gt_beside_prediction(tmp_path):
    visualizer = PoseLocalVisualizer(name='test_visualizer', kpt_thr=0.5)
    sample = PoseDataSample()
    rng = np.random.default_rng(0)
    points = rng.uniform(10, 60, (1, 16, 2))
    sample.pred_instances = InstanceData(keypoints=points, keypoint_scores=np.ones((1, 16)))
    sample.gt_instances = InstanceData(keypoints=points + 2, keypoints_visible=np.ones((1, 16)))
    canvas = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match='set_dataset_meta'):
        visualizer.add_datasample('x', canvas, sample)
    visualizer.set_dataset_meta(MPII_META)
    out = tmp_path / 'drawn.png'
    drawn = visualizer.add_datasample('x', canvas, sample, out_file=str(out))
    assert drawn.shape == (64, 128, 3) and cv2.imread(str(out)).shape == (64, 128, 3)
    assert drawn[:, :64].any() and drawn[:, 64:].any()
    # predicted joints scoring below kpt_thr are not drawn
    sample.pred_instances.keypoint_scores = np.zeros((1, 16))
    assert not visualizer.add_datasample('x', canvas, sample, draw_gt=False).any()


def test_pose_local_visualizer_draws_the_metainfo_skeleton_and_boxes_on_request():
    visualizer = PoseLocalVisualizer(name='test_visualizer_colours')
    visualizer.set_dataset_meta(MPII_META)
    points = stick_figure(scale=1.5)
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(keypoints=points[None],
                                         keypoint_scores=np.ones((1, 16)),
                                         bboxes=np.array([[2.0, 2.0, 93.0, 93.0]]))
    canvas = np.zeros((96, 96, 3), np.uint8)
    drawn = visualizer.add_datasample('x', canvas, sample, draw_gt=False)
    for bone in (LEFT_FOREARM, RIGHT_FOREARM):      # each bone in its link colour
        assert_colour(drawn, *midpoint(points, bone), link_colour(bone))
    assert not drawn[2, 40:60].any()                # boxes only on request (MMPose)
    boxed = visualizer.add_datasample('x', canvas, sample, draw_gt=False, draw_bbox=True)
    assert_colour(boxed, 50, 2, (255, 255, 255), tol=0)
    np.testing.assert_array_equal(boxed[10:80, 10:80], drawn[10:80, 10:80])
