"""End-point error of any 2D keypoint set, as MMPose's ``EPE``."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from hpekit.evaluation.functional.keypoint_2d import keypoint_epe
from hpekit.evaluation.metrics.pck_accuracy import read_keypoints_2d, stack_keypoints_2d
from hpekit.evaluation.metrics.per_keypoint import keypoint_names, log_per_keypoint_table
from hpekit.registry import METRICS


@METRICS.register_module()
class EPE(BaseMetric):
    """Mean end-point error in image px (MMPose's ``EPE``).

    Returns ``EPE``: the mean Euclidean distance between predicted and ground-truth
    keypoints over every labelled (sample, keypoint) pair, pooled (MMPose's value; 0
    when nothing is labelled), and ``EPE/<keypoint name>``: the mean over the samples
    that label that keypoint (NaN for none); px of the original image (lower is
    better). ``compute_metrics`` logs the per-keypoint table and leaves the labelled
    counts in ``keypoint_counts`` ({'labelled': [K]}).

    Each data sample carries ``pred_keypoints`` [K, 2] (0-based image px),
    ``gt_keypoints`` [K, 2] and ``keypoints_visible`` [K] (as for ``PCKAccuracy``).

    Args:
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): metric name prefix.
    """

    default_prefix: Optional[str] = None
    sweep_example = dict(cfg=dict(), samples='keypoints_2d')   # tests/end_to_end/test_sweep.py

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.keypoint_counts: Dict[str, np.ndarray] = {}

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store pred / gt float64 [K, 2] px and visible [K] of each sample."""
        self.results.extend(read_keypoints_2d(s, type(self).__name__) for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """``EPE`` and ``EPE/<name>`` (px; see class doc)."""
        pred, gt, visible = stack_keypoints_2d(results, type(self).__name__)
        names = keypoint_names(self.dataset_meta, pred.shape[1], type(self).__name__)
        epe, per_keypoint, counts = keypoint_epe(pred, gt, visible)
        metrics = {'EPE': epe}
        metrics.update({f'EPE/{n}': float(v) for n, v in zip(names, per_keypoint)})
        self.keypoint_counts = {'labelled': counts}
        log_per_keypoint_table(metrics, names, self.keypoint_counts,
                               f'EPE over {len(results)} samples: {epe:.4f} px; per '
                               'keypoint (px)')
        return metrics
