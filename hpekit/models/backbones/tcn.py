"""Temporal convolutions over 2D keypoint sequences (VideoPose3D-style lifting)."""
import math

import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.registry import MODELS


def receptive_field(kernel_sizes):
    """Frames one output sees: 1 + Σ (k_i - 1) · d_i with dilations d_i = Π k_<i."""
    total, dilation = 1, 1
    for k in kernel_sizes:
        total += (k - 1) * dilation
        dilation *= k
    return total


class _ConvBNReLU(nn.Sequential):
    """Conv1d (no bias) + BatchNorm1d + ReLU + Dropout."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation, dropout, momentum):
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation, bias=False),
            nn.BatchNorm1d(out_channels, momentum=momentum), nn.ReLU(inplace=True),
            nn.Dropout(dropout))


class _TemporalBlock(nn.Module):
    """Dilated conv (valid: the sequence shrinks by (k - 1)·d) + 1×1 conv, with a
    residual connection from the centre frames of the input."""

    def __init__(self, channels, kernel_size, dilation, dropout, momentum, residual):
        super().__init__()
        self.dilated = _ConvBNReLU(channels, channels, kernel_size, dilation, dropout,
                                   momentum)
        self.pointwise = _ConvBNReLU(channels, channels, 1, 1, dropout, momentum)
        self.trim = (kernel_size - 1) * dilation // 2
        self.residual = residual

    def forward(self, x):
        out = self.pointwise(self.dilated(x))
        if self.residual:
            out = out + x[:, :, self.trim:x.shape[2] - self.trim]
        return out


@MODELS.register_module()
class TemporalConvNet(BaseModule):
    """Dilated 1-D temporal convolutions lifting 2D keypoint sequences (VideoPose3D).

    The K·2 keypoint coordinates of a frame are the channels. A first conv of
    ``kernel_sizes[0]`` frames expands them to ``channels``; block i then applies a
    conv of ``kernel_sizes[i]`` frames with dilation Π kernel_sizes[:i] and a 1×1 conv
    (each with BatchNorm, ReLU, dropout) and adds its input's centre frames. All
    convolutions are 'valid': T input frames give T - R + 1 outputs, with the
    receptive field R = ``receptive_field(kernel_sizes)``: 27 for (3, 3, 3), 81 for
    (3, 3, 3, 3), 243 for (3, 3, 3, 3, 3). Output t sees input frames t … t + R - 1
    (it predicts the centre one, t + (R - 1) / 2).

    Args:
        num_keypoints (int): K.
        in_dims (int): coordinates per keypoint (2).
        channels (int): width of every layer (VideoPose3D: 1024).
        kernel_sizes (sequence[int]): odd kernel sizes, one per stage.
        dropout (float): dropout in [0, 1) after every layer.
        momentum (float): BatchNorm momentum (VideoPose3D: 0.1).
        residual (bool): residual connections in the blocks.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward: [B, T, K, 2] (or [B, T, K·2]) → [B, T - R + 1, channels].
    """

    sweep_example = dict(cfg=dict(num_keypoints=3, channels=8, kernel_sizes=(3, 3)),
                         inputs=[(2, 11, 3, 2)])

    def __init__(self, num_keypoints=17, in_dims=2, channels=1024, kernel_sizes=(3, 3, 3),
                 dropout=0.25, momentum=0.1, residual=True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('num_keypoints', num_keypoints), ('in_dims', in_dims),
                            ('channels', channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        kernel_sizes = tuple(kernel_sizes)
        if not kernel_sizes or any(isinstance(k, bool) or not isinstance(k, int) or k < 1
                                   or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f'kernel_sizes must be odd positive ints, got {kernel_sizes!r}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout!r}')
        self.num_keypoints, self.in_dims = num_keypoints, in_dims
        self.kernel_sizes = kernel_sizes
        self.out_channels = channels
        self.receptive_field = receptive_field(kernel_sizes)
        self.expand = _ConvBNReLU(num_keypoints * in_dims, channels, kernel_sizes[0], 1,
                                  dropout, momentum)
        self.blocks = nn.ModuleList(
            _TemporalBlock(channels, k, math.prod(kernel_sizes[:i + 1]), dropout, momentum,
                           residual)
            for i, k in enumerate(kernel_sizes[1:]))

    def forward(self, x):
        """[B, T, K, 2] or [B, T, K·2] → [B, T - R + 1, channels]."""
        if x.dim() == 4:
            x = x.flatten(2)
        width = self.num_keypoints * self.in_dims
        if x.dim() != 3 or x.shape[-1] != width:
            raise ValueError(f'expected keypoints [B, T, {self.num_keypoints}, '
                             f'{self.in_dims}], got {tuple(x.shape)}')
        if x.shape[1] < self.receptive_field:
            raise ValueError(f'{x.shape[1]} frames are fewer than the receptive field '
                             f'{self.receptive_field}')
        out = self.expand(x.transpose(1, 2))
        for block in self.blocks:
            out = block(out)
        return out.transpose(1, 2)
