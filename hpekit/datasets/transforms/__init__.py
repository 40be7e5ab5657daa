"""Data transforms (registered in ``hpekit.registry.TRANSFORMS``)."""
from hpekit.datasets.transforms.clip_loading import LoadClipCrops
from hpekit.datasets.transforms.clip_transforms import (ClipColorJitter, ClipRandomFlip,
                                                        ClipRandomResizedCrop, ClipResize,
                                                        PackClipInputs, TemporalSubsample)
from hpekit.datasets.transforms.common_transforms import GenerateTarget
from hpekit.datasets.transforms.keypoint_converter import KeypointConverter
from hpekit.datasets.transforms.lifting_transforms import LiftingRandomFlip, PackLiftingInputs
from hpekit.datasets.transforms.person_crop import LoadPersonCrop
from hpekit.datasets.transforms.photometric import Albumentation, YOLOXHSVRandomAug
from hpekit.datasets.transforms.topdown_transforms import (LoadImage, PackPoseInputs,
                                                           RandomFlip, RandomHalfBody,
                                                           TopdownAffine)

__all__ = ['ClipColorJitter', 'ClipRandomFlip', 'ClipRandomResizedCrop', 'ClipResize',
           'PackClipInputs', 'TemporalSubsample', 'GenerateTarget', 'LoadImage',
           'PackPoseInputs', 'RandomFlip', 'RandomHalfBody', 'TopdownAffine']
__all__ += ['LoadClipCrops']
__all__ += ['LiftingRandomFlip', 'PackLiftingInputs']
__all__ += ['LoadPersonCrop']
__all__ += ['Albumentation', 'YOLOXHSVRandomAug']
__all__ += ['KeypointConverter']
