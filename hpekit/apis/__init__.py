"""Inference entry points: ``init_model``, ``inference_topdown``, ``inference_video3d``."""
from .inference import (inference_topdown, inference_video3d, init_model,
                        merge_data_samples, window_starts)

__all__ = ['init_model', 'inference_topdown', 'inference_video3d', 'merge_data_samples',
           'window_starts']
