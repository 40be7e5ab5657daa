"""Residual-block designs of the stacked hourglass, registered in ``hpekit.registry.BLOCKS``.

Each design is built as ``BLOCKS.build(dict(type=Name, in_channels=..., out_channels=...,
**options))`` and maps [N, in_channels, H, W] → [N, out_channels, H, W].
"""
from hpekit.models.backbones.blocks.base import DWSepConv, PreActResidual
from hpekit.models.backbones.blocks.bottleneck import (DWSepBottleneck, DWSepMidBottleneck,
                                                       PreActBottleneck)
from hpekit.models.backbones.blocks.two_conv import TwoConv3x3, TwoDWSepConv

__all__ = ['DWSepConv', 'PreActResidual', 'PreActBottleneck', 'DWSepBottleneck',
           'DWSepMidBottleneck', 'TwoDWSepConv', 'TwoConv3x3']
