"""Backbones: per-image feature extractors."""
# F401  (registers the hourglass residual-block designs
from hpekit.models.backbones import blocks  # noqa:
from hpekit.models.backbones import hourglass  # noqa: F401
from hpekit.models.backbones.hourglass import StackedHourglass
from hpekit.models.backbones.hrnet import HRNet
from hpekit.models.backbones.resnet import ResNet
# timm itself is imported when one is built
from hpekit.models.backbones.timm_backbone import TimmBackbone

__all__ = ['HRNet', 'ResNet', 'StackedHourglass', 'TimmBackbone']
from hpekit.models.backbones.tcn import TemporalConvNet  # noqa: E402

__all__ += ['TemporalConvNet']
from hpekit.models.backbones.cspnext import CSPNeXt  # noqa: E402

__all__ += ['CSPNeXt']
