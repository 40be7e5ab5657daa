"""Data transforms (registered in ``hpekit.registry.TRANSFORMS``)."""
from . import clip_transforms  # noqa: F401  (registers the parts)
from .clip_transforms import (ClipColorJitter, ClipRandomFlip, ClipRandomResizedCrop,
                              ClipResize, PackClipInputs, TemporalSubsample)

__all__ = ['ClipColorJitter', 'ClipRandomFlip', 'ClipRandomResizedCrop', 'ClipResize',
           'PackClipInputs', 'TemporalSubsample']
from . import topdown_transforms  # noqa: F401,E402  (registers the parts)
from .topdown_transforms import (GenerateHeatmaps, LoadImage, PackPoseInputs,  # noqa: E402
                                 RandomHalfBody, TopdownAffine)
__all__ += ['GenerateHeatmaps', 'LoadImage', 'PackPoseInputs', 'RandomHalfBody',
            'TopdownAffine']
