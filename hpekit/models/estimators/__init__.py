"""Estimators: the top-level models a config builds."""
from .video_regressor import VideoPoseRegressor

__all__ = ['VideoPoseRegressor']
from .topdown import TopDownPoseEstimator  # noqa: E402
__all__ += ['TopDownPoseEstimator']
