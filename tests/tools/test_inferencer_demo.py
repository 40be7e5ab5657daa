"""tools/inferencer_demo.py on generated videos: per-frame JSONs with track ids (and 3D),
the output video, the trajectory plot, a webcam, and the bad inputs."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from people_video import render_people, write_detections, write_video
from tool_loader import load_tool

from hpekit.apis import inferencer as inferencer_module

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
POSE2D, LIFTER = str(CONFIGS / 'coco_tiny.py'), str(CONFIGS / 'h36m_lifting_tiny.py')
NUM_FRAMES = 6


@pytest.fixture(scope='module')
def demo():
    return load_tool('inferencer_demo')


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp('clip')
    frames, boxes = render_people(NUM_FRAMES)
    write_video(root / 'walk.mp4', frames)
    return str(root / 'walk.mp4'), write_detections(root / 'dets.json', 'walk', boxes), frames


def frame_count(path):
    capture, count = cv2.VideoCapture(str(path)), 0
    while capture.grab():
        count += 1
    capture.release()
    return count


def test_video_to_tracked_smoothed_3d_json_video_and_plot(demo, clip, tmp_path):
    video, dets, _ = clip
    torch.manual_seed(0)
    summary = demo.main([video, '--pose2d', POSE2D, '--pose3d', LIFTER, '--det', dets,
                         '--smooth', 'one_euro', '--smooth3d', 'gaussian',
                         '--vis-out-dir', str(tmp_path / 'vis'),
                         '--pred-out-dir', str(tmp_path / 'pred'), '--show-progress'])
    assert summary['tracks'] == [0, 1] and summary['video_frames'] == NUM_FRAMES
    files = sorted((tmp_path / 'pred').glob('*.json'))
    assert [f.name for f in files] == [f'walk_{t:06d}.json' for t in range(NUM_FRAMES)]
    changed = False
    for t, path in enumerate(files):
        record = json.loads(path.read_text())
        assert record['frame_index'] == t and record['keypoints_3d_unit'] == 'mm'
        people = sorted(record['instances'], key=lambda p: p['bbox'][0])
        assert [p['track_id'] for p in people] == [0, 1] or \
            [p['track_id'] for p in people] == [1, 0]
        for person in people:
            assert np.shape(person['keypoints']) == np.shape(person['keypoints_raw']) == (17, 2)
            assert np.shape(person['keypoints_3d']) == (17, 3)
            changed |= not np.allclose(person['keypoints'], person['keypoints_raw'])
    first = json.loads(files[0].read_text())['instances']
    last = json.loads(files[-1].read_text())['instances']
    assert {p['track_id']: p['bbox'][0] < 80 for p in first} == \
        {p['track_id']: p['bbox'][0] < 80 for p in last}          # ids stay with people
    assert changed                                                 # one_euro smoothed
    assert frame_count(tmp_path / 'vis' / 'walk.mp4') == NUM_FRAMES
    capture = cv2.VideoCapture(str(tmp_path / 'vis' / 'walk.mp4'))
    width = capture.get(cv2.CAP_PROP_FRAME_WIDTH)
    capture.release()
    assert width > 2 * 160                  # the frame (scaled to 240 high) + 3D panel
    plot = cv2.imread(str(tmp_path / 'vis' / 'trajectories.png'))
    assert plot is not None and plot.shape[0] > 200
    assert not list((tmp_path / 'vis').glob('.*tmp*'))


def test_folder_with_a_frame_of_another_size(demo, clip, tmp_path):
    for t, frame in enumerate(clip[2][:4]):
        if t == 1:
            frame = cv2.resize(frame, (100, 80))
        cv2.imwrite(str(tmp_path / f'f{t}.png'), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out = tmp_path / 'out'
    torch.manual_seed(0)
    summary = demo.main(['--input', str(tmp_path), '--pose2d', POSE2D,
                         '--vis-out-dir', str(out), '--pred-out-dir', str(out / 'pred')])
    assert summary['skipped_frames'] == 1 and summary['video_frames'] == 3
    assert frame_count(out / f'{tmp_path.name}.mp4') == 3
    skipped = json.loads((out / 'pred' / 'f1.json').read_text())
    assert '100×80 differs' in skipped['skipped'] and skipped['instances'] == []


def test_webcam_online_one_euro_and_savgol_refused(demo, tmp_path, monkeypatch):
    frames, _ = render_people(3)

    class FakeCamera:      # 'webcam' opens cv2.VideoCapture(0)
        def __init__(self, index):
            self.left = list(frames)

        def isOpened(self):
            return True

        def read(self):
            if not self.left:
                return False, None
            return True, cv2.cvtColor(self.left.pop(0), cv2.COLOR_RGB2BGR)

        def release(self):
            pass

    monkeypatch.setattr(inferencer_module.cv2, 'VideoCapture', FakeCamera)
    torch.manual_seed(0)
    summary = demo.main(['webcam', '--pose2d', POSE2D, '--smooth', 'one_euro',
                         '--pred-out-dir', str(tmp_path)])
    assert summary['frames'] == 3
    assert sorted(p.name for p in tmp_path.glob('*.json')) == \
        [f'webcam0_{t:06d}.json' for t in range(3)]
    with pytest.raises(SystemExit, match='non-causal.*one_euro'):
        demo.main(['webcam', '--pose2d', POSE2D, '--smooth', 'savgol',
                   '--pred-out-dir', str(tmp_path)])


def test_bad_inputs_stop_with_the_path_named(demo, clip, tmp_path):
    missing = str(tmp_path / 'missing.mp4')
    with pytest.raises(SystemExit, match='input not found: .*missing.mp4'):
        demo.main([missing, '--pose2d', POSE2D, '--pred-out-dir', str(tmp_path)])
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'\x00' * 64)
    with pytest.raises(SystemExit, match='cannot open video .*broken.mp4'):
        demo.main([str(bad), '--pose2d', POSE2D, '--pred-out-dir', str(tmp_path)])
    with pytest.raises(SystemExit, match="cannot be formed.*'neck_base'"):
        demo.main([clip[0], '--pose2d', str(CONFIGS / 'mpii_tiny.py'), '--pose3d', LIFTER,
                   '--pred-out-dir', str(tmp_path / 'never')])
    assert not (tmp_path / 'never').exists()          # refused before any frame
    with pytest.raises(SystemExit):
        demo.main(['--pose2d', POSE2D, '--pred-out-dir', str(tmp_path)])   # no input
