"""MPJPE, N-MPJPE and PA-MPJPE of 3D joint predictions as an mmengine metric."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hpekit.datasets.metainfo import keypoint_names
from hpekit.evaluation.functional import mpjpe, mpjpe_per_joint
from hpekit.registry import METRICS


def _to_numpy(value, name):
    """Tensor / array-like → float64 numpy array; KeyError-style message if missing."""
    if value is None:
        raise KeyError(f'data sample has no {name!r}; the MPJPE metric needs '
                       "'pred_joints_3d' and 'gt_joints_3d' [T, K, 3]")
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _field(sample, name):
    """``sample[name]`` for a dict, ``getattr(sample, name)`` for a data element."""
    if isinstance(sample, dict):
        return sample.get(name)
    return getattr(sample, name, None)


def _frames(sample, name):
    """A [T, K, 3] (or [K, 3]) field of ``sample`` as float64 rows [T, K, 3]."""
    arr = _to_numpy(_field(sample, name), name)
    if arr.ndim < 2 or arr.shape[-1] != 3:
        raise ValueError(f'{name} must have shape [T, K, 3], but got {list(arr.shape)}')
    return arr.reshape(-1, arr.shape[-2], 3)


@METRICS.register_module()
class MPJPE(BaseMetric):
    """Mean per-joint position error of 3D joints, with scale and Procrustes variants.

    Each data sample (a dict, as mmengine's Evaluator passes them, or a
    ``PoseDataSample``) carries ``pred_joints_3d`` and ``gt_joints_3d``, tensors
    [T, K, 3] in file units (metres); every frame is one pose. ``compute_metrics``
    returns, in file units × ``unit_scale`` (mm by default):

    - ``mpjpe``: mean Euclidean joint error pooled over all frames and joints;
    - ``n_mpjpe``: after the per-frame least-squares scale of the prediction;
    - ``pa_mpjpe``: after the per-frame Procrustes alignment (rotation, scale,
      translation; reflections excluded);
    - ``mpjpe_<joint_name>`` for each joint when ``per_joint`` (names from
      the dataset metainfo's keypoint names, else ``joint_0`` …), also logged as a table.

    Args:
        unit_scale (float): factor from file units to reported units (1000: m → mm).
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): prefix of the metric names, e.g. 'h36m' → 'h36m/mpjpe'.
        per_joint (bool): add one ``mpjpe_<joint>`` entry per joint.
    """

    sweep_example = dict(cfg=dict(), samples='joints_3d')

    # Keys keep their names ('mpjpe', 'PCKh'); '' (not None) says so to mmengine,
    # which would otherwise warn that no prefix is set.
    default_prefix: Optional[str] = ''

    def __init__(self, unit_scale: float = 1000.0, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, per_joint: bool = True) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.unit_scale = float(unit_scale)
        self.per_joint = per_joint

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store each sample as dict(pred, gt), float64 [T, K, 3] in file units."""
        for sample in data_samples:
            pred = _frames(sample, 'pred_joints_3d')
            gt = _frames(sample, 'gt_joints_3d')
            if pred.shape != gt.shape:
                raise ValueError(f'pred_joints_3d {list(pred.shape)} and gt_joints_3d '
                                 f'{list(gt.shape)} must have the same shape [T, K, 3]')
            self.results.append(dict(pred=pred, gt=gt))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Pool all gathered frames and return the metrics (reported units, floats)."""
        pred = np.concatenate([r['pred'] for r in results], axis=0)
        gt = np.concatenate([r['gt'] for r in results], axis=0)
        metrics = {
            'mpjpe': mpjpe(pred, gt) * self.unit_scale,
            'n_mpjpe': mpjpe(pred, gt, alignment='scale') * self.unit_scale,
            'pa_mpjpe': mpjpe(pred, gt, alignment='procrustes') * self.unit_scale,
        }
        if self.per_joint:
            names = self._joint_names(pred.shape[1])
            per_joint = mpjpe_per_joint(pred, gt) * self.unit_scale
            self._log_table(names, per_joint, metrics, len(pred))
            metrics.update({f'mpjpe_{n}': float(v) for n, v in zip(names, per_joint)})
        return metrics

    def _joint_names(self, num_joints: int) -> List[str]:
        """K joint names from the dataset metainfo, else ``joint_<i>``."""
        meta = self.dataset_meta or {}
        if 'keypoint_id2name' not in meta:
            return [f'joint_{i}' for i in range(num_joints)]
        names = keypoint_names(meta)
        if len(names) != num_joints:
            raise ValueError(f"the dataset metainfo has {len(names)} keypoints but "
                             f'the predictions have {num_joints} joints')
        return [str(n) for n in names]

    def _log_table(self, names, per_joint, metrics, num_frames) -> None:
        """Log a per-joint MPJPE table and the three summary values."""
        width = max(len(n) for n in names + ['PA-MPJPE'])
        rows = [f'{n:<{width}}  {v:10.2f}' for n, v in zip(names, per_joint)]
        rows += ['-' * (width + 12),
                 f'{"MPJPE":<{width}}  {metrics["mpjpe"]:10.2f}',
                 f'{"N-MPJPE":<{width}}  {metrics["n_mpjpe"]:10.2f}',
                 f'{"PA-MPJPE":<{width}}  {metrics["pa_mpjpe"]:10.2f}']
        header = f'{"joint":<{width}}  {"MPJPE":>10}'
        unit = 'mm' if self.unit_scale == 1000.0 else f'file units x {self.unit_scale:g}'
        MMLogger.get_current_instance().info(
            f'Per-joint MPJPE over {num_frames} frames ({unit}):\n'
            + '\n'.join([header] + rows))
