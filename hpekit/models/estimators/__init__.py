"""Estimators: the top-level models a config builds, and their contract."""
from .base import (TASK_TOPDOWN, TASK_VIDEO3D, BasePoseEstimator, EstimatorSpec,
                   build_part)
from .topdown import TopDownPoseEstimator
from .video_regressor import VideoPoseRegressor

__all__ = ['BasePoseEstimator', 'EstimatorSpec', 'TASK_TOPDOWN', 'TASK_VIDEO3D',
           'TopDownPoseEstimator', 'VideoPoseRegressor', 'build_part']
