"""Heads: turn features into pose predictions and compute their losses."""
from hpekit.models.heads.regression_head import JointRegressionHead

__all__ = ['JointRegressionHead']
from hpekit.models.heads.heatmap_heads import DeconvHeatmapHead, MultiStageHeatmapHead  # noqa: E402

__all__ += ['DeconvHeatmapHead', 'MultiStageHeatmapHead']
from hpekit.models.heads.heatmap_head import HeatmapHead  # noqa: E402

__all__ += ['HeatmapHead']
from hpekit.models.heads.rtmcc_head import RTMCCHead  # noqa: E402

__all__ += ['RTMCCHead']
from hpekit.models.heads.rtmdet_head import RTMDetSepBNHead  # noqa: E402

__all__ += ['RTMDetSepBNHead']
