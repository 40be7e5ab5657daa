"""Data preprocessors: batch, move to the device and normalise model inputs."""
from .clip_preprocessor import ClipDataPreprocessor

__all__ = ['ClipDataPreprocessor']
