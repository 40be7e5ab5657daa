"""Estimators: the top-level models a config builds, and their contract."""
from .base import (INPUT_KEYPOINTS, INPUT_PIXELS, TASK_LIFTING, TASK_TOPDOWN,
                   TASK_VIDEO3D, BasePoseEstimator, EstimatorSpec, build_part)
from .topdown import TopDownPoseEstimator
from .pose_lifter import PoseLifter
from .video_regressor import VideoPoseRegressor

__all__ = ['BasePoseEstimator', 'EstimatorSpec', 'TASK_TOPDOWN', 'TASK_VIDEO3D',
           'TopDownPoseEstimator', 'VideoPoseRegressor', 'build_part']
__all__ += ['INPUT_KEYPOINTS', 'INPUT_PIXELS', 'TASK_LIFTING', 'PoseLifter']
