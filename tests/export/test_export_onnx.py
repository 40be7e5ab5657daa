"""ONNX export of both pipelines (hpekit.export.onnx, tools/export_onnx.py).

The parity tests run the exported files with onnxruntime and skip only when it is
not installed (it is in requirements/tests.txt, so CI runs them).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tool_loader import load_tool

from hpekit.apis import init_model
from hpekit.export.onnx import ExportModule, compare_with_onnxruntime, export_onnx
from hpekit.models.estimators import BasePoseEstimator, EstimatorSpec

ROOT = Path(__file__).resolve().parents[2]
VIDEO = str(ROOT / 'tests/configs/video_tiny.py')
MPII = str(ROOT / 'tests/configs/mpii_tiny.py')


def model_of(path, **options):
    return init_model(path, cfg_options=options)


def test_exported_module_equals_the_models_own_path():
    """Normalisation inside the graph = the data preprocessor's."""
    torch.manual_seed(0)
    video = model_of(VIDEO)
    clip = torch.randint(0, 256, (2, 4, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        inputs = video.data_preprocessor({'inputs': clip})['inputs']
        expected = video(inputs, mode='tensor')
        actual = ExportModule(video)(clip.float())
    torch.testing.assert_close(actual, expected)
    torch.testing.assert_close(video.export_forward(clip.float()), expected)
    image_model = model_of(MPII, **{'model.head.merge_weights': [0.3, 0.7]})
    image = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        stacks = image_model(image_model.data_preprocessor({'inputs': image})['inputs'])
        actual = ExportModule(image_model)(image.float())
    torch.testing.assert_close(actual, 0.3 * stacks[0] + 0.7 * stacks[1])


@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_video_model_parity_with_dynamic_batch_and_frames(tmp_path, cell):
    pytest.importorskip('onnxruntime')
    model = model_of(VIDEO, **{'model.temporal_neck.cell': cell,
                               'model.temporal_neck.bidirectional': True,
                               'model.head.in_channels': 64})
    info = export_onnx(model, str(tmp_path / 'video.onnx'), (1, 8, 3, 32, 32))
    assert info['output_shapes'] == [[1, 8, 17, 3]] and info['outputs'] == ['joints_3d']
    assert info['task'] == 'video3d' and info['input'] == 'clip'
    assert info['input_layout'] == '[B, T, 3, H, W] RGB 0..255'
    assert info['output_layouts'] == ['[B, T, K, 3] metres']
    assert info['dynamic_axes']['clip'] == {'0': 'batch', '1': 'frames'}
    result = compare_with_onnxruntime(model, str(tmp_path / 'video.onnx'),
                                      (3, 5, 3, 32, 32))
    assert result['output_shapes'] == [[3, 5, 17, 3]]
    assert result['max_abs_diff'] < 1e-5 < result['max_abs_value']


def test_topdown_model_parity(tmp_path):
    pytest.importorskip('onnxruntime')
    model = model_of(MPII)
    info = export_onnx(model, str(tmp_path / 'hg.onnx'), (1, 3, 64, 64))
    assert info['task'] == 'topdown2d' and info['num_keypoints'] == 16
    assert info['input'] == 'image' and info['outputs'] == ['heatmaps']
    assert info['output_shapes'] == [[1, 16, 16, 16]]
    assert info['dynamic_axes'] == {'image': {'0': 'batch'}, 'heatmaps': {'0': 'batch'}}
    result = compare_with_onnxruntime(model, str(tmp_path / 'hg.onnx'), (2, 3, 64, 64))
    assert result['output_shapes'] == [[2, 16, 16, 16]]
    assert result['max_abs_diff'] < 1e-5 < result['max_abs_value']


def test_tool_loads_the_checkpoint_and_writes_checked_metadata(tmp_path):
    ort = pytest.importorskip('onnxruntime')
    torch.manual_seed(1)
    trained = model_of(MPII)
    with torch.no_grad():  # weights no fresh initialisation would give
        for p in trained.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': trained.state_dict()}, ckpt)
    out = tmp_path / 'export' / 'hg.onnx'
    info = load_tool('export_onnx').main([MPII, str(ckpt), '--out', str(out)])
    meta = json.loads((tmp_path / 'export' / 'hg.json').read_text())
    assert meta['check']['passed'] is True and meta['checkpoint'] == str(ckpt)
    assert meta['input_layout'] == '[B, 3, H, W] RGB 0..255' == info['input_layout']
    assert meta['task'] == 'topdown2d' and meta['input_shape'] == [1, 3, 64, 64]
    assert meta['outputs'] == ['heatmaps'] and meta['output_shapes'] == [[1, 16, 16, 16]]
    assert meta['output_layouts'] == ['[B, K, h, w] heatmaps']
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, 64, 64)).astype(np.float32)
    onnx_out = ort.InferenceSession(str(out)).run(None, {'image': image})[0]
    with torch.no_grad():
        expected = ExportModule(trained.eval())(torch.from_numpy(image)).numpy()
    np.testing.assert_allclose(onnx_out, expected, atol=1e-5)


def test_tool_rejects_a_wrong_output_name(tmp_path):
    with pytest.raises(ValueError, match='expected a .onnx file name'):
        load_tool('export_onnx').main([MPII, '--out', str(tmp_path / 'model.pb')])


class TwoOutputEstimator(BasePoseEstimator):
    """A plugin-style estimator: only ``spec`` and ``forward_tensor`` are its own."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(type='ImageDataPreprocessor'))
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    @property
    def spec(self):
        return EstimatorSpec(task='toy', input_size=(24, 16), num_keypoints=4,
                             input_name='pixels', output_names=('maps', 'pooled'),
                             output_layouts=('[B, 4, H, W]', '[B, 4]'))

    def forward_tensor(self, inputs):
        maps = self.conv(inputs)
        return maps, maps.mean(dim=(2, 3))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.forward_tensor(inputs)


def test_any_estimator_with_a_spec_is_exported(tmp_path):
    """Export reads the spec (names, layouts, dynamic batch), not the model's class."""
    from hpekit.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    model = TwoOutputEstimator().eval()
    assert model.spec.input_shape(1) == (1, 3, 16, 24)
    info = export_onnx(model, str(tmp_path / 'toy.onnx'), model.spec.input_shape(1))
    assert info['task'] == 'toy' and info['input'] == 'pixels'
    assert info['outputs'] == ['maps', 'pooled'] and info['num_keypoints'] == 4
    assert info['output_shapes'] == [[1, 4, 16, 24], [1, 4]]
    assert info['output_layouts'] == ['[B, 4, H, W]', '[B, 4]']
    pytest.importorskip('onnxruntime')
    result = compare_with_onnxruntime(model, str(tmp_path / 'toy.onnx'), (3, 3, 16, 24))
    assert result['output_shapes'] == [[3, 4, 16, 24], [3, 4]]
    assert result['max_abs_diff'] < 1e-4 < result['max_abs_value']
