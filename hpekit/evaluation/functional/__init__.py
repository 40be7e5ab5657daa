"""Pure numpy metric functions (no torch); MPII's .mat files and head sizes are read
and written by ``hpekit.datasets.mpii_mat`` and re-exported here."""
from hpekit.datasets.mpii_mat import (load_mpii_gt, load_mpii_preds, mpii_head_sizes, save_mpii_gt,
                                      save_mpii_preds)
from hpekit.evaluation.functional.keypoint_2d import (keypoint_auc, keypoint_epe,
                                                      keypoint_similarity, pck_per_keypoint)
from hpekit.evaluation.functional.oks_nms import oks_nms, oks_overlaps
from hpekit.evaluation.functional.mpjpe import (accel_error, accel_errors, mpjpe, mpjpe_per_joint,
                                                procrustes_align, scale_align)
from hpekit.evaluation.functional.pckh import pckh, pckh_counts
from hpekit.evaluation.functional.tracking import (clear_mot_counts, id_switches, idf1,
                                                   pairwise_box_iou, tracking_metrics)

__all__ = ['mpjpe', 'mpjpe_per_joint', 'procrustes_align', 'scale_align',
           'load_mpii_gt', 'load_mpii_preds', 'mpii_head_sizes', 'pckh', 'pckh_counts',
           'save_mpii_gt', 'save_mpii_preds', 'oks_nms', 'oks_overlaps',
           'keypoint_auc', 'keypoint_epe', 'keypoint_similarity', 'pck_per_keypoint']
__all__ += ['accel_error', 'accel_errors', 'clear_mot_counts', 'id_switches', 'idf1',
            'pairwise_box_iou', 'tracking_metrics']
