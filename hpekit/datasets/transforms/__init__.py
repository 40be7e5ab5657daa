"""Data transforms (registered in ``hpekit.registry.TRANSFORMS``)."""
from . import clip_transforms  # noqa: F401  (registers the parts)
from .clip_transforms import (ClipColorJitter, ClipRandomFlip, ClipRandomResizedCrop,
                              ClipResize, PackClipInputs, TemporalSubsample)

__all__ = ['ClipColorJitter', 'ClipRandomFlip', 'ClipRandomResizedCrop', 'ClipResize',
           'PackClipInputs', 'TemporalSubsample']
