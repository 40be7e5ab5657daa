"""Batching, device transfer and normalisation of video clips."""
import torch
from mmengine.model import BaseDataPreprocessor

from hpekit.registry import MODELS


def _stack_clips(inputs):
    """A list of [T, 3, H, W] clips (or a [B, T, 3, H, W] tensor) → [B, T, 3, H, W]."""
    if isinstance(inputs, torch.Tensor):
        if inputs.dim() != 5 or inputs.shape[2] != 3:
            raise ValueError(f'expected inputs of shape [B, T, 3, H, W], '
                             f'got {tuple(inputs.shape)}')
        return inputs
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError(f'expected inputs as a non-empty list of [T, 3, H, W] '
                         f'tensors or a [B, T, 3, H, W] tensor, got {type(inputs)}')
    first = tuple(inputs[0].shape)
    for clip in inputs:
        if clip.dim() != 4 or clip.shape[1] != 3:
            raise ValueError(f'expected every clip of shape [T, 3, H, W], '
                             f'got {tuple(clip.shape)}')
        if tuple(clip.shape) != first:
            raise ValueError(f'expected clips of one shape {first} to stack, '
                             f'got {tuple(clip.shape)}')
    return torch.stack(list(inputs))


@MODELS.register_module()
class ClipDataPreprocessor(BaseDataPreprocessor):
    """Stack clips, copy them to the model's device, then normalise there.

    The clips travel as uint8 (4× fewer bytes than float32) with non-blocking
    copies; the conversion to float32 and ``(x - mean) / std`` run on the device.

    Args:
        mean (Sequence[float]): per-channel (RGB) mean on the 0..255 scale.
        std (Sequence[float]): per-channel (RGB) standard deviation, 0..255 scale.
        non_blocking (bool): asynchronous host → device copies. Default True.

    Shapes:
        forward(data, training=False): ``data = {'inputs': list of B uint8
        [T, 3, H, W] tensors (or one [B, T, 3, H, W] tensor), 'data_samples': list
        or None}`` → ``{'inputs': float32 [B, T, 3, H, W] normalised on the device,
        'data_samples': the data samples moved to the device}``.
    """

    def __init__(self, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
                 non_blocking=True):
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'mean and std must have 3 values (RGB), '
                             f'got {len(mean)} and {len(std)}')
        if any(s <= 0 for s in std):
            raise ValueError(f'std values must be positive, got {tuple(std)}')
        shape = (1, 1, 3, 1, 1)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(shape),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(shape),
                             persistent=False)

    def forward(self, data, training=False):
        """See the class docstring."""
        clips = _stack_clips(data['inputs'])
        clips = clips.to(self.device, non_blocking=self._non_blocking)
        clips = (clips.float() - self.mean) / self.std
        samples = self.cast_data(data.get('data_samples'))
        return {'inputs': clips, 'data_samples': samples}
