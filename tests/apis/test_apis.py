"""hpekit.apis: init_model, inference_topdown, inference_video3d on synthetic inputs."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from metainfo_values import H36M_META, MPII_META, metainfo
from mmengine.structures import InstanceData

from hpekit.apis import (inference_topdown, inference_video3d, init_model, merge_data_samples,
                         stack_keypoints, window_starts)
from hpekit.checkpoint.loading import CheckpointError, UnsafeCheckpointError
from hpekit.datasets.transforms.clip_transforms import resize_frames
from hpekit.models.estimators import EstimatorSpec, TopDownPoseEstimator
from hpekit.structures import PoseDataSample

ROOT = Path(__file__).resolve().parents[2]
MPII_TINY = ROOT / 'tests' / 'configs' / 'mpii_tiny.py'
VIDEO_TINY = ROOT / 'tests' / 'configs' / 'video_tiny.py'
# video_tiny's codec takes 4-frame clips of 32 px; here one window = the 8-frame clips:
# the model's window is its head's decoder (given the config's codec in the file).
CLIPS_OF_8 = {'model.head.decoder.num_frames': 8}


# ------------------------------------------------------------------ helpers
def topdown(*args, **kwargs):
    """inference_topdown's samples merged into arrays: keypoints [N, K, 2],
    keypoint_scores [N, K], bboxes [N, 4]."""
    samples = inference_topdown(*args, **kwargs)
    for sample in samples:    # MMPose's fields, one instance per sample
        assert sample.pred_instances.keypoints.shape[0] == 1
    instances = merge_data_samples(samples).pred_instances
    if not samples:
        return dict(keypoints=np.zeros((0, 16, 2)), keypoint_scores=np.zeros((0, 16)),
                    bboxes=np.zeros((0, 4)))
    return dict(keypoints=instances.keypoints, keypoint_scores=instances.keypoint_scores,
                bboxes=instances.bboxes)

class BrightnessHeatmaps(nn.Module):
    """Backbone whose K heatmaps are the input's brightness sampled (bilinear) at the
    heatmap pixel centres: a bright spot in the crop gives a peak exactly where the
    crop → heatmap map puts it."""

    def __init__(self, num_joints=16, heatmap_size=32):
        super().__init__()
        self.num_joints, self.heatmap_size = num_joints, heatmap_size

    def forward(self, x):
        grey = x.mean(dim=1, keepdim=True)
        maps = F.interpolate(grey, size=(self.heatmap_size,) * 2, mode='bilinear',
                             align_corners=False)
        return (maps.repeat(1, self.num_joints, 1, 1),)


def spot_model(flip_test=True):
    """A top-down model that 'detects' the brightest spot of a 128 px crop."""
    codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
    model = TopDownPoseEstimator(backbone=BrightnessHeatmaps(),
                                 head=dict(type='MultiStageHeatmapHead', num_joints=16,
                                           decoder=codec),
                                 test_cfg=dict(flip_test=flip_test))
    model.dataset_meta = metainfo('mpii')
    return model.eval()


def blob_image(width, height, point, sigma=5.0):
    """uint8 grey image [H, W, 3], black with a Gaussian spot centred at ``point``."""
    y, x = np.mgrid[:height, :width]
    spot = np.exp(-((x - point[0]) ** 2 + (y - point[1]) ** 2) / (2 * sigma ** 2))
    return np.repeat(np.rint(255 * spot).astype(np.uint8)[..., None], 3, axis=2)


def heatmap_point_in_image(center, side, uv, heatmap=32):
    """Image px of heatmap px ``uv`` for a square crop of ``side`` px at ``center``:
    heatmap pixel centres are spaced side / heatmap apart, centred on the box centre."""
    return np.asarray(center) + (np.asarray(uv) - (heatmap - 1) / 2) * side / heatmap


# ---------------------------------------------------------- box → heatmap → image
@pytest.mark.parametrize('box, center, side', [
    # A wide box: square side = width 100 × padding 1.25; centre in 0-based px.
    ((50, 40, 150, 120), (99.5, 79.5), 125.0),
    # A tall box reaching past the image's left edge: side = height 160 × 1.25.
    ((-20, 10, 40, 170), (9.5, 89.5), 200.0),
])
@pytest.mark.parametrize('flip_test', [False, True])
def test_a_spot_round_trips_through_crop_and_heatmap(box, center, side, flip_test):
    # Peak at heatmap (20.25, 9.75): argmax (20, 10), then the quarter-pixel shift
    # toward the higher neighbours lands exactly there, so decoding is exact.
    point = heatmap_point_in_image(center, side, (20.25, 9.75))
    image = blob_image(300, 200, point, sigma=side / 32)
    result = topdown(spot_model(flip_test), image, bboxes=[box])
    assert result['keypoints'].shape == (1, 16, 2)
    np.testing.assert_allclose(result['keypoints'][0], np.tile(point, (16, 1)), atol=1e-3)
    assert result['keypoint_scores'].shape == (1, 16)
    np.testing.assert_allclose(result['bboxes'], [box])


def test_no_boxes_means_the_whole_image():
    # 300 × 200 image → square box of side 300 centred on the image, no padding.
    point = heatmap_point_in_image((149.5, 99.5), 300.0, (12.25, 18.75))
    image = blob_image(300, 200, point, sigma=300 / 32)
    result = topdown(spot_model(), image)
    np.testing.assert_allclose(result['keypoints'][0], np.tile(point, (16, 1)), atol=1e-3)
    np.testing.assert_allclose(result['bboxes'], [[0, 0, 300, 200]])


def test_many_boxes_are_batched_without_changing_results():
    image = blob_image(300, 200, (150, 100), sigma=6)
    boxes = [(100, 50, 200, 150), (120, 60, 190, 160), (90, 40, 230, 170),
             (140, 90, 160, 110), (0, 0, 300, 200)]
    one_batch = topdown(spot_model(), image, boxes, batch_size=16)
    small_batches = topdown(spot_model(), image, boxes, batch_size=2)
    assert one_batch['keypoints'].shape == (5, 16, 2)
    np.testing.assert_array_equal(one_batch['keypoints'], small_batches['keypoints'])
    np.testing.assert_array_equal(one_batch['keypoint_scores'],
                                  small_batches['keypoint_scores'])
    # Every box sees the spot at (150, 100) to within a quarter heatmap pixel.
    sides = np.array([125, 125, 175, 25, 300])
    errors = np.abs(one_batch['keypoints'] - [150, 100]).max(axis=(1, 2))
    assert np.all(errors <= sides / 32 * 0.75 + 1e-3)


def test_empty_boxes_give_empty_results():
    result = topdown(spot_model(), blob_image(64, 64, (30, 30)),
                               np.zeros((0, 4)))
    assert result['keypoints'].shape == (0, 16, 2)
    assert result['keypoint_scores'].shape == (0, 16)


@pytest.mark.parametrize('bboxes, message', [
    ([[10, 10, 5, 20]], 'x2 > x1'),
    ([[0, 0, 10]], r'\[N, 4\]'),
    ([[0, 0, np.nan, 10]], 'finite'),
])
def test_bad_boxes_are_named(bboxes, message):
    with pytest.raises(ValueError, match=message):
        topdown(spot_model(), blob_image(64, 64, (30, 30)), bboxes)


def test_bad_images_are_named(tmp_path):
    with pytest.raises(ValueError, match=r'uint8 array \[H, W, 3\]'):
        topdown(spot_model(), np.zeros((20, 20), np.uint8))
    with pytest.raises(FileNotFoundError, match='missing.png'):
        topdown(spot_model(), tmp_path / 'missing.png')
    with pytest.raises(ValueError, match='channel_order'):
        topdown(spot_model(), np.zeros((8, 8, 3), np.uint8), channel_order='rbg')


# ------------------------------------------------------------------- init_model
@pytest.fixture(scope='module')
def mpii_model():
    torch.manual_seed(0)
    return init_model(MPII_TINY)


def test_init_model_reads_what_inference_needs_from_the_config(mpii_model):
    assert not mpii_model.training
    # the test dataset's parsed metainfo ...
    meta = mpii_model.dataset_meta
    assert meta['dataset_name'] == 'mpii' and meta['num_keypoints'] == 16
    assert meta['flip_indices'] == MPII_META['flip_indices']
    assert meta['skeleton_links'] == MPII_META['skeleton_links']
    assert meta['keypoint_id2name'] == MPII_META['keypoint_id2name']
    assert not {'task', 'input_size', 'clip_len'} & set(meta)
    # ... and the model's spec, from the config's codec (mpii_tiny: 64 px crops)
    spec = mpii_model.spec
    assert isinstance(spec, EstimatorSpec)
    assert spec.task == 'topdown2d' and spec.input_size == (64, 64)
    assert spec.num_keypoints == 16 and spec.num_frames is None
    assert spec.input_shape(2) == (2, 3, 64, 64)
    assert spec.input_name == 'image' and spec.output_names == ('heatmaps',)


def test_init_model_accepts_a_config_and_checks_the_keypoint_count():
    from mmengine import Config
    raw = Config.fromfile(str(MPII_TINY))           # a plain mmengine Config
    model = init_model(raw, cfg_options={'model.head.decoder.input_size': (96, 96)})
    assert model.spec.input_size == (96, 96)        # options merged: the head's decoder
    assert model.dataset_meta['num_keypoints'] == 16
    mpii = dict(from_file='configs/_base_/datasets/mpii.py')
    with pytest.raises(ValueError, match='17 keypoints.*16'):
        init_model(VIDEO_TINY, cfg_options={'test_dataloader.dataset.metainfo': mpii})
    with pytest.raises(TypeError, match='Config'):
        init_model(dict(model=dict()))


def test_init_model_loads_a_checkpoint(tmp_path, mpii_model):
    # A DDP-style checkpoint ('module.' prefixes) as mmengine's CheckpointHook writes.
    state = {f'module.{k}': v for k, v in mpii_model.state_dict().items()}
    path = tmp_path / 'model.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': state}, path)
    torch.manual_seed(1)
    fresh = init_model(MPII_TINY)
    key = next(k for k, v in mpii_model.state_dict().items() if v.dim() == 4)  # a conv
    assert not torch.equal(fresh.state_dict()[key], mpii_model.state_dict()[key])
    loaded = init_model(MPII_TINY, checkpoint=str(path))
    for name, value in mpii_model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name


def test_init_model_refuses_mismatching_and_unsafe_checkpoints(tmp_path):
    other = tmp_path / 'video.pth'
    torch.save({'state_dict': init_model(VIDEO_TINY).state_dict()}, other)
    with pytest.raises(CheckpointError, match='video.pth'):
        init_model(MPII_TINY, checkpoint=str(other))
    unsafe = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': {}, 'payload': Path('/etc')}, unsafe)
    with pytest.raises(UnsafeCheckpointError):
        init_model(MPII_TINY, checkpoint=str(unsafe))


def test_init_model_non_strict_loads_the_keys_that_fit(tmp_path, mpii_model):
    state = dict(mpii_model.state_dict())
    dropped = next(k for k, v in state.items() if v.dim() == 4)
    kept = next(k for k, v in state.items() if v.dim() == 4 and k != dropped)
    del state[dropped]
    state['extra.weight'] = torch.zeros(1)
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointError, match=r'1 missing keys.*1 unexpected keys'):
        init_model(MPII_TINY, checkpoint=str(path))
    torch.manual_seed(1)
    loaded = init_model(MPII_TINY, checkpoint=str(path), strict=False)
    assert torch.equal(loaded.state_dict()[kept], mpii_model.state_dict()[kept])
    assert not torch.equal(loaded.state_dict()[dropped], mpii_model.state_dict()[dropped])


def test_xywh_boxes_are_coco_boxes():
    image = blob_image(300, 200, (150, 100), sigma=6)
    xyxy = topdown(spot_model(), image, [(100, 50, 200, 150)])
    xywh = topdown(spot_model(), image, [(100, 50, 100, 100)], bbox_format='xywh')
    np.testing.assert_array_equal(xyxy['keypoints'], xywh['keypoints'])
    np.testing.assert_allclose(xywh['bboxes'], [(100, 50, 200, 150)])
    with pytest.raises(ValueError, match='bbox_format'):
        inference_topdown(spot_model(), image, [(1, 1, 2, 2)], bbox_format='cxcywh')


def test_inference_crops_exactly_as_validation(tmp_path):
    """The same box gives the same crop (to the pixel, reduced JPEG decoding included)
    and the same keypoints through inference_topdown as through the val pipeline."""
    from mmengine.dataset import pseudo_collate

    from hpekit.datasets.synthetic.mpii import write_mpii_split
    from hpekit.registry import DATASETS
    write_mpii_split(str(tmp_path), num_train=1, num_val=2, progress=False)
    torch.manual_seed(0)
    model = init_model(MPII_TINY, cfg_options={
        'test_dataloader.dataset.data_root': str(tmp_path)})
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    info = dataset.get_data_info(0)
    center, size = info['center'].astype(np.float64), info['bbox_size'].astype(np.float64)
    box = np.concatenate([center + 0.5 - size / 2, center + 0.5 + size / 2])
    # the crop: the box is wide enough that the val pipeline decodes at reduced size
    item = dataset[0]
    assert item['data_samples'].metainfo['img_scale'] < 1.0
    captured = []
    original = model.test_step
    model.test_step = lambda batch: captured.append(batch) or original(batch)
    sample = inference_topdown(model, info['img_path'], [box], padding=1.0)[0]
    np.testing.assert_array_equal(captured[0]['inputs'][0].numpy(), item['inputs'].numpy())
    with torch.no_grad():
        expected = model.test_step(pseudo_collate([item]))[0]
    np.testing.assert_array_equal(sample.pred_instances.keypoints[0],
                                  expected.pred_keypoints)


def test_channel_order_and_paths_agree(tmp_path, mpii_model):
    """Arrays are BGR by default (MMPose's and cv2.imread's order), RGB when said so;
    paths are decoded to RGB."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    path = tmp_path / 'image.png'
    cv2.imwrite(str(path), rgb[..., ::-1])            # cv2 writes BGR
    from_path = topdown(mpii_model, str(path))['keypoint_scores']
    from_rgb = topdown(mpii_model, rgb, channel_order='rgb')['keypoint_scores']
    from_bgr = topdown(mpii_model, rgb[..., ::-1])['keypoint_scores']          # default
    from_imread = topdown(mpii_model, cv2.imread(str(path)))['keypoint_scores']
    stated = topdown(mpii_model, rgb[..., ::-1], channel_order='bgr')['keypoint_scores']
    for scores in (from_rgb, from_bgr, from_imread, stated):
        np.testing.assert_array_equal(scores, from_path)
    swapped = topdown(mpii_model, rgb)['keypoint_scores']     # RGB taken as BGR
    assert not np.array_equal(from_path, swapped)


# --------------------------------------------------------------------- video 3D
@pytest.fixture(scope='module')
def video_model():
    torch.manual_seed(0)
    return init_model(VIDEO_TINY, cfg_options=CLIPS_OF_8)


def reference_mm(model, frames):
    """The model's direct forward on frames [L, H, W, 3] at 32 px, in mm [L, 17, 3]."""
    clip = resize_frames(frames, 32, 32).transpose(0, 3, 1, 2)
    data = model.data_preprocessor({'inputs': [torch.from_numpy(clip.copy())]})
    with torch.no_grad():
        return model(data['inputs'], mode='tensor')[0].numpy() * 1000.0


def test_video_meta_and_spec():
    model = init_model(VIDEO_TINY)
    assert model.dataset_meta['dataset_name'] == 'h36m'
    assert model.dataset_meta['num_keypoints'] == 17
    assert model.dataset_meta['flip_indices'] == H36M_META['flip_indices']
    spec = model.spec
    assert spec.task == 'video3d' and spec.input_size == (32, 32) and spec.num_frames == 4
    assert spec.num_keypoints == 17 and spec.input_shape(2) == (2, 4, 3, 32, 32)
    assert spec.input_name == 'clip' and spec.output_names == ('joints_3d',)
    # the frame size and clip length are the head's decoder's (the config's codec)
    spec = init_model(VIDEO_TINY, cfg_options={'model.head.decoder.input_size': (48, 40),
                                               'model.head.decoder.num_frames': 8}).spec
    assert spec.input_size == (48, 40) and spec.num_frames == 8
    assert spec.input_shape() == (1, 8, 3, 40, 48)


def test_window_starts():
    assert window_starts(8, 8) == [0]
    assert window_starts(3, 4) == [0]
    assert window_starts(8, 4) == [0, 4]
    assert window_starts(11, 4) == [0, 4, 7]


def video3d(*args, **kwargs):
    """inference_video3d's samples stacked: joints [T, K, 3] mm (one person a frame)."""
    return stack_keypoints(inference_video3d(*args, **kwargs))


def test_one_clip_matches_the_model_in_millimetres(video_model):
    frames = np.random.default_rng(0).integers(0, 256, (8, 40, 48, 3), dtype=np.uint8)
    samples = inference_video3d(video_model, frames, channel_order='rgb')
    assert len(samples) == 8 and all(type(s) is PoseDataSample for s in samples)
    expected = reference_mm(video_model, frames)
    for t, sample in enumerate(samples):      # MMPose's lifter layout: [1, K, 3] a frame
        inst = sample.pred_instances
        assert inst.keypoints.shape == (1, 17, 3) and inst.keypoints.dtype == np.float32
        assert inst.keypoint_scores.shape == (1, 17)
        assert inst.keypoint_scores.dtype == np.float32 and np.all(inst.keypoint_scores == 1)
        np.testing.assert_allclose(inst.keypoints[0], expected[t], atol=1e-3)   # mm
        assert sample.frame_idx == t and sample.img_shape == (40, 48)
        assert sample.input_size == (32, 32) and sample.clip_len == 8
        assert sample.flip_indices == H36M_META['flip_indices']
    joints = stack_keypoints(samples)
    assert joints.shape == (8, 17, 3) and joints.dtype == np.float32
    np.testing.assert_allclose(joints, expected, atol=1e-3)


def test_stack_keypoints_needs_one_person_per_frame():
    one = PoseDataSample()
    one.pred_instances = InstanceData(keypoints=np.zeros((1, 17, 3), np.float32))
    two = PoseDataSample()
    two.pred_instances = InstanceData(keypoints=np.zeros((2, 17, 3), np.float32))
    assert stack_keypoints([one, one]).shape == (2, 17, 3)
    with pytest.raises(ValueError, match='sample 1 needs one instance'):
        stack_keypoints([one, two])
    with pytest.raises(ValueError, match='pred_instances.keypoints_2d'):
        stack_keypoints([one], field='keypoints_2d')
    with pytest.raises(ValueError, match='at least one sample'):
        stack_keypoints([])


def test_long_and_short_clips_use_windows(video_model):
    frames = np.random.default_rng(1).integers(0, 256, (11, 32, 32, 3), dtype=np.uint8)
    samples = inference_video3d(video_model, frames, clip_len=4, batch_size=2,
                                channel_order='rgb')
    assert [s.frame_idx for s in samples] == list(range(11))
    assert {s.clip_len for s in samples} == {4}
    windows = {s: reference_mm(video_model, frames[s:s + 4]) for s in (0, 4, 7)}
    expected = np.concatenate([windows[0], windows[4][:3],
                               (windows[4][3:] + windows[7][:1]) / 2, windows[7][1:]])
    np.testing.assert_allclose(stack_keypoints(samples), expected, atol=1e-3)
    short = video3d(video_model, frames[:3], clip_len=4, channel_order='rgb')
    assert short.shape == (3, 17, 3)              # the padding frame is dropped
    padded = np.concatenate([frames[:3], frames[2:3]])
    np.testing.assert_allclose(short, reference_mm(video_model, padded)[:3], atol=1e-3)


def test_frames_from_folders_lists_and_videos(tmp_path, video_model):
    frames = np.random.default_rng(2).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    folder = tmp_path / 'frames'
    folder.mkdir()
    for t, frame in enumerate(frames):
        cv2.imwrite(str(folder / f'{t:04d}.png'), frame[..., ::-1])
    expected = video3d(video_model, frames, channel_order='rgb')
    np.testing.assert_array_equal(video3d(video_model, str(folder)), expected)
    paths = sorted(str(p) for p in folder.iterdir())
    np.testing.assert_array_equal(video3d(video_model, paths), expected)
    np.testing.assert_array_equal(video3d(video_model, frames[..., ::-1]), expected)  # BGR
    np.testing.assert_array_equal(
        video3d(video_model, frames[..., ::-1], channel_order='bgr'), expected)
    assert not np.allclose(video3d(video_model, frames), expected)   # RGB taken as BGR
    video = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'mp4v'), 10, (32, 32))
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    from_video = video3d(video_model, str(video))
    assert from_video.shape == (5, 17, 3) and np.all(np.isfinite(from_video))
    # hpekit decodes the file itself to RGB: the same as OpenCV's (BGR) frames given
    # as arrays, which are BGR by default
    capture, decoded = cv2.VideoCapture(str(video)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        decoded.append(frame)
    capture.release()
    np.testing.assert_array_equal(video3d(video_model, np.stack(decoded)), from_video)
    # frames of another size are resized to the input; img_shape keeps each one's own
    mixed = [frames[0], np.zeros((48, 40, 3), np.uint8)]
    assert [s.img_shape for s in inference_video3d(video_model, mixed)] == [(32, 32),
                                                                         (48, 40)]


def test_video_api_rejects_the_wrong_model_and_bad_frames(video_model, mpii_model):
    with pytest.raises(ValueError, match='video3d'):
        inference_video3d(mpii_model, np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='topdown2d'):
        topdown(video_model, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r'uint8 array \[H, W, 3\]'):
        inference_video3d(video_model, np.zeros((2, 8, 8, 3), np.float32))
