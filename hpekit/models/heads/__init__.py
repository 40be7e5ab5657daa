"""Heads: turn features into pose predictions and compute their losses."""
from .regression_head import JointRegressionHead

__all__ = ['JointRegressionHead']
from .heatmap_heads import DeconvHeatmapHead, MultiStageHeatmapHead  # noqa: E402
__all__ += ['DeconvHeatmapHead', 'MultiStageHeatmapHead']
