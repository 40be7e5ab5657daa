"""PCK (percentage of correct keypoints) of any keypoint set, as MMPose's PCKAccuracy."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hpekit.evaluation.functional.keypoint_2d import pck_per_keypoint
from hpekit.evaluation.metrics.per_keypoint import keypoint_names, log_per_keypoint_table
from hpekit.evaluation.metrics.sample_fields import as_array, as_scalar, sample_field
from hpekit.registry import METRICS

__all__ = ['PCKAccuracy', 'pck_per_keypoint', 'read_keypoints_2d', 'stack_keypoints_2d']

# norm_item → its metric key (MMPose's names)
NORM_KEYS = dict(bbox='PCK', head='PCKh')


def read_keypoints_2d(sample: Any, metric: str) -> Dict[str, np.ndarray]:
    """A data sample's 2D keypoints: dict(pred, gt float64 [K, 2] px, visible [K]).

    Reads ``pred_keypoints`` [K, 2] (0-based image px), ``gt_keypoints`` [K, 2] and
    ``keypoints_visible`` [K] (as ``PackPoseInputs`` packs them); shared by
    ``PCKAccuracy``, ``AUC`` and ``EPE``. KeyError / ValueError name ``metric`` and the
    field.
    """
    pred = sample_field(sample, 'pred_keypoints', metric=metric,
                        needed_for="the model's predictions")
    num = int(np.prod(np.shape(pred))) // 2
    gt = sample_field(sample, 'gt_keypoints', metric=metric, needed_for='the ground truth')
    visible = sample_field(sample, 'keypoints_visible', metric=metric,
                           needed_for='which keypoints are labelled')
    return dict(pred=as_array(pred, (num, 2), 'pred_keypoints', metric),
                gt=as_array(gt, (num, 2), 'gt_keypoints', metric),
                visible=as_array(visible, (num, ), 'keypoints_visible', metric))


def stack_keypoints_2d(results: List[dict], metric: str
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, gt float64 [N, K, 2], visible [N, K]) of the gathered results."""
    if not results:
        raise ValueError(f'{metric} received no predictions to evaluate')
    nums = {len(r['pred']) for r in results}
    if len(nums) > 1:
        raise ValueError(f'{metric}: the samples have different numbers of keypoints '
                         f'{sorted(nums)}')
    return (np.stack([r['pred'] for r in results]), np.stack([r['gt'] for r in results]),
            np.stack([r['visible'] for r in results]))


@METRICS.register_module()
class PCKAccuracy(BaseMetric):
    """PCK@thr of 2D keypoints for any keypoint set (MMPose's ``PCKAccuracy``).

    A keypoint is correct when its distance to the ground truth, divided by the
    sample's normalising length, is below ``thr``:

    - ``norm_item='bbox'``: the longer side of the person box (metainfo ``bbox``
      [x1, y1, x2, y2] px, as ``CocoDataset`` gives it), key ``PCK``;
    - ``norm_item='head'``: the head size (metainfo ``head_size`` px, which the
      dataset must provide), key ``PCKh``.

    The value of each key is MMPose's: the mean over keypoints of the per-keypoint
    accuracy (the share of samples, among those where the keypoint is labelled and
    the normalising length is positive, whose keypoint is correct), keypoints never
    labelled left out; a fraction in [0, 1]. Per keypoint: ``<key>/<name>`` with the
    metainfo's keypoint names (``PCK/left_wrist``; NaN for a keypoint never labelled
    in the evaluated samples). ``compute_metrics`` logs the per-keypoint table
    (``hpekit.evaluation.metrics.per_keypoint``) and leaves the numbers of labelled
    instances per keypoint in ``keypoint_counts`` ({'labelled': int [K]}).

    Each data sample carries ``pred_keypoints`` [K, 2] (0-based image px),
    ``gt_keypoints`` [K, 2] (image px) and ``keypoints_visible`` [K] (as
    ``PackPoseInputs`` packs them; ``TopdownAffine`` has zeroed joints outside the
    crop), and the metainfo named above.

    Args:
        thr (float): threshold, a fraction of the normalising length (MMPose's 0.05).
        norm_item (str | sequence[str]): 'bbox', 'head' or both.
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): metric name prefix.
    """

    default_prefix: Optional[str] = None
    sweep_example = dict(cfg=dict(thr=0.1), samples='keypoints_2d')   # tests/end_to_end/test_sweep.py

    def __init__(self, thr: float = 0.05, norm_item: Union[str, Sequence[str]] = 'bbox',
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not np.isfinite(thr) or thr <= 0:
            raise ValueError(f'thr must be a finite number > 0, but got {thr!r}')
        items = [norm_item] if isinstance(norm_item, str) else list(norm_item)
        unknown = [i for i in items if i not in NORM_KEYS]
        if not items or unknown:
            raise ValueError(f'norm_item must be among {sorted(NORM_KEYS)}, '
                             f'got {norm_item!r}')
        self.thr, self.norm_items = float(thr), list(dict.fromkeys(items))
        self.keypoint_counts: Dict[str, np.ndarray] = {}

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store pred / gt float64 [K, 2], visible [K] and the normalising lengths."""
        name = type(self).__name__
        for sample in data_samples:
            result = read_keypoints_2d(sample, name)
            result['norm'] = {item: self._norm_length(sample, item, name)
                              for item in self.norm_items}
            self.results.append(result)

    @staticmethod
    def _norm_length(sample: Any, item: str, name: str) -> float:
        """The sample's normalising length (px) for ``item`` (see class doc)."""
        if item == 'bbox':
            box = as_array(sample_field(sample, 'bbox', metric=name,
                                        needed_for="norm_item='bbox'"), (4, ), 'bbox', name)
            return float(np.max(box[2:] - box[:2]))
        return as_scalar(sample_field(sample, 'head_size', metric=name,
                                      needed_for=f"norm_item={item!r}: the dataset must "
                                      "give each sample's head size in px"),
                         'head_size', name)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """PCK per norm item and per keypoint (fractions; see class doc); logs the
        per-keypoint table and sets ``keypoint_counts`` ({'labelled': [K]})."""
        pred, gt, visible = stack_keypoints_2d(results, type(self).__name__)
        names = keypoint_names(self.dataset_meta, pred.shape[1], type(self).__name__)
        metrics, counts_by_key = {}, {}
        for item in self.norm_items:
            key = NORM_KEYS[item]
            acc, counts = pck_per_keypoint(pred, gt, visible,
                                           np.array([r['norm'][item] for r in results]),
                                           self.thr)
            seen = acc[~np.isnan(acc)]
            metrics[key] = float(seen.mean()) if seen.size else 0.0
            metrics.update({f'{key}/{n}': float(a) for n, a in zip(names, acc)})
            counts_by_key[key] = counts
        self.keypoint_counts = _count_columns(counts_by_key)
        summary = ', '.join(f'{NORM_KEYS[i]} {metrics[NORM_KEYS[i]]:.4f}'
                            for i in self.norm_items)
        log_per_keypoint_table(metrics, names, self.keypoint_counts,
                               f'PCK@{self.thr:g} over {len(results)} samples: {summary}; '
                               'per keypoint (fractions)')
        return metrics


def _count_columns(counts_by_key: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """{'labelled': [K]} when every key counts the same instances, else one
    'labelled (<key>)' column per key (a sample's box and head size differ in which
    are positive)."""
    columns = list(counts_by_key.values())
    if all(np.array_equal(columns[0], c) for c in columns):
        return {'labelled': columns[0]}
    return {f'labelled ({key})': c for key, c in counts_by_key.items()}
