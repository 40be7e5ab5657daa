"""Data preprocessors: batch, move to the device and normalise model inputs."""
from .clip_preprocessor import ClipDataPreprocessor

__all__ = ['ClipDataPreprocessor']
from .image_preprocessor import ImageDataPreprocessor  # noqa: E402
__all__ += ['ImageDataPreprocessor']
from .keypoint_preprocessor import KeypointDataPreprocessor  # noqa: E402
__all__ += ['KeypointDataPreprocessor']
