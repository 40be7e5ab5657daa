"""A temporal neck (MODELS) for the video → 3D pipeline."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.registry import MODELS


@MODELS.register_module()
class TemporalSmoothingNeck(BaseModule):
    """A learnable per-channel temporal filter, residual: [B, T, D] → [B, T, D].

    Args:
        in_channels (int): feature size D.
        kernel_size (int): odd temporal window in frames.
    """

    sweep_example = dict(cfg=dict(in_channels=4), inputs=[(2, 5, 4)])

    def __init__(self, in_channels, kernel_size=3, init_cfg=None):
        super().__init__(init_cfg)
        if kernel_size % 2 == 0:
            raise ValueError(f'TemporalSmoothingNeck: kernel_size must be odd, got '
                             f'{kernel_size}')
        self.filter = nn.Conv1d(in_channels, in_channels, kernel_size,
                                padding=kernel_size // 2, groups=in_channels)
        self.out_channels = in_channels

    def forward(self, x):
        smoothed = self.filter(x.transpose(1, 2)).transpose(1, 2)
        return x + torch.relu(smoothed)
