"""PCK (percentage of correct keypoints) of any keypoint set, as MMPose's PCKAccuracy."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hpekit.evaluation.metrics.sample_fields import as_array, as_scalar, sample_field
from hpekit.registry import METRICS

# norm_item → its metric key (MMPose's names)
NORM_KEYS = dict(bbox='PCK', head='PCKh')


def pck_per_keypoint(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
                     norm: np.ndarray, thr: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per-keypoint PCK: (accuracy float64 [K] (NaN where no instance counts), counts [K]).

    Args:
        pred, gt: float [N, K, 2] px.
        visible: [N, K], nonzero where the ground truth counts.
        norm: float [N] normalising length px per sample; samples with norm <= 0 do
            not count.
        thr: a keypoint is correct when ``‖pred - gt‖ / norm < thr`` (MMPose's strict
            inequality).
    """
    valid = (np.asarray(visible) > 0) & (np.asarray(norm)[:, None] > 0)
    with np.errstate(divide='ignore', invalid='ignore'):
        dist = np.linalg.norm(np.asarray(pred) - np.asarray(gt), axis=-1) / \
            np.asarray(norm, np.float64)[:, None]
    correct = (valid & (dist < thr)).sum(axis=0)
    counts = valid.sum(axis=0)
    with np.errstate(divide='ignore', invalid='ignore'):
        acc = np.where(counts > 0, correct / np.maximum(counts, 1), np.nan)
    return acc, counts


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
    in the evaluated samples).

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

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store pred / gt float64 [K, 2], visible [K] and the normalising lengths."""
        name = type(self).__name__
        for sample in data_samples:
            pred = sample_field(sample, 'pred_keypoints', metric=name,
                                needed_for="the model's predictions")
            num = int(np.prod(np.shape(pred))) // 2
            result = dict(
                pred=as_array(pred, (num, 2), 'pred_keypoints', name),
                gt=as_array(sample_field(sample, 'gt_keypoints', metric=name,
                                         needed_for='the ground truth'),
                            (num, 2), 'gt_keypoints', name),
                visible=as_array(sample_field(sample, 'keypoints_visible', metric=name,
                                              needed_for='which keypoints are labelled'),
                                 (num, ), 'keypoints_visible', name))
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
        """PCK per norm item and per keypoint (fractions; see class doc)."""
        if not results:
            raise ValueError('PCKAccuracy received no predictions to evaluate')
        pred = np.stack([r['pred'] for r in results])
        gt = np.stack([r['gt'] for r in results])
        visible = np.stack([r['visible'] for r in results])
        names = self._names(pred.shape[1])
        metrics = {}
        for item in self.norm_items:
            key = NORM_KEYS[item]
            acc, _ = pck_per_keypoint(pred, gt, visible,
                                      np.array([r['norm'][item] for r in results]),
                                      self.thr)
            seen = acc[~np.isnan(acc)]
            metrics[key] = float(seen.mean()) if seen.size else 0.0
            metrics.update({f'{key}/{n}': float(a) for n, a in zip(names, acc)})
        self._log(metrics, len(results))
        return metrics

    def _names(self, num: int) -> List[str]:
        """Keypoint names of the dataset metainfo, else '0' … 'K-1'."""
        meta = self.dataset_meta or {}
        id2name = meta.get('keypoint_id2name') or {}
        if meta.get('num_keypoints') not in (None, num):
            raise ValueError(f"PCKAccuracy: predictions have {num} keypoints, the dataset "
                             f"metainfo {meta['num_keypoints']}")
        return [str(id2name.get(i, i)) for i in range(num)]

    def _log(self, metrics: Dict[str, float], count: int) -> None:
        summary = ', '.join(f'{NORM_KEYS[i]} {metrics[NORM_KEYS[i]]:.4f}'
                            for i in self.norm_items)
        MMLogger.get_current_instance().info(
            f'PCK@{self.thr:g} over {count} samples: {summary}')
