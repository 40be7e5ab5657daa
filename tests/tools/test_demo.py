"""tools/demo.py writes annotated images, folders and MP4 files for both pipelines."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from metainfo_values import mpii_id
from mmengine.structures import InstanceData
from pose_pictures import (LEFT_FOREARM, RIGHT_FOREARM, assert_colour, link_colour, midpoint,
                           stick_figure)
from tool_loader import load_tool

from hpekit.apis import inference_video3d, init_model, stack_keypoints
from hpekit.structures import PoseDataSample

ROOT = Path(__file__).resolve().parents[2]
MPII_TINY = ROOT / 'tests' / 'configs' / 'mpii_tiny.py'
VIDEO_TINY = ROOT / 'tests' / 'configs' / 'video_tiny.py'
demo = load_tool('demo')
DRAW_ALL = '--score-thr=-1e9'   # a random model's scores may be anything: draw every joint


def random_checkpoint(config, path):
    torch.manual_seed(0)
    torch.save({'state_dict': init_model(config).state_dict()}, path)
    return str(path)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpt')
    return dict(mpii=random_checkpoint(MPII_TINY, folder / 'mpii.pth'),
                video=random_checkpoint(VIDEO_TINY, folder / 'video.pth'))


def frames(num, width=64, height=48, seed=0):
    """Smooth random RGB frames (video codecs keep them recognisable)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (num, height // 8, width // 8, 3), dtype=np.uint8)
    return np.stack([cv2.resize(f, (width, height)) for f in small])


def write_video(path, clip, fps=10):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (clip.shape[2], clip.shape[1]))
    for frame in clip:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


def write_images(folder, images, name):
    """Write BGR ``images`` into a new ``folder`` as ``name.format(i)``; return it."""
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / name.format(i)), image)
    return folder


def read_video(path):
    """(frames [T, H, W, 3] BGR, fps) of a video file."""
    capture = cv2.VideoCapture(str(path))
    fps, out = capture.get(cv2.CAP_PROP_FPS), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(frame)
    capture.release()
    return np.stack(out), fps


def test_image_in_annotated_image_out(tmp_path, checkpoints):
    image = frames(1, 80, 60)[0]
    source = tmp_path / 'person.png'
    cv2.imwrite(str(source), image[..., ::-1])
    out = tmp_path / 'out' / 'person.png'
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(source), '--out', str(out),
               DRAW_ALL])
    drawn = cv2.imread(str(out))
    assert drawn.shape == (60, 80, 3)
    assert np.mean(np.any(drawn != image[..., ::-1], axis=2)) > 0.01   # a skeleton


def test_the_skeleton_is_drawn_in_the_metainfo_colours(tmp_path, checkpoints, monkeypatch,
                                                      capsys):
    """The demo draws what inference_topdown returns, through PoseLocalVisualizer: every
    bone of a known pose in its link colour where it lies, no box, joints under
    --score-thr left out (and counted)."""
    people = [stick_figure(), stick_figure(shift=(0, 20))]   # two people, two boxes
    scores = np.ones((2, 16), np.float32)
    scores[1, mpii_id('right_wrist')] = 0.1

    def fake_topdown(model, image, bboxes=None, channel_order='bgr'):
        assert channel_order == 'rgb'      # the demo's images are RGB
        samples = []
        for points, score in zip(people, scores):
            sample = PoseDataSample()
            sample.pred_instances = InstanceData(keypoints=points[None],
                                                 keypoint_scores=score[None],
                                                 bboxes=np.array([[1.0, 1.0, 62.0, 62.0]]))
            samples.append(sample)
        return samples

    monkeypatch.setattr(demo, 'inference_topdown', fake_topdown)
    source, out = tmp_path / 'black.png', tmp_path / 'drawn.png'
    cv2.imwrite(str(source), np.zeros((96, 64, 3), np.uint8))
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(source), '--out', str(out)])
    drawn = cv2.imread(str(out))[..., ::-1]
    for bone in (LEFT_FOREARM, RIGHT_FOREARM):
        assert_colour(drawn, *midpoint(people[0], bone), link_colour(bone))
    assert_colour(drawn, *midpoint(people[1], LEFT_FOREARM), link_colour(LEFT_FOREARM))
    assert_colour(drawn, *midpoint(people[1], RIGHT_FOREARM), (0, 0, 0), tol=0)
    assert not drawn[1, 45:60].any()                      # the boxes are not drawn
    assert '31 of 32 predicted joints scored' in capsys.readouterr().out


def test_folder_in_folder_out_and_boxes(tmp_path, checkpoints):
    folder = write_images(tmp_path / 'images', frames(2, 64, 64), 'img_{}.jpg')
    out = tmp_path / 'annotated'
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(folder), '--out', str(out),
               '--bbox', '0', '0', '32', '32', DRAW_ALL])
    assert sorted(p.name for p in out.iterdir()) == ['img_0.jpg', 'img_1.jpg']
    # The box covers the top-left quarter (padded by 1.25): nothing drawn far from it.
    original = cv2.imread(str(folder / 'img_0.jpg')).astype(int)
    drawn = cv2.imread(str(out / 'img_0.jpg')).astype(int)
    assert np.abs(drawn - original)[:42, :42].max() > 60
    assert np.abs(drawn - original)[48:, 48:].max() < 40              # JPEG noise only


def test_video_in_annotated_video_out(tmp_path, checkpoints):
    source = write_video(tmp_path / 'in.mp4', frames(5))
    out = tmp_path / 'out.mp4'
    demo.main([str(MPII_TINY), checkpoints['mpii'], source, '--out', str(out), DRAW_ALL])
    video, fps = read_video(out)
    assert video.shape == (5, 48, 64, 3) and fps == pytest.approx(10)


def test_3d_demo_from_the_command_line(tmp_path, checkpoints):
    source = write_video(tmp_path / 'clip.mp4', frames(5), fps=12)
    out = tmp_path / 'clip3d.mp4'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    command = [sys.executable, str(ROOT / 'tools' / 'demo.py'), str(VIDEO_TINY),
               checkpoints['video'], source, '--out', str(out), '--panel-size', '96']
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '5/5' in proc.stdout                                   # the progress bar
    video, fps = read_video(out)
    # Each frame: the 64×48 frame scaled to 96 px high (128 wide) beside a 96 px plot.
    assert video.shape == (5, 96, 128 + 96, 3) and fps == pytest.approx(12)


def test_3d_demo_from_a_folder_of_frames(tmp_path, checkpoints):
    folder = write_images(tmp_path / 'frames', frames(3, 48, 48), '{:03d}.png')
    out = tmp_path / 'from_folder.mp4'
    demo.main([str(VIDEO_TINY), checkpoints['video'], str(folder), '--out', str(out),
               '--panel-size', '64', '--fps', '5'])
    video, fps = read_video(out)
    assert video.shape == (3, 64, 128, 3) and fps == pytest.approx(5)


def test_3d_demo_plots_each_frames_joints_in_millimetres(tmp_path, checkpoints,
                                                         monkeypatch):
    folder = write_images(tmp_path / 'frames', frames(5, 48, 48), '{:03d}.png')
    plotted = []

    def record(joints_mm, skeleton, size, bounds, title):
        plotted.append((np.array(joints_mm), np.array(bounds), title))
        return np.zeros((*size, 3), np.uint8)

    monkeypatch.setattr(demo, 'render_pose3d', record)
    demo.main([str(VIDEO_TINY), checkpoints['video'], str(folder), '--out',
               str(tmp_path / 'out.mp4'), '--panel-size', '64'])
    model = init_model(VIDEO_TINY, checkpoints['video'])
    expected = stack_keypoints(inference_video3d(model, str(folder)))     # [5, 17, 3] mm
    assert len(plotted) == 5 and [t for _, _, t in plotted] == [
        f'frame {t} (mm)' for t in range(5)]
    for t, (joints, bounds, _) in enumerate(plotted):
        np.testing.assert_array_equal(joints, expected[t])
        np.testing.assert_array_equal(bounds, expected.reshape(-1, 3))


@pytest.mark.parametrize('config, source, out, error, message', [
    ('video', 'image.png', 'out.mp4', ValueError, 'not a single image'),
    ('mpii', 'image.png', 'out.mp4', ValueError, 'image file name'),
    ('mpii', 'clip.avi', 'out.png', ValueError, '.mp4'),
    ('mpii', 'missing.png', 'out.png', FileNotFoundError, 'missing.png'),
    ('video', 'clip.avi', 'out.mp4', ValueError, '--bbox applies'),
])
def test_clear_errors(tmp_path, checkpoints, config, source, out, error, message):
    cv2.imwrite(str(tmp_path / 'image.png'), frames(1)[0])
    (tmp_path / 'clip.avi').write_bytes(b'not really a video')
    cfg = MPII_TINY if config == 'mpii' else VIDEO_TINY
    box = ['--bbox', '0', '0', '9', '9'] if 'bbox' in message else []
    with pytest.raises(error, match=message):
        demo.main([str(cfg), checkpoints[config], str(tmp_path / source), '--out',
                   str(tmp_path / out), *box])


def test_joint_counts_and_a_warning_when_none_passes(tmp_path, checkpoints, capsys):
    source = tmp_path / 'person.png'
    cv2.imwrite(str(source), frames(1, 80, 60)[0])
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(source), '--out',
               str(tmp_path / 'all.png'), DRAW_ALL])
    out = capsys.readouterr()
    assert '16 of 16 predicted joints scored' in out.out and 'warning' not in out.err
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(source), '--out',
               str(tmp_path / 'none.png'), '--score-thr=1e9'])
    out = capsys.readouterr()
    assert '0 of 16 predicted joints' in out.out
    assert 'warning: no joint passed --score-thr' in out.err


def test_video_frames_of_another_size_are_letterboxed_not_dropped(tmp_path):
    path = str(tmp_path / 'mixed.mp4')
    writer = demo.Mp4Writer(path, 10)
    for frame in (frames(1, 64, 48)[0], frames(1, 32, 48, seed=1)[0], frames(1, 64, 48)[0]):
        writer.write(frame)
    writer.close()
    clip, _ = read_video(path)
    assert clip.shape[:3] == (3, 48, 64)
    # the narrow frame sits in the middle, black bars left and right
    assert clip[1][:, :8].max() < 40 and clip[1][:, 28:36].mean() > 20
