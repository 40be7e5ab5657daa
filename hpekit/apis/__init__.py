"""Inference entry points: ``init_model``, ``inference_topdown``, ``inference_video3d``,
``PoseInferencer`` and the person detectors it takes."""
from .detectors import (DetectionsFileDetector, GivenBoxesDetector, WholeImageDetector,
                        build_detector)
from .inference import (inference_topdown, inference_video3d, init_model,
                        merge_data_samples, window_starts)
from .inferencer import PoseInferencer

__all__ = ['init_model', 'inference_topdown', 'inference_video3d', 'merge_data_samples',
           'window_starts', 'PoseInferencer', 'WholeImageDetector', 'GivenBoxesDetector',
           'DetectionsFileDetector', 'build_detector']
