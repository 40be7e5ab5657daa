"""Data transforms (registered in ``hpekit.registry.TRANSFORMS``)."""
from .clip_transforms import (ClipColorJitter, ClipRandomFlip, ClipRandomResizedCrop,
                              ClipResize, PackClipInputs, TemporalSubsample)
from .clip_loading import LoadClipCrops
from .common_transforms import GenerateTarget
from .person_crop import LoadPersonCrop
from .lifting_transforms import LiftingRandomFlip, PackLiftingInputs
from .topdown_transforms import (LoadImage, PackPoseInputs, RandomHalfBody,
                                 TopdownAffine)

__all__ = ['ClipColorJitter', 'ClipRandomFlip', 'ClipRandomResizedCrop', 'ClipResize',
           'PackClipInputs', 'TemporalSubsample', 'GenerateTarget', 'LoadImage',
           'PackPoseInputs', 'RandomHalfBody', 'TopdownAffine']
__all__ += ['LoadClipCrops']
__all__ += ['LiftingRandomFlip', 'PackLiftingInputs']
__all__ += ['LoadPersonCrop']
