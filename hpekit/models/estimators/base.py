"""The estimator contract: what a top-level model takes and returns, in one place.

Every tool that handles a model without training it — inference, demo, ONNX export,
FLOPs, benchmarks — reads ``model.spec`` (an ``EstimatorSpec``) and calls
``model.export_forward``; none looks at the model's class. A plugin estimator
subclasses ``BasePoseEstimator``, builds its spec and works with all of them.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample

#: The exported graph's output: one tensor, or several in ``spec.output_names`` order.
TensorOutputs = Union[torch.Tensor, Tuple[torch.Tensor, ...]]

TASK_TOPDOWN = 'topdown2d'   # person crop [B, 3, H, W] → keypoints [K, 2] per crop
TASK_VIDEO3D = 'video3d'     # clip [B, T, 3, H, W] → joints [T, K, 3] metres per clip
TASK_LIFTING = 'lifting'     # 2D keypoints [B, T, K, 2] → joints [T', K, 3] metres

INPUT_PIXELS = 'pixels'      # the input is image pixels (RGB/BGR 0..255)
INPUT_KEYPOINTS = 'keypoints'  # the input is normalised 2D keypoints


@dataclass(frozen=True)
class EstimatorSpec:
    """What an estimator takes and returns.

    Attributes:
        task: 'topdown2d' (``predict`` sets ``pred_keypoints`` [K, 2] image px and
            ``keypoint_scores`` [K] on data samples with ``center``/``bbox_size``
            metainfo) or 'video3d' (``predict`` sets ``pred_joints_3d`` [T, K, 3]
            metres) or 'lifting' (2D keypoints → ``pred_joints_3d`` [T', K, 3]
            metres); a plugin may name its own task for its own tools.
        input_size: (W, H) px of one image or frame; None for keypoint inputs.
        num_keypoints: K.
        num_frames: T frames per clip (video tasks), else None.
        channel_order: 'rgb' (hpekit's pipelines) or 'bgr'.
        mean, std: per-channel normalisation on the 0..255 scale, applied in the model
            (its data preprocessor); the exported graph includes it.
        input_name, output_names: names of the exported graph's input and outputs.
        output_layouts: one text per output, e.g. '[B, K, h, w] heatmaps'.
        input_kind: 'pixels' (images or clips, the default) or 'keypoints': 2D
            keypoints [B, T, K, 2] normalised as ``input_description`` says (T =
            ``num_frames``, the receptive field); ``export_forward`` then takes them
            instead of pixels and mean/std do not apply.
        input_description: for keypoint inputs, how they are normalised.
    """

    task: str
    input_size: Tuple[int, int]
    num_keypoints: int
    num_frames: Optional[int] = None
    channel_order: str = 'rgb'
    mean: Tuple[float, ...] = (123.675, 116.28, 103.53)
    std: Tuple[float, ...] = (58.395, 57.12, 57.375)
    input_name: str = 'image'
    output_names: Tuple[str, ...] = ('output',)
    output_layouts: Tuple[str, ...] = ('',)
    input_kind: str = INPUT_PIXELS
    input_description: str = ''

    def input_shape(self, batch: int = 1) -> Tuple[int, ...]:
        """(B, 3, H, W), or (B, T, 3, H, W) for clips, or (B, T, K, 2) for keypoints."""
        if self.input_kind == INPUT_KEYPOINTS:
            return (batch, self.num_frames or 1, self.num_keypoints, 2)
        width, height = self.input_size
        frames = () if self.num_frames is None else (self.num_frames,)
        return (batch, *frames, 3, height, width)

    @property
    def input_layout(self) -> str:
        if self.input_kind == INPUT_KEYPOINTS:
            return f'[B, T, K, 2] 2D keypoints, {self.input_description or "normalised"}'
        frames = '' if self.num_frames is None else 'T, '
        return f'[B, {frames}3, H, W] {self.channel_order.upper()} 0..255'

    @property
    def dynamic_axes(self) -> dict:
        """Axes of the input that may change size in an exported graph."""
        return {0: 'batch'} if self.num_frames is None else {0: 'batch', 1: 'frames'}


def build_part(cfg: Union[None, dict, nn.Module]) -> Optional[nn.Module]:
    """Build a part config with hpekit's MODELS; pass built modules and None through."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


def preprocessor_stats(model: BaseModel) -> Tuple[Sequence[float], Sequence[float]]:
    """(mean, std) per channel of a model's normalising data preprocessor."""
    pre = model.data_preprocessor
    return (tuple(float(v) for v in pre.mean.flatten()),
            tuple(float(v) for v in pre.std.flatten()))


class BasePoseEstimator(BaseModel):
    """Base of hpekit's top-level models: mmengine's BaseModel plus the contract.

    Subclasses implement mmengine's ``forward(inputs, data_samples, mode)`` and:

    - ``spec`` → ``EstimatorSpec`` (what the model takes and returns);
    - ``forward_tensor(inputs)`` → the output tensor(s) the exported graph returns,
      from normalised inputs.

    ``export_forward`` (unnormalised pixels in, ``forward_tensor`` out) is what ONNX
    export, FLOPs and benchmarks run; an estimator whose spec takes keypoints
    (``input_kind='keypoints'``) overrides it to take them.
    """

    @property
    def spec(self) -> EstimatorSpec:
        raise NotImplementedError(f'{type(self).__name__} must define spec')

    def forward_tensor(self, inputs: torch.Tensor) -> TensorOutputs:
        raise NotImplementedError(f'{type(self).__name__} must define forward_tensor')

    def export_forward(self, pixels: torch.Tensor) -> TensorOutputs:
        """RGB pixels (float, 0..255; the spec's input shape) → ``forward_tensor``."""
        pre = self.data_preprocessor
        return self.forward_tensor((pixels - pre.mean) / pre.std)

    def predict_exported(self, run: Callable[[torch.Tensor], List[torch.Tensor]],
                         inputs: torch.Tensor, data_samples: List[PoseDataSample]
                         ) -> List[PoseDataSample]:
        """``predict`` through the exported graph (the ONNX Runtime backend).

        Args:
            run: callable taking a float32 tensor laid out as ``export_forward``'s
                input (any batch size) and returning the graph's outputs, a list of
                tensors in ``spec.output_names`` order.
            inputs: the batch as ``export_forward`` takes it (unnormalised).
            data_samples: the batch's data samples, as for ``predict``.

        Returns:
            The data samples with the predictions ``predict`` sets, from the same
            test-time options (flip test …) and the same decoding code.
        """
        raise NotImplementedError(f'{type(self).__name__} cannot predict from its exported '
                                  'graph (implement predict_exported to use the '
                                  'onnxruntime backend)')
