"""Issue 25, "Silent wrong" at inference: boxes wholly outside the image, truncated
videos and dropped COCO annotations are said out loud (an error, or a counted log
line), never silently turned into wrong or missing output."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from tool_loader import load_tool

from hpekit.apis import PoseInferencer
from hpekit.apis import frames as frames_module
from hpekit.apis import inference_topdown, inference_video3d
from hpekit.apis import inferencer as inferencer_module
from hpekit.apis import init_model
from hpekit.core.boxes import boxes_overlap_image
from hpekit.datasets import coco as coco_module
from hpekit.utils import register_all_modules

register_all_modules()
ROOT = Path(__file__).resolve().parents[2]
MPII_TINY = ROOT / 'tests' / 'configs' / 'mpii_tiny.py'
VIDEO_TINY = ROOT / 'tests' / 'configs' / 'video_tiny.py'
demo = load_tool('demo')


def picture(width, height, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8), (width, height))


def capture_logs(monkeypatch, module):
    texts = []
    monkeypatch.setattr(module, 'print_log', lambda msg, **kwargs: texts.append(msg))
    return texts


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpt')
    out = {}
    for name, config in (('mpii', MPII_TINY), ('video', VIDEO_TINY)):
        torch.manual_seed(0)
        out[name] = str(folder / f'{name}.pth')
        torch.save({'state_dict': init_model(config).state_dict()}, out[name])
    return out


# ------------------------------------------------------- 1. boxes outside the image
def test_boxes_overlap_image_mask():
    boxes = [[5000, 5000, 6000, 6000], [-300, -300, -10, -10], [1200, 600, 1400, 800],
             [0, 0, 1280, 720], [1280, 0, 1300, 10], [-50, 10, 0, 20]]
    np.testing.assert_array_equal(boxes_overlap_image(boxes, 1280, 720),
                                  [False, False, True, True, False, False])


def test_box_outside_the_image_is_an_error_in_the_api(checkpoints):
    model = init_model(MPII_TINY, checkpoints['mpii'])
    image = picture(1280, 720)
    for box in ([5000, 5000, 6000, 6000], [-600, -400, -100, -50]):
        with pytest.raises(ValueError, match=r'outside the 1280×720 image.*'
                           + str(float(box[0])).replace('.', r'\.')):
            inference_topdown(model, image, bboxes=[[100, 100, 300, 500], box])
    # partly outside: kept, the crop pads the rest
    (sample,) = inference_topdown(model, image, bboxes=[[1200, 600, 1400, 800]])
    assert sample.pred_instances.keypoints.shape[1] == 16


def test_box_outside_the_image_is_a_counted_skip_in_the_inferencer(monkeypatch, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / 'wide.png'
    cv2.imwrite(str(path), picture(1280, 720))
    logs = capture_logs(monkeypatch, inferencer_module)
    inferencer = PoseInferencer(str(MPII_TINY), detector=dict(
        type='GivenBoxesDetector', bboxes=[[100, 100, 300, 500], [5000, 5000, 6000, 6000],
                                           [1200, 600, 1400, 800]]))
    (result,) = list(inferencer(str(path)))
    assert len(result['predictions']) == 2 and result['skipped_boxes'] == 1
    np.testing.assert_allclose(result['predictions'][1].pred_instances.bboxes,
                               [[1200, 600, 1400, 800]])
    assert inferencer.skipped_boxes == 1
    assert len(logs) == 1 and 'skipped 1 of 3 person boxes' in logs[0]
    assert 'outside the 1280×720 image' in logs[0] and '5000' in logs[0]


def test_box_outside_the_image_is_a_counted_skip_in_the_demo(tmp_path, checkpoints, capsys):
    source = tmp_path / 'wide.png'
    cv2.imwrite(str(source), picture(1280, 720))
    out = tmp_path / 'out.png'
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(source), '--out', str(out),
               '--bbox', '5000', '5000', '6000', '6000', '--score-thr=-1e9'])
    captured = capsys.readouterr()
    assert 'skipped 1 of 1 --bbox boxes' in captured.err and 'outside the image' in captured.err
    assert '0 of 0 predicted joints' in captured.out
    # nothing is drawn: the output is the input (up to PNG round trip, exactly)
    np.testing.assert_array_equal(cv2.imread(str(out)), cv2.imread(str(source)))
    demo.main([str(MPII_TINY), checkpoints['mpii'], str(source), '--out', str(out),
               '--bbox', '100', '100', '300', '500', '--bbox', '-90', '-90', '-10', '-10',
               '--bbox', '1200', '600', '1400', '800', '--score-thr=-1e9'])
    captured = capsys.readouterr()
    assert 'skipped 1 of 3 --bbox boxes' in captured.err
    assert '32 of 32 predicted joints' in captured.out


# ---------------------------------------------------------- 2. truncated video
def truncated_video(path, num=30, width=64, height=48):
    """An MJPG AVI of ``num`` frames cut in half: the header still declares ``num``."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (width, height))
    for _ in range(num):
        writer.write(cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8),
                                (width, height)))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    declared, decoded = frames_module.video_info(path)[1], len(frames_module.load_frames(path))
    assert declared == num and 0 < decoded < num, (declared, decoded)
    return str(path), declared, decoded


def read_count(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_truncated_video_is_logged_when_read(tmp_path, monkeypatch):
    source, declared, decoded = truncated_video(tmp_path / 'cut.avi')
    logs = capture_logs(monkeypatch, frames_module)
    assert len(list(frames_module.iter_video(source))) == decoded
    assert logs == [f'video {source}: the header declares {declared} frames but only '
                    f'{decoded} could be decoded ({declared - decoded} missing: truncated '
                    'or damaged file?)']


@pytest.mark.parametrize('model', ['mpii', 'video'])
def test_truncated_video_fails_the_demo_unless_allow_partial(tmp_path, checkpoints, capsys,
                                                             model):
    source, declared, decoded = truncated_video(tmp_path / 'cut.avi')
    config = MPII_TINY if model == 'mpii' else VIDEO_TINY
    out = tmp_path / 'out.mp4'
    argv = [str(config), checkpoints[model], source, '--out', str(out)]
    with pytest.raises(SystemExit) as exc:
        demo.main(argv)
    message = str(exc.value.code)
    assert exc.value.code != 0 and f'declares {declared} frames but only {decoded}' in message
    assert '--allow-partial' in message
    assert read_count(out) == decoded        # the partial output is there, and said to be
    assert f'{decoded} of {declared} frames' in capsys.readouterr().out
    assert demo.main(argv + ['--allow-partial']) == str(out)
    captured = capsys.readouterr()
    assert f'{decoded} of {declared} frames' in captured.out
    assert f'warning: video {source}: the header declares {declared}' in captured.err
    assert read_count(out) == decoded


def test_whole_video_gives_no_frame_warning(tmp_path, checkpoints, capsys):
    source = tmp_path / 'whole.avi'
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    for i in range(4):
        writer.write(picture(64, 48, seed=i))
    writer.release()
    demo.main([str(VIDEO_TINY), checkpoints['video'], str(source), '--out',
               str(tmp_path / 'out.mp4')])
    captured = capsys.readouterr()
    assert '4 of 4 frames' in captured.out and 'warning' not in captured.err


def test_truncated_video_is_logged_by_the_3d_api(tmp_path, checkpoints, monkeypatch):
    source, declared, decoded = truncated_video(tmp_path / 'cut.avi')
    logs = capture_logs(monkeypatch, frames_module)
    model = init_model(VIDEO_TINY, checkpoints['video'])
    assert len(inference_video3d(model, source)) == decoded
    assert len(logs) == 1 and f'declares {declared} frames but only {decoded}' in logs[0]


# ------------------------------------------------ 3. COCO zero-size boxes dropped
def test_coco_zero_size_box_is_dropped_with_a_log_line(tmp_path, monkeypatch):
    from metainfo_values import metainfo
    num = metainfo('coco')['num_keypoints']

    def ann(ann_id, bbox, iscrowd=0):
        kpts = []
        for j in range(num):
            kpts += [50.0 + 3 * j, 60.0 + 5 * j, 2]
        return dict(id=ann_id, image_id=7, category_id=1, bbox=bbox, area=100.0,
                    iscrowd=iscrowd, num_keypoints=num, keypoints=kpts)

    path = tmp_path / 'annotations' / 'person_keypoints_val2017.json'
    path.parent.mkdir()
    path.write_text(json.dumps(dict(
        images=[dict(id=7, file_name='a.jpg', width=640, height=480)],
        annotations=[ann(1, [100, 50, 40, 120]), ann(2, [100, 50, 0, 120]),
                     ann(3, [10, 20, 30, 0]), ann(4, [700, 20, 30, 40]),
                     ann(5, [0, 0, 10, 10], iscrowd=1)],
        categories=[dict(id=1, name='person')])))
    (tmp_path / 'val2017').mkdir()
    (tmp_path / 'val2017' / 'a.jpg').touch()   # the dataset checks that its images exist
    logs = capture_logs(monkeypatch, coco_module)
    ds = coco_module.CocoDataset(data_root=str(tmp_path),
                                 ann_file='annotations/person_keypoints_val2017.json',
                                 data_prefix=dict(img='val2017/'))
    assert len(ds) == 1 and len(logs) == 1
    assert 'dropped 4 of 5 annotations' in logs[0]
    assert '3 box of zero width or height (after clipping to the image) (ids [2, 3, 4])' \
        in logs[0]
    assert '1 crowd region' in logs[0] and '1 kept' in logs[0]
    assert str(path) in logs[0]
    len(ds)                                   # once per dataset, not per access
    assert len(logs) == 1
