"""Area under the PCK curve of any 2D keypoint set, as MMPose's ``AUC``."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from hpekit.evaluation.functional.keypoint_2d import keypoint_auc
from hpekit.evaluation.metrics.pck_accuracy import read_keypoints_2d, stack_keypoints_2d
from hpekit.evaluation.metrics.per_keypoint import keypoint_names, log_per_keypoint_table
from hpekit.registry import METRICS


@METRICS.register_module()
class AUC(BaseMetric):
    """AUC of the PCK curve with a fixed normalising length (MMPose's ``AUC``).

    Each labelled keypoint's distance to the ground truth (px) is divided by
    ``norm_factor`` px; PCK(t) is the share of labelled keypoints whose normalised
    distance is below t; AUC averages PCK over the ``num_thrs`` thresholds
    0, 1/num_thrs, …, (num_thrs-1)/num_thrs (see
    :func:`hpekit.evaluation.functional.keypoint_auc`). With the defaults a keypoint
    1 px off counts at 19 of the 20 thresholds (1/30 < 0.05), one 15 px off at 9,
    one 30 px or more off at none; choose ``norm_factor`` for the size of your
    people in px (MMPose's hand configs use 30).

    Returns ``AUC`` (a fraction in [0, 1], MMPose's value: the mean over thresholds of
    the mean PCK over the labelled keypoints) and ``AUC/<keypoint name>`` per keypoint
    (NaN for a keypoint never labelled). ``compute_metrics`` logs the per-keypoint
    table and leaves the labelled counts in ``keypoint_counts`` ({'labelled': [K]}).

    Each data sample carries ``pred_keypoints`` [K, 2] (0-based image px),
    ``gt_keypoints`` [K, 2] and ``keypoints_visible`` [K] (as for ``PCKAccuracy``).

    Args:
        norm_factor (float): the normalising length, px (MMPose's 30).
        num_thrs (int): number of thresholds (MMPose's 20).
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): metric name prefix.
    """

    default_prefix: Optional[str] = None
    sweep_example = dict(cfg=dict(), samples='keypoints_2d')   # tests/end_to_end/test_sweep.py

    def __init__(self, norm_factor: float = 30.0, num_thrs: int = 20,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not np.isfinite(norm_factor) or norm_factor <= 0:
            raise ValueError(f'AUC: norm_factor must be a finite number > 0 (px), got '
                             f'{norm_factor!r}')
        if isinstance(num_thrs, bool) or int(num_thrs) != num_thrs or num_thrs < 1:
            raise ValueError(f'AUC: num_thrs must be an integer >= 1, got {num_thrs!r}')
        self.norm_factor, self.num_thrs = float(norm_factor), int(num_thrs)
        self.keypoint_counts: Dict[str, np.ndarray] = {}

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store pred / gt float64 [K, 2] px and visible [K] of each sample."""
        self.results.extend(read_keypoints_2d(s, type(self).__name__) for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """``AUC`` and ``AUC/<name>`` (fractions; see class doc)."""
        pred, gt, visible = stack_keypoints_2d(results, type(self).__name__)
        names = keypoint_names(self.dataset_meta, pred.shape[1], type(self).__name__)
        auc, per_keypoint = keypoint_auc(pred, gt, visible, self.norm_factor, self.num_thrs)
        metrics = {'AUC': auc}
        metrics.update({f'AUC/{n}': float(v) for n, v in zip(names, per_keypoint)})
        self.keypoint_counts = {'labelled': (np.asarray(visible) > 0).sum(axis=0)}
        log_per_keypoint_table(metrics, names, self.keypoint_counts,
                               f'AUC (norm_factor {self.norm_factor:g} px, '
                               f'{self.num_thrs} thresholds) over {len(results)} samples: '
                               f'{auc:.4f}; per keypoint (fractions)')
        return metrics
