"""Estimators: the top-level models a config builds, and their contract."""
from hpekit.models.estimators.base import (INPUT_KEYPOINTS, INPUT_PIXELS, TASK_LIFTING,
                                           TASK_TOPDOWN, TASK_VIDEO3D, BasePoseEstimator,
                                           EstimatorSpec, build_part)
from hpekit.models.estimators.pose_lifter import PoseLifter
from hpekit.models.estimators.topdown import TopDownPoseEstimator
from hpekit.models.estimators.video_regressor import VideoPoseRegressor

__all__ = ['BasePoseEstimator', 'EstimatorSpec', 'TASK_TOPDOWN', 'TASK_VIDEO3D',
           'TopDownPoseEstimator', 'VideoPoseRegressor', 'build_part']
__all__ += ['INPUT_KEYPOINTS', 'INPUT_PIXELS', 'TASK_LIFTING', 'PoseLifter']
