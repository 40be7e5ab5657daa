"""Pure numpy metric functions (no torch)."""
from hpekit.evaluation.functional.mpjpe import mpjpe, mpjpe_per_joint, procrustes_align, scale_align
from hpekit.evaluation.functional.pckh import (load_mpii_gt, load_mpii_preds, mpii_head_sizes, pckh, pckh_counts,
                   save_mpii_gt, save_mpii_preds)

__all__ = ['mpjpe', 'mpjpe_per_joint', 'procrustes_align', 'scale_align']
__all__ += ['load_mpii_gt', 'load_mpii_preds', 'mpii_head_sizes', 'pckh', 'pckh_counts',
            'save_mpii_gt', 'save_mpii_preds']
