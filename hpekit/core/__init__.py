"""Pure numpy geometry shared by datasets, models and metrics (no torch, no state)."""
from .affine import affine_matrix, apply_affine, invert_affine

__all__ = ['affine_matrix', 'apply_affine', 'invert_affine']
