"""``DetDataPreprocessor``: MMDetection's batching and normalisation of detector inputs."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from hpekit.registry import MODELS


@MODELS.register_module()
class DetDataPreprocessor(BaseDataPreprocessor):
    """Normalise images and pad them into one batch, as MMDetection 3.x's
    ``DetDataPreprocessor`` does at test time.

    Each image (uint8 [3, H, W], in the channel order the pipeline loaded it: BGR for
    MMDetection's configs) gets its channels reversed when ``bgr_to_rgb`` (or
    ``rgb_to_bgr``) is set, becomes float, is normalised ``(x − mean) / std`` and is
    padded at the bottom and right to the batch's largest size rounded up to
    ``pad_size_divisor``, with ``pad_value`` (after normalisation).

    Args:
        mean (Sequence[float], optional): per-channel mean, 0..255 scale, in the
            channel order after the conversion (RTMDet's configs: BGR
            (103.53, 116.28, 123.675)). None with ``std`` None: no normalisation.
        std (Sequence[float], optional): per-channel standard deviation.
        pad_size_divisor (int): padded sizes are multiples of this. Default 1.
        pad_value (float): value of the padded pixels. Default 0.
        bgr_to_rgb (bool): reverse the channels first. rgb_to_bgr (bool): the same.
        non_blocking (bool): asynchronous host → device copies.

    Shapes:
        forward(``{'inputs': list of uint8 [3, H_i, W_i] (or [B, 3, H, W]),
        'data_samples': list or None}``) → ``{'inputs': float32 [B, 3, H, W],
        'data_samples'}``, each sample's metainfo given ``batch_input_shape`` and
        ``pad_shape``.
    """

    sweep_example = dict(cfg=dict(mean=(103.53, 116.28, 123.675), std=(57.375, 57.12, 58.395)),
                         data=[(3, 8, 6), (3, 8, 6)])

    def __init__(self, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None, pad_size_divisor: int = 1,
                 pad_value: float = 0, bgr_to_rgb: bool = False, rgb_to_bgr: bool = False,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('bgr_to_rgb and rgb_to_bgr cannot both be set')
        if (mean is None) != (std is None):
            raise ValueError('mean and std must both be given or both be None')
        if mean is not None and (len(mean) != 3 or len(std) != 3 or min(std) <= 0):
            raise ValueError(f'mean and std must have 3 values (std positive), got '
                             f'{mean} and {std}')
        if pad_size_divisor < 1:
            raise ValueError(f'pad_size_divisor must be ≥ 1, got {pad_size_divisor}')
        self.normalize = mean is not None
        if self.normalize:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(3, 1, 1),
                                 persistent=False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(3, 1, 1),
                                 persistent=False)
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.channel_conversion = bgr_to_rgb or rgb_to_bgr

    def normalize_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels [..., 3, H, W] (0..255, the loaded channel order) → the network's
        input: channels converted, float32, normalised (no padding)."""
        if self.channel_conversion:
            pixels = pixels.flip(-3)
        pixels = pixels.float()
        if self.normalize:
            pixels = (pixels - self.mean) / self.std
        return pixels

    def forward(self, data: dict, training: bool = False) -> dict:
        """See the class doc."""
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4 or inputs.shape[1] != 3:
                raise ValueError(f'expected inputs [B, 3, H, W], got {tuple(inputs.shape)}')
            inputs = list(inputs)
        if not inputs or any(x.dim() != 3 or x.shape[0] != 3 for x in inputs):
            raise ValueError('expected inputs as a non-empty list of [3, H, W] images, got '
                             f'{[tuple(x.shape) for x in inputs]}')
        images = [self.normalize_pixels(x.to(self.device, non_blocking=self._non_blocking))
                  for x in inputs]
        div = self.pad_size_divisor
        height = -(-max(x.shape[1] for x in images) // div) * div
        width = -(-max(x.shape[2] for x in images) // div) * div
        batch = torch.stack([F.pad(x, (0, width - x.shape[2], 0, height - x.shape[1]),
                                   value=self.pad_value) for x in images])
        samples = data.get('data_samples')
        if samples is not None:
            samples = self.cast_data(samples)
            for sample, image in zip(samples, images):
                sample.set_metainfo(dict(
                    batch_input_shape=(height, width),
                    pad_shape=(-(-image.shape[1] // div) * div,
                               -(-image.shape[2] // div) * div)))
        return {'inputs': batch, 'data_samples': samples}
