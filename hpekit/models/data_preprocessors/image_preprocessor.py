"""Batching, device transfer and normalisation of uint8 images (and, via the shared
base ``NormalizingPreprocessor``, of video clips: see ``clip_preprocessor.py``)."""
from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from hpekit.registry import MODELS


def stack_batch(inputs, item_layout, item_name='image'):
    """A list of items (or an already stacked tensor) → one tensor [B, *item].

    Args:
        inputs: list/tuple of tensors of one shape, or a tensor with a batch axis.
        item_layout (str): the expected item layout with the channel axis third
            from the end, e.g. ``'[3, H, W]'`` or ``'[T, 3, H, W]'``; it fixes the
            number of axes and is used in the error messages.
        item_name (str): what one item is called in the error messages.

    Returns:
        tensor [B, *item] (the inputs' dtype and device).
    """
    item_dims = item_layout.count(',') + 1
    batch_layout = '[B, ' + item_layout[1:]
    if isinstance(inputs, torch.Tensor):
        if inputs.dim() != item_dims + 1 or inputs.shape[-3] != 3:
            raise ValueError(f'expected inputs of shape {batch_layout}, '
                             f'got {tuple(inputs.shape)}')
        return inputs
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError(f'expected inputs as a non-empty list of {item_layout} tensors '
                         f'or a {batch_layout} tensor, got {type(inputs)}')
    first = tuple(inputs[0].shape)
    for item in inputs:
        if item.dim() != item_dims or item.shape[-3] != 3:
            raise ValueError(f'expected every {item_name} of shape {item_layout}, '
                             f'got {tuple(item.shape)}')
        if tuple(item.shape) != first:
            raise ValueError(f'expected {item_name}s of one shape {first} to stack, '
                             f'got {tuple(item.shape)}')
    return torch.stack(list(inputs))


@torch.compiler.disable
def move_samples(preprocessor: BaseDataPreprocessor, samples: Optional[list]) -> Optional[list]:
    """Data samples (a list, or None) → ``preprocessor``'s device (``cast_data``).

    Kept out of ``torch.compile``'s tracing (mmengine's ``compile=True`` compiles the
    whole ``train_step``): the samples' metainfo holds numpy arrays, which dynamo
    traces as fake tensors that mmengine's deep copy of the metainfo cannot copy.
    """
    return preprocessor.cast_data(samples)


class NormalizingPreprocessor(BaseDataPreprocessor):
    """Stack RGB inputs, copy them to the model's device, then normalise there.

    The inputs travel in their own dtype (uint8: 4× fewer bytes than float32) with
    non-blocking copies; the conversion to float32 and ``(x - mean) / std`` run on
    the device. Subclasses set ``item_layout`` (channel axis third from the end)
    and ``item_name``.

    Args:
        mean (Sequence[float]): per-channel (RGB) mean on the 0..255 scale.
        std (Sequence[float]): per-channel (RGB) standard deviation, 0..255 scale.
        non_blocking (bool): asynchronous host → device copies. Default True.
    """

    item_layout = '[3, H, W]'
    item_name = 'image'

    def __init__(self, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
                 non_blocking=True):
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'mean and std must have 3 values (RGB), '
                             f'got {len(mean)} and {len(std)}')
        if any(s <= 0 for s in std):
            raise ValueError(f'std values must be positive, got {tuple(std)}')
        shape = (3, 1, 1)  # broadcasts over [..., 3, H, W]
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(shape),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(shape),
                             persistent=False)

    def forward(self, data, training=False):
        """``{'inputs', 'data_samples'}`` → the same keys, inputs normalised float32."""
        inputs = stack_batch(data['inputs'], self.item_layout, self.item_name)
        inputs = inputs.to(self.device, non_blocking=self._non_blocking)
        inputs = (inputs.float() - self.mean) / self.std
        samples = move_samples(self, data.get('data_samples'))
        return {'inputs': inputs, 'data_samples': samples}


@MODELS.register_module()
class ImageDataPreprocessor(NormalizingPreprocessor):
    """Stack images, copy them to the model's device as uint8, normalise there.

    Args:
        mean (Sequence[float]): per-channel (RGB) mean, 0..255 scale (ImageNet's).
        std (Sequence[float]): per-channel (RGB) std, 0..255 scale (ImageNet's).
        non_blocking (bool): asynchronous host → device copies. Default True.

    Shapes:
        forward(data, training=False): ``data = {'inputs': list of B uint8 [3, H, W]
        tensors (or one [B, 3, H, W] tensor), 'data_samples': list or None}`` →
        ``{'inputs': float32 [B, 3, H, W] normalised on the device, 'data_samples':
        the data samples moved to the device}``.
    """

    sweep_example = dict(cfg=dict(), data=[(3, 8, 6), (3, 8, 6)])

    item_layout = '[3, H, W]'
    item_name = 'image'
