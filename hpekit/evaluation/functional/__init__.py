"""Pure numpy metric functions (no torch)."""
from .mpjpe import mpjpe, mpjpe_per_joint, procrustes_align, scale_align

__all__ = ['mpjpe', 'mpjpe_per_joint', 'procrustes_align', 'scale_align']
