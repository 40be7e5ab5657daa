"""Estimators: the top-level models a config builds."""
from .video_regressor import VideoPoseRegressor

__all__ = ['VideoPoseRegressor']
