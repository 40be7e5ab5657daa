"""PCKh on MPII, computed as the official MPII evaluation does, as an mmengine metric."""
import re
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hpekit.datasets.metainfo import parse_pose_metainfo
from hpekit.datasets.mpii import MPII_METAINFO_FILE
from hpekit.evaluation.functional import load_mpii_gt, pckh_counts
from hpekit.registry import METRICS


def pckh_table(meta):
    """(parts [(name, joint ids)], ids left out of the Mean) from parsed metainfo.

    The metainfo's ``pckh_table`` (``parts``: {column: [keypoint names]},
    ``exclude_from_mean``: [names]) gives the official MPII table. Without it, each
    left/right pair (``flip_pairs``) becomes one column named after the shared part of
    the names, each unpaired keypoint a column of its own, and the Mean covers all.
    """
    name2id, id2name = meta['keypoint_name2id'], meta['keypoint_id2name']
    table = meta.get('pckh_table')
    if table:
        parts = [(part, tuple(name2id[n] for n in names))
                 for part, names in table['parts'].items()]
        return parts, tuple(name2id[n] for n in table.get('exclude_from_mean', ()))
    parts, paired = [], set()
    for i, j in meta['flip_pairs']:
        parts.append((_shared_name(id2name[i], id2name[j]), (i, j)))
        paired.update((i, j))
    singles = [(id2name[i], (i,)) for i in range(meta['num_keypoints']) if i not in paired]
    return singles + parts, ()


def _shared_name(a, b):
    """'Shoulder' from 'left_shoulder' and 'right_shoulder' (the common suffix of whole
    words: 'left_ankle' / 'right_ankle' share 't_ankle' letter by letter)."""
    common = []
    for x, y in zip(reversed(re.split(r'[_ ]', a)), reversed(re.split(r'[_ ]', b))):
        if x != y:
            break
        common.insert(0, x)
    return (' '.join(common).strip() or f'{a}/{b}').replace('_', ' ').title()


def _field(sample, name):
    """``sample[name]`` (also under a 'metainfo' dict) or ``getattr(sample, name)``."""
    if isinstance(sample, dict):
        if name in sample:
            return sample[name]
        return (sample.get('metainfo') or {}).get(name)
    return getattr(sample, name, None)


def _pred_keypoints(sample, num_joints):
    """``pred_keypoints`` of one sample as float64 [K, 2] (0-based image px)."""
    value = _field(sample, 'pred_keypoints')
    if value is None:
        raise KeyError("data sample has no 'pred_keypoints'; MPIIPCKh needs "
                       'pred_keypoints [K, 2] (0-based image px) and sample_idx')
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape not in ((num_joints, 2), (1, num_joints, 2)):
        raise ValueError(f'pred_keypoints must have shape [{num_joints}, 2] (the dataset '
                         f'metainfo\'s keypoints), but got {list(arr.shape)}')
    return arr.reshape(num_joints, 2)


def _sample_idx(sample):
    """metainfo ``sample_idx`` of one sample as an int (index into the .mat)."""
    value = _field(sample, 'sample_idx')
    if value is None:
        raise KeyError("data sample has no 'sample_idx' in its metainfo; MPIIPCKh "
                       'needs it to find the sample in the GT .mat')
    if hasattr(value, 'item'):
        value = value.item()
    if int(value) != value:
        raise ValueError(f'sample_idx must be an integer, but got {value!r}')
    return int(value)


def _part_values(per_joint, parts):
    """{part: mean of its joints' PCKh} (percent), skipping joints that are NaN."""
    values = {}
    for name, joints in parts:
        seen = [per_joint[j] for j in joints if not np.isnan(per_joint[j])]
        values[name] = float(np.mean(seen)) if seen else float('nan')
    return values


def _weighted_mean(correct, visible, excluded):
    """Mean PCKh (percent) over the joints not ``excluded``, weighted by visible counts."""
    keep = np.ones(len(visible), dtype=bool)
    keep[list(excluded)] = False
    total = visible[keep].sum()
    if total == 0:
        raise ValueError('no visible joint (other than those left out of the Mean) among '
                         'the evaluated samples; PCKh is undefined')
    return float(100.0 * correct[keep].sum() / total)


@METRICS.register_module()
class MPIIPCKh(BaseMetric):
    """PCKh of MPII predictions against ``mpii_gt_val.mat``, as the official evaluation.

    Each data sample (a dict, as mmengine's Evaluator passes them, or a
    ``PoseDataSample``) carries ``pred_keypoints`` [K, 2] (tensor or array, 0-based
    image px, the dataset's joint order) and metainfo ``sample_idx`` (the person's index in the
    .mat, which lists the people in the same order as the val JSON). Predictions get
    +1 (0-based → MATLAB 1-based) and are compared with ``pos_gt_src``; only visible
    (annotated) joints count; a joint is correct iff distance / head size ≤ ``thr``,
    head size = 0.6 × head-box diagonal.

    The table's columns come from the dataset metainfo (``pckh_table``, see
    :func:`pckh_table`; the runner sets ``dataset_meta``, a standalone metric reads
    ``configs/_base_/datasets/mpii.py``). For MPII ``compute_metrics`` returns, in
    percent: ``Head`` (head top), ``Shoulder``, ``Elbow``, ``Wrist``, ``Hip``,
    ``Knee``, ``Ankle`` (each the plain mean of its left and right joint's PCKh, as the
    official table; a joint without visible instances is skipped, NaN if both are),
    ``PCKh`` (the table's Mean at ``thr``: all joints except pelvis and thorax,
    weighted by their visible counts) and ``PCKh@0.1`` (that Mean at threshold 0.1). When the predictions cover only some of the .mat's
    samples, those samples alone are evaluated (and the count is logged).

    Args:
        gt_file (str): path of ``mpii_gt_val.mat`` (read at the first evaluation).
        thr (float): PCKh threshold as a fraction of the head size.
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): prefix of the metric names, e.g. 'mpii' → 'mpii/PCKh'.
    """

    sweep_example = dict(cfg=dict(), samples='mpii')

    default_prefix: Optional[str] = None

    def __init__(self, gt_file: str, thr: float = 0.5, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not np.isfinite(thr) or thr <= 0:
            raise ValueError(f'thr must be a finite number > 0, but got {thr!r}')
        self.gt_file = gt_file
        self.thr = float(thr)
        self._gt = None

    @property
    def _meta(self) -> dict:
        """The dataset metainfo (the runner's), else MPII's metainfo file."""
        if self.dataset_meta is None:
            self.dataset_meta = parse_pose_metainfo(dict(from_file=MPII_METAINFO_FILE))
        return self.dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store each sample as dict(sample_idx int, pred float64 [K, 2] 0-based px)."""
        num_joints = self._meta['num_keypoints']
        for sample in data_samples:
            self.results.append(dict(sample_idx=_sample_idx(sample),
                                     pred=_pred_keypoints(sample, num_joints)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Evaluate the gathered predictions against the .mat (percent, floats)."""
        gt = self._load_gt()
        ids, pred = self._ordered(results, len(gt['head_size']))
        pos, visible, head = (gt['pos_gt_src'][ids], gt['jnt_visible'][ids],
                              gt['head_size'][ids])
        self._check_head_sizes(ids, head, visible)
        correct, count = pckh_counts(pred + 1.0, pos, visible, head, self.thr)
        correct_01, _ = pckh_counts(pred + 1.0, pos, visible, head, 0.1)
        with np.errstate(invalid='ignore', divide='ignore'):
            per_joint = np.where(count > 0, 100.0 * correct / count, np.nan)
        parts, excluded = pckh_table(self._meta)
        metrics = _part_values(per_joint, parts)
        metrics['PCKh'] = _weighted_mean(correct, count, excluded)
        metrics['PCKh@0.1'] = _weighted_mean(correct_01, count, excluded)
        self._log_table(metrics, len(ids), len(gt['head_size']))
        return metrics

    def _load_gt(self) -> dict:
        """The GT of :func:`load_mpii_gt`, read once and cached."""
        if self._gt is None:
            self._gt = load_mpii_gt(self.gt_file)
        return self._gt

    def _ordered(self, results, num_gt):
        """(sorted sample ids int [M], predictions [M, 16, 2]); checks range, repeats."""
        ids = np.array([r['sample_idx'] for r in results], dtype=np.int64)
        if len(ids) == 0:
            raise ValueError('MPIIPCKh received no predictions to evaluate')
        out = (ids < 0) | (ids >= num_gt)
        if out.any():
            raise ValueError(f'sample_idx {int(ids[out][0])} is outside the '
                             f'{num_gt} samples of {self.gt_file}')
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f'sample_idx {int(uniq[counts > 1][0])} was predicted more '
                             'than once')
        order = np.argsort(ids)
        return ids[order], np.stack([results[i]['pred'] for i in order])

    def _check_head_sizes(self, ids, head, visible) -> None:
        """ValueError naming the .mat sample whose head size is missing (≤ 0 / NaN)."""
        bad = ~(np.isfinite(head) & (head > 0)) & visible.any(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f'{self.gt_file}: sample {int(ids[i])} has no valid head '
                             f'size ({head[i]!r}; its head box is missing or empty) but '
                             f'has visible joints; {int(bad.sum())} evaluated sample(s) '
                             'affected')

    def _log_table(self, metrics, num_eval, num_gt) -> None:
        """Log the MPII table (percent) and how many of the .mat's samples it covers."""
        names = list(metrics)
        width = max(len(n) for n in names) + 2
        header = ''.join(f'{n:>{width}}' for n in names)
        row = ''.join(f'{metrics[n]:>{width}.2f}' for n in names)
        cover = (f'all {num_gt}' if num_eval == num_gt else
                 f'a subset: {num_eval} of {num_gt}')
        MMLogger.get_current_instance().info(
            f'MPII PCKh@{self.thr:g} (percent) over {cover} samples of {self.gt_file}:\n'
            f'{header}\n{row}')
