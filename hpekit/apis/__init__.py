"""Inference entry points: ``init_model``, ``inference_topdown``, ``inference_video3d``."""
from .inference import (inference_topdown, inference_video3d, init_model,  # noqa: F401
                        window_starts)

__all__ = ['init_model', 'inference_topdown', 'inference_video3d', 'window_starts']
