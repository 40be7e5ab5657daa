"""Pure numpy geometry shared by datasets, models and metrics (no torch, no state)."""
from hpekit.core.affine import affine_matrix, apply_affine, invert_affine

__all__ = ['affine_matrix', 'apply_affine', 'invert_affine']
from hpekit.core.heatmap_decode import decode_heatmaps  # noqa: E402
__all__ += ['decode_heatmaps']
from hpekit.core.heatmap import gaussian_heatmaps  # noqa: E402
__all__ += ['gaussian_heatmaps']
