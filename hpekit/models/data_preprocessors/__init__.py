"""Data preprocessors: batch, move to the device and normalise model inputs."""
from hpekit.models.data_preprocessors.clip_preprocessor import ClipDataPreprocessor

__all__ = ['ClipDataPreprocessor']
from hpekit.models.data_preprocessors.image_preprocessor import ImageDataPreprocessor  # noqa: E402

__all__ += ['ImageDataPreprocessor']
# E402
from hpekit.models.data_preprocessors.keypoint_preprocessor import KeypointDataPreprocessor  # noqa:

__all__ += ['KeypointDataPreprocessor']
