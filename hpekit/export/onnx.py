"""ONNX export of any hpekit estimator, and a parity check with onnxruntime.

What is exported is the estimator's contract (``model.spec``, ``model.export_forward``):
the graph takes unnormalised pixels (float32, 0..255, the spec's channel order) and
contains the normalisation, so a deployment feeds decoded frames directly. For the
built-in estimators:

- top-down 2D: input ``image`` float32 [B, 3, H, W] (one person crop, RGB) → output
  ``heatmaps`` float32 [B, K, h, w], the heatmaps the model decodes (last stack, or
  the configured weighted merge of the stacks); no flip test inside the graph.
  Keypoints: the codec's decoding, then the crop's inverse affine (``hpekit.core``).
  A SimCC head (RTMPose's ``RTMCCHead``) gives two outputs instead, named by the head's
  ``output_names``: ``simcc_x`` float32 [B, K, W·r] and ``simcc_y`` [B, K, H·r] (r: the
  split ratio), the logits MMPose's RTMPose graphs give, so clients such as rtmlib run
  the file with ``mean=None, std=None`` on RGB images.
- video 3D: input ``clip`` float32 [B, T, 3, H, W] (RGB) → output ``joints_3d``
  float32 [B, T, K, 3] in **metres** (hpekit reports millimetres = ×1000).
- 2D → 3D lifting (spec ``input_kind='keypoints'``): input ``keypoints`` float32
  [B, T, K, 2], normalised as the spec's ``input_layout`` says (no pixels) → output
  ``joints_3d`` float32 [B, T - R + 1, K, 3] metres (R: the receptive field).

Export uses torch's TorchScript-based exporter (``dynamo=False``): the dynamo
exporter, torch's default since 2.9, needs the ``onnxscript`` package, and the
TorchScript one exports the LSTM/GRU/RNN necks as ONNX LSTM/GRU/RNN nodes. The batch
axis (and T for clips) are dynamic.

The graph is written to a temporary file beside the output and renamed onto it only
after ``export_onnx``'s ``check`` (``tools/export_onnx.py``: the onnxruntime parity
check) passed: a failed export or check never leaves a file under the final name.
"""
import os
import os.path as osp
import secrets
import warnings
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from hpekit.models.model_inputs import model_spec

if TYPE_CHECKING:
    from hpekit.models.estimators.base import EstimatorSpec

DEFAULT_OPSET = 17


class ExportModule(nn.Module):
    """The module that is exported: pixels → ``model.export_forward(pixels)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        return self.model.export_forward(pixels)


def example_input(spec: 'EstimatorSpec', shape: Sequence[int],
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """A random input of ``shape``: pixels in [0, 255], or keypoints in [-1, 1] for a
    spec with ``input_kind='keypoints'``."""
    values = torch.rand(*shape, generator=generator)
    if getattr(spec, 'input_kind', 'pixels') == 'keypoints':
        return values * 2 - 1
    return values * 255


def _outputs(value):
    """A tensor or a tuple/list of tensors → a list of tensors."""
    return list(value) if isinstance(value, (tuple, list)) else [value]


def export_onnx(model: nn.Module, out_file: str, input_shape: Sequence[int],
                opset: int = DEFAULT_OPSET,
                check: Optional[Callable[[str, Dict[str, Any]], Any]] = None
                ) -> Dict[str, Any]:
    """Export ``model`` to ``out_file``, atomically.

    The graph goes to a temporary file beside ``out_file`` (``.<name>.*.tmp``),
    ``check`` runs on it, and only then is it renamed onto ``out_file``; when the
    export or ``check`` raises, the temporary file is removed and ``out_file`` (a
    previous export, say) is untouched.

    Args:
        model: an estimator with ``spec`` and ``export_forward`` (eval mode is set here).
        out_file (str): the .onnx path (folders are created).
        input_shape (tuple): example input shape with batch axis, e.g. (1, 3, 256, 256).
        opset (int): ONNX opset. Default 17.
        check (callable, optional): ``check(path, info)`` with the written temporary
            file and the returned dict (which it may add to); it raises to refuse the
            file.

    Returns:
        dict: ``task``, ``input``/``outputs`` names, ``input_layout``/``output_layouts``,
        ``input_shape``, ``output_shapes`` (of the example), ``channel_order``,
        ``num_keypoints``, ``dynamic_axes``, ``opset``.
    """
    spec = model_spec(model)
    module = ExportModule(model).eval()
    example = example_input(spec, input_shape).to(next(model.parameters()).device)
    with torch.no_grad():
        output_shapes = [list(out.shape) for out in _outputs(module(example))]
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    axes = {spec.input_name: spec.dynamic_axes,
            **{name: spec.dynamic_axes for name in spec.output_names}}
    info = dict(task=spec.task, input=spec.input_name, outputs=list(spec.output_names),
                input_layout=spec.input_layout, output_layouts=list(spec.output_layouts),
                input_shape=list(input_shape), output_shapes=output_shapes,
                channel_order=spec.channel_order, num_keypoints=spec.num_keypoints,
                dynamic_axes={k: {str(a): n for a, n in v.items()} for k, v in axes.items()},
                opset=opset)
    # A fresh name the exporter creates (so the file gets the usual permissions).
    tmp = osp.join(folder, f'.{osp.basename(out_file)}.{secrets.token_hex(6)}.tmp')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # TracerWarnings on shape checks, deprecation
            torch.onnx.export(module, (example, ), tmp, dynamo=False,
                              input_names=[spec.input_name],
                              output_names=list(spec.output_names),
                              dynamic_axes=axes, opset_version=opset)
        model.eval()  # the exporter restores the wrapper's mode, which may touch the model
        if check is not None:
            check(tmp, info)
        os.replace(tmp, out_file)
    finally:
        with suppress(FileNotFoundError):
            os.remove(tmp)
    return info


def onnxruntime_available() -> bool:
    """True when onnxruntime can be imported."""
    try:
        import onnxruntime  # noqa: F401  (optional dependency: is it installed?)
    except ImportError:
        return False
    return True


def compare_with_onnxruntime(model: nn.Module, onnx_file: str, input_shape: Sequence[int],
                             seed: int = 0) -> Dict[str, Any]:
    """Run the PyTorch model and the ONNX file on one random input; compare.

    Args:
        model: the exported hpekit estimator.
        onnx_file (str): the file ``export_onnx`` wrote.
        input_shape (tuple): the input to compare on (may differ from the export
            example along the dynamic axes).

    Returns:
        dict: ``max_abs_diff`` and ``max_abs_value`` (of the PyTorch outputs), the
        largest over all outputs and NaN when any output holds NaN; ``outputs``: the
        same two per output name (e.g. ``simcc_x``, ``simcc_y``); ``input_shape``,
        ``output_shapes``.

    Raises:
        ImportError: onnxruntime is not installed (pip install onnxruntime).
    """
    if not onnxruntime_available():
        raise ImportError('checking the ONNX file needs onnxruntime: '
                          'pip install onnxruntime (or skip with --no-verify)')
    import onnxruntime as ort  # optional dependency (extra "onnx")
    spec = model_spec(model)
    generator = torch.Generator().manual_seed(seed)
    example = example_input(spec, input_shape, generator)
    with torch.no_grad():
        expected = [out.cpu().numpy() for out in _outputs(
            ExportModule(model).eval()(example.to(next(model.parameters()).device)))]
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    actual = session.run(list(spec.output_names), {spec.input_name: example.numpy()})
    if len(actual) != len(expected):
        raise AssertionError(f'{onnx_file}: {len(actual)} outputs, PyTorch gives '
                             f'{len(expected)}')
    outputs = {}
    for name, got, want in zip(spec.output_names, actual, expected):
        if got.shape != want.shape:
            raise AssertionError(f'{onnx_file}: output {name} has shape {got.shape}, '
                                 f'PyTorch gives {want.shape}')
        outputs[name] = dict(max_abs_diff=_nan_max(np.abs(got - want)),
                             max_abs_value=_nan_max(np.abs(want)))
    return dict(max_abs_diff=_nan_max([o['max_abs_diff'] for o in outputs.values()]),
                max_abs_value=_nan_max([o['max_abs_value'] for o in outputs.values()]),
                outputs=outputs, input_shape=list(input_shape),
                output_shapes=[list(e.shape) for e in expected])


def _nan_max(values) -> float:
    """The largest of ``values``, NaN when any is NaN (Python's ``max`` keeps or drops a
    NaN depending on where it stands, which would let one output's NaN through)."""
    return float(np.max(np.asarray(values, dtype=np.float64)))
