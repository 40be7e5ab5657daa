"""Backbones: per-image feature extractors."""
from .resnet import ResNet
from . import blocks  # noqa: F401  (registers the hourglass residual-block designs)
from . import hourglass  # noqa: F401
from .hourglass import StackedHourglass
from .timm_backbone import TimmBackbone  # timm itself is imported when one is built

__all__ = ['ResNet', 'StackedHourglass', 'TimmBackbone']
from .tcn import TemporalConvNet  # noqa: E402
__all__ += ['TemporalConvNet']
