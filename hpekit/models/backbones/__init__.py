"""Backbones: per-image feature extractors."""
from .resnet import ResNet
from . import blocks  # noqa: F401  (registers the hourglass residual-block designs)
from . import hourglass  # noqa: F401
from .hourglass import StackedHourglass

__all__ = ['ResNet', 'StackedHourglass']
