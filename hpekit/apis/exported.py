"""What the inference backends that run the exported ONNX graph share.

``ExportedEstimator`` stands in for the PyTorch estimator wherever inference runs
(``inference_topdown``, ``inference_video3d``, ``PoseInferencer``, ``tools/demo.py``,
``tools/benchmark.py inference``): ``test_step``/``val_step`` stack the batch, run the
graph (on the crops and their mirrors when the config's flip test is on) and hand the
outputs to the PyTorch estimator's ``predict_exported``, i.e. to the same flip-back and
decoding code the PyTorch path uses. A backend subclasses it and provides only its
session (in ``__init__``) and ``run_arrays``: ONNX Runtime
(``hpekit.apis.onnxruntime_backend``) and OpenVINO (``hpekit.apis.openvino_backend``).
"""
from typing import List

import numpy as np
import torch

from hpekit.models.data_preprocessors.image_preprocessor import stack_batch
from hpekit.models.estimators import BasePoseEstimator
from hpekit.models.model_inputs import model_spec
from hpekit.structures import PoseDataSample

#: ``init_model(..., backend=...)``: eager PyTorch, or the exported graph run by
#: ONNX Runtime or OpenVINO.
BACKENDS = ('pytorch', 'onnxruntime', 'openvino')


def check_exportable(model: BasePoseEstimator, backend: str) -> None:
    """Raise ``NotImplementedError`` unless ``model`` decodes the outputs of its
    exported graph (has its own ``predict_exported``), naming ``backend``."""
    if getattr(type(model), 'predict_exported', None) in (
            None, BasePoseEstimator.predict_exported):
        raise NotImplementedError(f'{type(model).__name__} has no predict_exported: it '
                                  f'cannot run with backend={backend!r}')


class ExportedEstimator:
    """An exported hpekit estimator run by a backend other than PyTorch.

    Args:
        model: the PyTorch estimator (from ``init_model``): its spec, config,
            metainfo, test-time options and decoding are used; its weights are in
            the graph.
        onnx_file (str): the graph ``export_onnx`` wrote for it.

    Attributes: ``spec``, ``cfg``, ``dataset_meta``, ``test_cfg``, ``torch_model``,
    ``onnx_file``, ``output_names`` (the graph's outputs, in ``spec.output_names``
    order), ``backend`` (the subclass's name).
    """

    backend = ''

    def __init__(self, model: BasePoseEstimator, onnx_file: str) -> None:
        self.torch_model = model.eval()
        self.onnx_file = onnx_file
        self.spec = model_spec(model)
        self.output_names = list(self.spec.output_names)

    def run_arrays(self, array: np.ndarray) -> List[np.ndarray]:
        """The graph on one input: a C-contiguous float32 array in the spec's input
        layout (any batch size) → its outputs as numpy arrays, in ``output_names``
        order. Each backend implements it."""
        raise NotImplementedError(f'{type(self).__name__} must define run_arrays')

    # What the inference code reads from a model.
    @property
    def cfg(self):
        return getattr(self.torch_model, 'cfg', None)

    @property
    def dataset_meta(self):
        return getattr(self.torch_model, 'dataset_meta', None)

    @property
    def test_cfg(self):
        return getattr(self.torch_model, 'test_cfg', {})

    @property
    def data_preprocessor(self):
        return self.torch_model.data_preprocessor

    def eval(self):
        return self

    def run(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """float32 tensor (the spec's input layout) → list of output tensors, as
        ``predict_exported`` calls it."""
        array = np.ascontiguousarray(inputs.detach().cpu().numpy(), dtype=np.float32)
        return [torch.from_numpy(out) for out in self.run_arrays(array)]

    def _inputs(self, data):
        pre = self.torch_model.data_preprocessor
        layout = getattr(pre, 'item_layout', None)
        inputs = data['inputs']
        if layout is not None:
            inputs = stack_batch(inputs, layout, getattr(pre, 'item_name', 'item'))
        elif not isinstance(inputs, torch.Tensor):
            inputs = torch.stack(list(inputs))
        return inputs.float()

    @torch.no_grad()
    def test_step(self, data: dict) -> List[PoseDataSample]:
        """A pseudo-collated batch ``{'inputs', 'data_samples'}`` → data samples with
        predictions, as ``model.test_step`` of the PyTorch estimator."""
        inputs = self._inputs(data)
        samples = data.get('data_samples')
        if samples is None:
            samples = [PoseDataSample() for _ in range(inputs.shape[0])]
        return self.torch_model.predict_exported(self.run, inputs, list(samples))

    val_step = test_step

    def __repr__(self):
        return f'{type(self).__name__}({self.onnx_file!r})'
