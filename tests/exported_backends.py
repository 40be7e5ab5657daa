"""What the tests of the backends that run the exported graph (ONNX Runtime, OpenVINO)
share: the tiny configs, boxes, an image, a checkpoint whose export would show a
mistake, and the comparison of their predictions with PyTorch's."""
from pathlib import Path

import numpy as np
import torch

from hpekit.apis import init_model

ROOT = Path(__file__).resolve().parents[1]
MPII_TINY = str(ROOT / 'tests' / 'configs' / 'mpii_tiny.py')
VIDEO_TINY = str(ROOT / 'tests' / 'configs' / 'video_tiny.py')
BOXES = [[10, 10, 90, 110], [40, 5, 150, 118], [0, 0, 160, 120]]


def save_checkpoint(config, path, seed):
    """Random weights with BN statistics off their defaults (a wrong export shows)."""
    torch.manual_seed(seed)
    model = init_model(config)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


def image():
    return (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)


def assert_same_predictions(expected, actual):
    """Same heatmaps (float tolerance), boxes, scores; same keypoints wherever the
    heatmap's maximum is clear (a random model's near-ties may go either way)."""
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        np.testing.assert_allclose(b.pred_heatmaps, a.pred_heatmaps, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b.keypoint_scores, a.keypoint_scores, rtol=1e-4,
                                   atol=1e-6)
        np.testing.assert_array_equal(b.pred_instances.bboxes, a.pred_instances.bboxes)
        maps = a.pred_heatmaps.reshape(len(a.pred_heatmaps), -1)
        top2 = np.sort(maps, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 1e-4 * np.abs(maps).max()
        assert clear.sum() >= len(clear) // 4, 'too few clear maxima to compare'
        np.testing.assert_allclose(b.pred_keypoints[clear], a.pred_keypoints[clear],
                                   atol=1e-3)


def assert_video_equals_pytorch(tmp_path, backend):
    """The tiny video model's 3D joints from ``backend`` equal PyTorch's to 1e-3 mm."""
    from hpekit.apis import inference_video3d, stack_keypoints
    checkpoint = save_checkpoint(VIDEO_TINY, tmp_path / 'video.pth', seed=2)
    torch_model = init_model(VIDEO_TINY, checkpoint)
    exported = init_model(VIDEO_TINY, checkpoint, backend=backend)
    frames = (np.random.default_rng(1).random((6, 40, 40, 3)) * 255).astype(np.uint8)
    expected = stack_keypoints(inference_video3d(torch_model, frames))
    actual = stack_keypoints(inference_video3d(exported, frames))
    assert actual.shape == expected.shape == (6, 17, 3)
    np.testing.assert_allclose(actual, expected, atol=1e-3)   # mm


def assert_topdown_equals_pytorch(torch_model, exported, flip_test):
    """``inference_topdown`` of ``exported`` equals PyTorch's (``assert_same_predictions``)
    with ``flip_test`` on or off, at batch sizes 1 and 2 (the graph's batch axis is
    dynamic); both models' ``test_cfg`` are restored afterwards."""
    from hpekit.apis import inference_topdown
    saved = [dict(m.test_cfg) for m in (torch_model, exported)]
    try:
        for model in (torch_model, exported):
            model.test_cfg.update(flip_test=flip_test, output_heatmaps=True)
        for batch_size in (1, 2):
            expected = inference_topdown(torch_model, image(), BOXES, batch_size=batch_size)
            actual = inference_topdown(exported, image(), BOXES, batch_size=batch_size)
            assert_same_predictions(expected, actual)
    finally:
        for model, cfg in zip((torch_model, exported), saved):
            model.test_cfg.clear()
            model.test_cfg.update(cfg)
