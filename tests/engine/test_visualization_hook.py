"""PoseVisualizationHook: pictures of val predictions vs ground truth per evaluation."""
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from metainfo_values import metainfo, mpii_id
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from pose_pictures import (LEFT_FOREARM, RIGHT_FOREARM, assert_colour, link_colour, midpoint,
                           stick_figure)

from hpekit.config.setup import enable_tensorboard, load_config, setup_train_config
from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.datasets.synthetic.mpii import write_mpii_split
from hpekit.engine.hooks import visualization as visualization_hook
from hpekit.engine.hooks.visualization import PoseVisualizationHook
from hpekit.registry import HOOKS
from hpekit.structures import PoseDataSample
from hpekit.visualization.local_visualizer import GRID_GAP_PX, GRID_TITLE_PX
from hpekit.visualization.skeleton2d import GT_COLOR

ROOT = Path(__file__).resolve().parents[2]


def train_one_epoch(config, work_dir, options, num_samples=2, tensorboard=False):
    """Train ``config`` for one epoch with the hook added; returns the runner."""
    cfg = load_config(str(config), {**options, 'train_cfg.max_epochs': 1})
    cfg.custom_hooks = [*cfg.custom_hooks,
                        dict(type='PoseVisualizationHook', num_samples=num_samples)]
    setup_train_config(cfg, str(config), work_dir=str(work_dir))
    if tensorboard:
        enable_tensorboard(cfg)
    # mmengine keeps one Visualizer per name and process: a fresh name per run here.
    cfg.visualizer.name = f'visualizer_{work_dir}'
    init_default_scope('hpekit')
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def read_rgb(path):
    image = cv2.imread(str(path))
    assert image is not None, f'{path} is not a readable image'
    return image


def test_the_hook_is_registered():
    assert HOOKS.get('PoseVisualizationHook') is PoseVisualizationHook


def test_mpii_training_draws_val_predictions(tmp_path):
    data = tmp_path / 'mpii'
    write_mpii_split(str(data), num_train=2, num_val=2, image_size=(192, 128), seed=3,
                     progress=False)
    gt = str(data / 'annotations' / 'mpii_gt_val.mat')
    options = {f'{s}_dataloader.dataset.data_root': str(data) for s in
               ('train', 'val', 'test')}
    options.update({'val_evaluator.gt_file': gt, 'test_evaluator.gt_file': gt})
    runner = train_one_epoch(ROOT / 'tests' / 'configs' / 'mpii_tiny.py', tmp_path / 'w',
                             options)
    png = tmp_path / 'w' / 'val_predictions' / 'epoch_1.png'
    backend_png = Path(runner.log_dir) / 'vis_data' / 'vis_image' / 'val_predictions_1.png'
    picture = read_rgb(png)
    assert picture.shape[0] > 150 and picture.shape[1] > 300     # two panels side by side
    np.testing.assert_array_equal(read_rgb(backend_png), picture)


def h36m_options(tmp_path):
    data = tmp_path / 'h36m'
    write_h36m_split(str(data), num_train=4, num_valid=3, size=32, num_frames=4,
                     progress=False)
    return {f'{s}_dataloader.dataset.data_root': str(data) for s in
            ('train', 'val', 'test')}


def test_video_training_draws_3d_plots(tmp_path):
    options = h36m_options(tmp_path)
    runner = train_one_epoch(ROOT / 'tests' / 'configs' / 'video_tiny.py', tmp_path / 'w',
                             options, num_samples=3)
    picture = read_rgb(tmp_path / 'w' / 'val_predictions' / 'epoch_1.png')
    assert picture.shape[1] > 3 * 400                         # three 3D plots in a row
    assert (Path(runner.log_dir) / 'vis_data' / 'vis_image' /
            'val_predictions_1.png').is_file()


# -------------------------------------------------------------------- TensorBoard
def test_tensorboard_is_opt_in_and_receives_the_pictures(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    runner = train_one_epoch(ROOT / 'tests' / 'configs' / 'video_tiny.py', tmp_path / 'w',
                             h36m_options(tmp_path), tensorboard=True)
    events = EventAccumulator(str(Path(runner.log_dir) / 'vis_data'))
    events.Reload()
    assert 'val_predictions' in events.Tags()['images']
    assert 'mpjpe' in events.Tags()['scalars']


def test_enable_tensorboard_keeps_the_backends_and_explains_a_missing_package(
        monkeypatch):
    cfg = load_config(str(ROOT / 'tests' / 'configs' / 'video_tiny.py'))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend']
    monkeypatch.setattr('importlib.util.find_spec', lambda name: object())
    enable_tensorboard(enable_tensorboard(cfg))                 # twice: added once
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend']
    monkeypatch.setattr('importlib.util.find_spec', lambda name: None)
    with pytest.raises(ImportError, match='pip install tensorboard'):
        enable_tensorboard(load_config(str(ROOT / 'tests' / 'configs' / 'video_tiny.py')))


# ------------------------------------------------------------- unit level, fake runner
def sample_2d(idx, center=(50.0, 40.0), box=(80.0, 80.0)):
    """A top-down val output: prediction 2 px right of the GT, GT at the box centre."""
    sample = PoseDataSample(metainfo=dict(sample_idx=idx, center=np.array(center),
                                          bbox_size=np.array(box), input_size=(64, 64)))
    gt = np.tile(np.array(center, np.float32), (16, 1))
    sample.gt_keypoints = torch.from_numpy(gt)
    sample.keypoints_visible = torch.ones(16)
    sample.pred_keypoints = gt + [2.0, 0.0]
    sample.keypoint_scores = np.ones(16, np.float32)
    return sample


def fake_runner(tmp_path):
    images = []
    visualizer = SimpleNamespace(add_image=lambda name, image, step: images.append(
        (name, image, step)))
    dataset = SimpleNamespace(metainfo=metainfo('mpii'))
    runner = SimpleNamespace(
        work_dir=str(tmp_path), epoch=3, iter=30, visualizer=visualizer,
        log_processor=SimpleNamespace(by_epoch=True), logger=SimpleNamespace(info=print),
        val_dataloader=SimpleNamespace(dataset=dataset))
    return runner, images


def run_validation(hook, runner, batches):
    hook.before_val_epoch(runner)
    for i, samples in enumerate(batches):
        inputs = [torch.zeros(3, 64, 64, dtype=torch.uint8) for _ in samples]
        hook.after_val_iter(runner, i, dict(inputs=inputs, data_samples=samples), samples)
    hook.after_val_epoch(runner, {})


def test_keeps_the_first_samples_in_crop_pixels(tmp_path):
    hook = PoseVisualizationHook(num_samples=3)
    runner, images = fake_runner(tmp_path)
    run_validation(hook, runner, [[sample_2d(0), sample_2d(1)], [sample_2d(2),
                                                                 sample_2d(3)]])
    assert [r['title'] for r in hook._records] == ['#0', '#1', '#2']
    # The box centre lands on the crop centre; 2 image px = 2 · 64 / 80 crop px.
    kept = hook._records[0]['sample']
    np.testing.assert_allclose(kept.gt_instances.keypoints[0], np.full((16, 2), 31.5))
    np.testing.assert_allclose(kept.pred_instances.keypoints[0][:, 0], 31.5 + 1.6)
    assert kept.pred_instances.keypoint_scores.shape == (1, 16)
    assert (tmp_path / 'val_predictions' / 'epoch_3.png').is_file()
    (name, image, step), = images
    assert name == 'val_predictions' and step == 3 and image.ndim == 3


def stick_sample(idx, scores):
    """A val output whose crop is the image itself (box centred, 64 px): the stick
    figure predicted 5 px below its ground truth."""
    sample = PoseDataSample(metainfo=dict(sample_idx=idx, center=np.array([31.5, 31.5]),
                                          bbox_size=np.array([64.0, 64.0]),
                                          input_size=(64, 64)))
    sample.gt_keypoints = torch.from_numpy(stick_figure())
    sample.keypoints_visible = torch.ones(16)
    sample.pred_keypoints = stick_figure(shift=(0, 5))
    sample.keypoint_scores = np.asarray(scores, np.float32)
    return sample


def test_the_picture_shows_prediction_over_ground_truth_in_link_colours(tmp_path):
    hook = PoseVisualizationHook(num_samples=2, score_thr=0.5)
    runner, images = fake_runner(tmp_path)
    low = np.ones(16)
    low[mpii_id('right_wrist')] = 0.2                       # under score_thr: left out
    run_validation(hook, runner, [[stick_sample(0, np.ones(16)), stick_sample(1, low)]])
    picture = read_rgb(tmp_path / 'val_predictions' / 'epoch_3.png')[..., ::-1]
    (_, handed, _), = images
    np.testing.assert_array_equal(handed, picture)         # the PNG goes to the backends
    # PoseLocalVisualizer.draw_grid: 64 px crops enlarged ×3, side by side under a title
    top, cell = 2 * GRID_TITLE_PX, 3 * 64
    assert picture.shape == (top + cell + GRID_GAP_PX, 2 * cell + GRID_GAP_PX, 3)

    def at(panel, x, y):
        return panel * (cell + GRID_GAP_PX) + 3 * x + 1, top + 3 * y + 1

    gt, pred = stick_figure(), stick_figure(shift=(0, 5))
    for panel in (0, 1):
        assert_colour(picture, *at(panel, *midpoint(pred, LEFT_FOREARM)),
                      link_colour(LEFT_FOREARM))
        for bone in (LEFT_FOREARM, RIGHT_FOREARM):
            assert_colour(picture, *at(panel, *midpoint(gt, bone)), GT_COLOR)
    assert_colour(picture, *at(0, *midpoint(pred, RIGHT_FOREARM)),
                  link_colour(RIGHT_FOREARM))
    assert_colour(picture, *at(1, *midpoint(pred, RIGHT_FOREARM)), (0, 0, 0), tol=0)


def test_only_backends_without_out_dir_and_nothing_off_rank_zero(tmp_path, monkeypatch):
    hook = PoseVisualizationHook(num_samples=1, out_dir=None)
    runner, images = fake_runner(tmp_path)
    run_validation(hook, runner, [[sample_2d(0)]])
    assert len(images) == 1 and not (tmp_path / 'val_predictions').exists()
    monkeypatch.setattr(visualization_hook, 'is_main_process', lambda: False)
    images.clear()
    run_validation(PoseVisualizationHook(num_samples=1), runner, [[sample_2d(0)]])
    assert images == [] and not (tmp_path / 'val_predictions').exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_samples'):
        PoseVisualizationHook(num_samples=0)
    with pytest.raises(ValueError, match='frame'):
        PoseVisualizationHook(frame=-1)
