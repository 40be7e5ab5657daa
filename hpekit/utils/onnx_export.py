"""ONNX export of both pipelines, and a parity check with onnxruntime.

The exported graph takes unnormalised RGB pixels (float32, 0..255) and contains the
data preprocessor's normalisation, so a deployment feeds decoded frames directly:

- top-down 2D (``TopDownPoseEstimator``): input ``image`` float32 [B, 3, H, W] (one
  person crop, RGB) → output ``heatmaps`` float32 [B, K, H/4, W/4], the heatmaps the
  model decodes (last stack, or the configured weighted merge of the stacks); no flip
  test inside the graph. Keypoints: argmax (+ quarter-pixel shift) per heatmap, then
  the crop's inverse affine (``hpekit.core``).
- video 3D (``VideoPoseRegressor``): input ``clip`` float32 [B, T, 3, H, W] (RGB) →
  output ``joints_3d`` float32 [B, T, 17, 3] in **metres** (the model's output unit;
  hpekit reports millimetres = ×1000), camera coordinates as in the training files.

Export uses torch's TorchScript-based exporter (``dynamo=False``): the dynamo
exporter, torch's default since 2.9, needs the ``onnxscript`` package, and the
TorchScript one exports the LSTM/GRU/RNN necks as ONNX LSTM/GRU/RNN nodes. The batch
axis (and T for clips) are dynamic.
"""
import os
import os.path as osp
import warnings

import numpy as np
import torch
import torch.nn as nn

from .model_inputs import model_kind

DEFAULT_OPSET = 17


class TopDownExport(nn.Module):
    """RGB crops [B, 3, H, W] (0..255) → heatmaps [B, K, H/4, W/4]."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        pre = self.model.data_preprocessor
        inputs = (image - pre.mean) / pre.std
        return self.model.head.predict_heatmaps(self.model.extract_feat(inputs))


class Video3DExport(nn.Module):
    """RGB clips [B, T, 3, H, W] (0..255) → joints [B, T, 17, 3] in metres."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, clip):
        pre = self.model.data_preprocessor
        inputs = (clip - pre.mean) / pre.std
        return self.model(inputs, mode='tensor')


IO_SPECS = {
    'topdown': dict(wrapper=TopDownExport, input='image', output='heatmaps',
                    dynamic={0: 'batch'}, input_layout='[B, 3, H, W] RGB 0..255',
                    output_layout='[B, K, H/4, W/4] heatmaps'),
    'video3d': dict(wrapper=Video3DExport, input='clip', output='joints_3d',
                    dynamic={0: 'batch', 1: 'frames'},
                    input_layout='[B, T, 3, H, W] RGB 0..255',
                    output_layout='[B, T, 17, 3] metres'),
}


def export_module(model):
    """The eval-mode module that is exported for ``model``, and its I/O spec."""
    spec = IO_SPECS[model_kind(model)]
    return spec['wrapper'](model).eval(), spec


def export_onnx(model, out_file, input_shape, opset=DEFAULT_OPSET):
    """Export ``model`` to ``out_file``.

    Args:
        model: a built hpekit estimator (eval mode is set here).
        out_file (str): the .onnx path (folders are created).
        input_shape (tuple): example input shape with batch axis, e.g. (1, 3, 256, 256).
        opset (int): ONNX opset. Default 17.

    Returns:
        dict: ``input``/``output`` names, ``input_layout``/``output_layout``,
        ``input_shape``, ``output_shape`` (of the example), ``dynamic_axes``, ``opset``.
    """
    module, spec = export_module(model)
    example = torch.rand(*input_shape, device=next(model.parameters()).device) * 255
    with torch.no_grad():
        output_shape = list(module(example).shape)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    axes = {spec['input']: spec['dynamic'], spec['output']: spec['dynamic']}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings on shape checks, deprecation
        torch.onnx.export(module, (example, ), out_file, dynamo=False,
                          input_names=[spec['input']], output_names=[spec['output']],
                          dynamic_axes=axes, opset_version=opset)
    model.eval()  # the exporter restores the wrapper's mode, which may touch the model
    return dict(input=spec['input'], output=spec['output'],
                input_layout=spec['input_layout'], output_layout=spec['output_layout'],
                input_shape=list(input_shape), output_shape=output_shape,
                dynamic_axes={k: {str(a): n for a, n in v.items()} for k, v in axes.items()},
                opset=opset)


def onnxruntime_available():
    """True when onnxruntime can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def compare_with_onnxruntime(model, onnx_file, input_shape, seed=0):
    """Run the PyTorch model and the ONNX file on one random input; compare.

    Args:
        model: the exported hpekit estimator.
        onnx_file (str): the file ``export_onnx`` wrote.
        input_shape (tuple): the input to compare on (may differ from the export
            example along the dynamic axes).

    Returns:
        dict: ``max_abs_diff``, ``max_abs_value`` (of the PyTorch output),
        ``input_shape``, ``output_shape``.

    Raises:
        ImportError: onnxruntime is not installed (pip install onnxruntime).
    """
    if not onnxruntime_available():
        raise ImportError('checking the ONNX file needs onnxruntime: '
                          'pip install onnxruntime (or skip with --no-verify)')
    import onnxruntime as ort
    module, spec = export_module(model)
    generator = torch.Generator().manual_seed(seed)
    example = torch.rand(*input_shape, generator=generator) * 255
    with torch.no_grad():
        expected = module(example.to(next(model.parameters()).device)).cpu().numpy()
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    actual = session.run([spec['output']], {spec['input']: example.numpy()})[0]
    if actual.shape != expected.shape:
        raise AssertionError(f'{onnx_file}: output shape {actual.shape}, PyTorch gives '
                             f'{expected.shape}')
    return dict(max_abs_diff=float(np.abs(actual - expected).max()),
                max_abs_value=float(np.abs(expected).max()),
                input_shape=list(input_shape), output_shape=list(expected.shape))
