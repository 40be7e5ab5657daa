"""Pure numpy geometry shared by datasets, models, metrics and inference (no torch, no
state): affine crops, person boxes, camera projection, heatmap maths."""
from hpekit.core.affine import GRIDS, affine_matrix, apply_affine, check_grid, invert_affine
from hpekit.core.boxes import (BOX_PADDING, PIXELS_PER_SCALE, boxes_to_center_size, check_bboxes,
                               crop_boxes, scale_to_size, size_to_scale, to_xyxy, xywh_to_xyxy)
from hpekit.core.camera import project
from hpekit.core.heatmap import gaussian_heatmaps
from hpekit.core.heatmap_decode import decode_heatmaps

__all__ = ['BOX_PADDING', 'GRIDS', 'PIXELS_PER_SCALE', 'affine_matrix', 'apply_affine',
           'boxes_to_center_size', 'check_bboxes', 'check_grid', 'crop_boxes', 'decode_heatmaps',
           'gaussian_heatmaps', 'invert_affine', 'project', 'scale_to_size',
           'size_to_scale', 'to_xyxy', 'xywh_to_xyxy']
