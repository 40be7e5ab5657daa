"""Inference entry points: ``init_model`` (``model``), ``inference_topdown``
(``topdown``), ``inference_video3d`` (``video3d``), ``inference_lifting`` and
``inference_two_stage`` (``lifting``), ``PoseInferencer``, the person detectors it takes,
the ONNX Runtime and OpenVINO backends (``init_model(..., backend='onnxruntime')`` →
``OnnxRuntimeEstimator``, ``backend='openvino'`` → ``OpenVinoEstimator``), and
MMDetection's RTMDet (``init_detector``, ``inference_detector``,
``RTMDetPersonDetector``)."""
from hpekit.apis.detectors import (DetectionsFileDetector, GivenBoxesDetector,
                                   OnnxRuntimeDetector, RTMDetPersonDetector, WholeImageDetector,
                                   build_detector, export_detector_onnx, inference_detector,
                                   init_detector)
from hpekit.apis.inferencer import PoseInferencer
from hpekit.apis.lifting import inference_lifting, inference_two_stage
from hpekit.apis.model import init_model
from hpekit.apis.onnxruntime_backend import OnnxRuntimeEstimator
from hpekit.apis.openvino_backend import OpenVinoEstimator
from hpekit.apis.topdown import inference_topdown, merge_data_samples
from hpekit.apis.video3d import inference_video3d, stack_keypoints, window_starts

__all__ = ['init_model', 'inference_topdown', 'inference_video3d', 'merge_data_samples',
           'stack_keypoints', 'window_starts', 'PoseInferencer', 'WholeImageDetector',
           'GivenBoxesDetector', 'DetectionsFileDetector', 'build_detector',
           'OnnxRuntimeEstimator', 'OpenVinoEstimator', 'inference_lifting',
           'inference_two_stage',
           'init_detector', 'inference_detector', 'RTMDetPersonDetector',
           'OnnxRuntimeDetector', 'export_detector_onnx']
