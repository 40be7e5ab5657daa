"""Backbones: per-image feature extractors."""
from hpekit.models.backbones.resnet import ResNet
from hpekit.models.backbones import blocks  # noqa: F401  (registers the hourglass residual-block designs)
from hpekit.models.backbones import hourglass  # noqa: F401
from hpekit.models.backbones.hourglass import StackedHourglass
from hpekit.models.backbones.timm_backbone import TimmBackbone  # timm itself is imported when one is built

__all__ = ['ResNet', 'StackedHourglass', 'TimmBackbone']
from hpekit.models.backbones.tcn import TemporalConvNet  # noqa: E402
__all__ += ['TemporalConvNet']
