"""Inference entry points: ``init_model``, ``inference_topdown``, ``inference_video3d``,
``PoseInferencer``, the person detectors it takes, and the ONNX Runtime backend
(``init_model(..., backend='onnxruntime')`` → ``OnnxRuntimeEstimator``)."""
from hpekit.apis.detectors import (DetectionsFileDetector, GivenBoxesDetector, WholeImageDetector,
                        build_detector)
from hpekit.apis.inference import (inference_topdown, inference_video3d, init_model,
                        merge_data_samples, stack_keypoints, window_starts)
from hpekit.apis.inferencer import PoseInferencer
from hpekit.apis.lifting import inference_lifting, inference_two_stage
from hpekit.apis.onnxruntime_backend import OnnxRuntimeEstimator

__all__ = ['init_model', 'inference_topdown', 'inference_video3d', 'merge_data_samples',
           'stack_keypoints', 'window_starts', 'PoseInferencer', 'WholeImageDetector',
           'GivenBoxesDetector', 'DetectionsFileDetector', 'build_detector', 'OnnxRuntimeEstimator']
__all__ += ['inference_lifting', 'inference_two_stage']
