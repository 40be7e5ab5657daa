"""Heads: turn features into pose predictions and compute their losses."""
from .regression_head import JointRegressionHead

__all__ = ['JointRegressionHead']
