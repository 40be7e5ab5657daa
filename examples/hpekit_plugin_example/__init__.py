"""An example hpekit plugin: a backbone and a temporal neck living outside hpekit.

Loaded by a config with ``custom_imports = dict(imports=['hpekit_plugin_example'])``
(the folder holding this package must be importable, e.g. on PYTHONPATH).
Importing it registers the two classes into hpekit's MODELS registry, after which a
config names them like any built-in part. See docs/plugins.md.
"""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.registry import MODELS


@MODELS.register_module()
class TinyConvNet(BaseModule):
    """Four stride-2 conv + BN + ReLU stages: a backbone small enough for a laptop CPU.

    Args:
        channels (tuple[int]): output channels of the four stages.

    Input [N, 3, H, W] float; output a 1-tuple with the last stage's map
    [N, channels[-1], H/16, W/16] (hpekit backbones return tuples of feature maps).
    """

    def __init__(self, channels=(16, 32, 64, 128), init_cfg=None):
        super().__init__(init_cfg)
        layers, in_ch = [], 3
        for out_ch in channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
            in_ch = out_ch
        self.layers = nn.Sequential(*layers)
        self.out_channels = [channels[-1]]

    def forward(self, x):
        return (self.layers(x), )


@MODELS.register_module()
class TemporalSmoothingNeck(BaseModule):
    """A learnable per-channel temporal filter, residual: [B, T, D] -> [B, T, D].

    Args:
        in_channels (int): feature size D.
        kernel_size (int): odd temporal window in frames.
    """

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
