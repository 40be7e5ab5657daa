"""PCKh on MPII, computed as the official MPII evaluation does, as an mmengine metric."""
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hpekit.datasets.metainfo import parse_pose_metainfo
from hpekit.datasets.mpii import MPII_METAINFO_FILE
from hpekit.evaluation.functional import load_mpii_gt, pckh_counts, save_mpii_preds
from hpekit.evaluation.metrics.per_keypoint import keypoint_names, log_per_keypoint_table
from hpekit.registry import METRICS


def pckh_table(meta: Mapping[str, Any]
               ) -> Tuple[List[Tuple[str, Tuple[int, ...]]], Tuple[int, ...]]:
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


# Largest distance (px) between a sample's ``gt_keypoints`` + 1 and the .mat's
# ``pos_gt_src`` for a visible joint that still counts as the same person.
GT_MATCH_TOL_PX = 1.0
PLAIN_MEAN_KEY = 'PCKh (plain mean)'


def _plain_mean(values):
    """Unweighted mean of the finite part values (percent); NaN when there is none."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float('nan')


def mpii_pckh_metrics(pred: np.ndarray, gt: dict, meta: dict, thr: float = 0.5,
                      ids: Optional[np.ndarray] = None,
                      source: str = 'the GT') -> Dict[str, float]:
    """The MPII PCKh table of predictions against the evaluation GT, in percent.

    Args:
        pred: [M, K, 2] predictions in 1-based MATLAB px (hpekit's 0-based + 1, or an
            official / HRNet ``preds.mat`` as :func:`load_mpii_preds` reads it).
        gt: the dict of :func:`load_mpii_gt`.
        meta: parsed dataset metainfo (its ``pckh_table`` gives the columns).
        thr: PCKh threshold (fraction of the head size).
        ids: the .mat rows the M predictions belong to (default: all rows, M = N).
        source: the GT's name for error messages (e.g. the .mat path).
    Returns:
        the part columns (``Head`` … ``Ankle`` for MPII), ``PCKh`` (the official
        table's Mean: the joints not excluded, weighted by their visible counts, as
        the official MATLAB code, HRNet and MMPose), ``PCKh (plain mean)`` (the
        unweighted mean of the part columns, the "Mean" of bearpaw/pytorch-pose's
        script) and ``PCKh@0.1`` (the weighted Mean at 0.1).
    """
    ids = np.arange(len(gt['head_size'])) if ids is None else np.asarray(ids)
    pos, visible, head = gt['pos_gt_src'][ids], gt['jnt_visible'][ids], gt['head_size'][ids]
    bad = ~(np.isfinite(head) & (head > 0)) & visible.any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f'{source}: sample {int(ids[i])} has no valid head size '
                         f'({head[i]!r}; its head box is missing or empty) but has visible '
                         f'joints; {int(bad.sum())} evaluated sample(s) affected')
    correct, count = pckh_counts(pred, pos, visible, head, thr)
    correct_01, _ = pckh_counts(pred, pos, visible, head, 0.1)
    per_joint = _percent(correct, count)
    parts, excluded = pckh_table(meta)
    metrics = _part_values(per_joint, parts)
    plain = _plain_mean(list(metrics.values()))
    metrics['PCKh'] = _weighted_mean(correct, count, excluded)
    metrics[PLAIN_MEAN_KEY] = plain
    metrics['PCKh@0.1'] = _weighted_mean(correct_01, count, excluded)
    return metrics


def _percent(correct: np.ndarray, count: np.ndarray) -> np.ndarray:
    """100 · correct / count per joint (float64 [K]); NaN where count is 0."""
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(count > 0, 100.0 * correct / count, np.nan)


def mpii_pckh_per_joint(pred: np.ndarray, gt: dict, thr: float = 0.5,
                        ids: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(PCKh@thr per joint in percent float64 [K] (NaN: never visible), visible counts
    int [K]) of predictions (1-based px, [M, K, 2]) against the GT rows ``ids``, by
    the official rule of :func:`mpii_pckh_metrics`."""
    ids = np.arange(len(gt['head_size'])) if ids is None else np.asarray(ids)
    correct, count = pckh_counts(pred, gt['pos_gt_src'][ids], gt['jnt_visible'][ids],
                                 gt['head_size'][ids], thr)
    return _percent(correct, count), np.asarray(count, np.int64)


def format_pckh_table(metrics: Dict[str, float]) -> str:
    """The table as two lines (names, values with two decimals), columns aligned."""
    names = list(metrics)
    width = max(len(n) for n in names) + 2
    return (''.join(f'{n:>{width}}' for n in names) + '\n'
            + ''.join(f'{metrics[n]:>{width}.2f}' for n in names))


def _sample_gt(sample, num_joints):
    """(gt_keypoints float64 [K, 2] 0-based image px, visible bool [K]) of a sample,
    or None when it carries no ``gt_keypoints``."""
    value = _field(sample, 'gt_keypoints')
    if value is None:
        return None
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != num_joints * 2:
        raise ValueError(f'gt_keypoints must have shape [{num_joints}, 2], but got '
                         f'{list(arr.shape)}')
    vis = _field(sample, 'keypoints_visible')
    if hasattr(vis, 'detach'):
        vis = vis.detach().cpu().numpy()
    vis = np.ones(num_joints) if vis is None else np.asarray(vis, np.float64).reshape(-1)
    if vis.size != num_joints:
        raise ValueError(f'keypoints_visible must have shape [{num_joints}], but got '
                         f'{list(vis.shape)}')
    return arr.reshape(num_joints, 2), vis > 0


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

    The people are checked, not trusted: a sample that also carries ``gt_keypoints``
    [K, 2] (0-based image px of the val JSON's joints, as ``PackPoseInputs`` packs
    them; ``keypoints_visible`` [K] optional) must have them + 1 within
    ``GT_MATCH_TOL_PX`` (1 px) of ``pos_gt_src`` of the same ``sample_idx`` for every
    joint visible in both; otherwise the JSON and the .mat list different people (a
    shuffled, filtered or other split's JSON) and ``compute_metrics`` raises
    ValueError naming both files and the first mismatching sample. Samples without
    ``gt_keypoints`` cannot be checked (a warning says how many).

    The table's columns come from the dataset metainfo (``pckh_table``, see
    :func:`pckh_table`; the runner sets ``dataset_meta``, a standalone metric reads
    ``configs/_base_/datasets/mpii.py``). For MPII ``compute_metrics`` returns, in
    percent: ``Head`` (head top), ``Shoulder``, ``Elbow``, ``Wrist``, ``Hip``,
    ``Knee``, ``Ankle`` (each the plain mean of its left and right joint's PCKh, as the
    official table; a joint without visible instances is skipped, NaN if both are),
    ``PCKh`` (the table's Mean at ``thr``: all joints except pelvis and thorax,
    weighted by their visible counts, as the official code, HRNet and MMPose),
    ``PCKh (plain mean)`` (the unweighted mean of the part columns, which
    bearpaw/pytorch-pose's script reports as its Mean; see docs/mpii.md) and
    ``PCKh@0.1`` (the weighted Mean at threshold 0.1), and ``PCKh/<joint name>``: each
    joint's PCKh at ``thr`` (NaN for a joint never visible), whose table is logged
    with the visible counts (``keypoint_counts``: {'visible': [K]}). When the
    predictions cover only some of the .mat's samples, those samples alone are
    evaluated (and the count is logged).

    Args:
        gt_file (str): path of ``mpii_gt_val.mat``: read (and checked) when the metric
            is built if the file exists, else at the first evaluation.
        thr (float): PCKh threshold as a fraction of the head size.
        outfile_prefix (str, optional): also write the predictions as
            ``<outfile_prefix>_preds.mat`` in the official / HRNet layout (key
            ``preds`` [N, K, 2], 1-based px, one row per person of the .mat in its
            order, NaN rows for people without a prediction), which
            ``tools/eval_keypoints.py mpii`` and the official MATLAB / HRNet
            evaluation read. Folders are created; the file is written atomically.
        ann_file (str, optional): the val JSON the predictions come from, named in the
            error when its people are not the .mat's (default: the ``ann_file`` of the
            runner's dataset_meta, which ``MPIIDataset`` sets).
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): prefix of the metric names, e.g. 'mpii' → 'mpii/PCKh'.
    """

    sweep_example = dict(cfg=dict(), samples='mpii')

    # Keys keep their names ('mpjpe', 'PCKh'); '' (not None) says so to mmengine,
    # which would otherwise warn that no prefix is set.
    default_prefix: Optional[str] = ''

    def __init__(self, gt_file: str, thr: float = 0.5, outfile_prefix: Optional[str] = None,
                 ann_file: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not np.isfinite(thr) or thr <= 0:
            raise ValueError(f'thr must be a finite number > 0, but got {thr!r}')
        if outfile_prefix is not None and not str(outfile_prefix):
            raise ValueError('outfile_prefix must be a non-empty path prefix or None')
        self.gt_file = gt_file
        self.thr = float(thr)
        self.outfile_prefix = outfile_prefix
        self.ann_file = ann_file
        self._gt = None
        self.keypoint_counts: Dict[str, np.ndarray] = {}
        if os.path.isfile(os.fspath(gt_file)):
            # Read (and so check) the GT now, before the test loop: an empty, truncated
            # or wrong .mat is refused here, naming the file, not after the last batch.
            self._load_gt()

    @property
    def _meta(self) -> dict:
        """The dataset metainfo (the runner's), else MPII's metainfo file."""
        if self.dataset_meta is None:
            self.dataset_meta = parse_pose_metainfo(dict(from_file=MPII_METAINFO_FILE))
        return self.dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store each sample as dict(sample_idx int, pred float64 [K, 2] 0-based px,
        gt (gt_keypoints float64 [K, 2], visible bool [K]) or None)."""
        num_joints = self._meta['num_keypoints']
        for sample in data_samples:
            self.results.append(dict(sample_idx=_sample_idx(sample),
                                     pred=_pred_keypoints(sample, num_joints),
                                     gt=_sample_gt(sample, num_joints)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Evaluate the gathered predictions against the .mat (percent, floats)."""
        gt = self._load_gt()
        num_gt = len(gt['head_size'])
        ids, order = self._ordered(results, num_gt)
        ordered = [results[i] for i in order]
        self._check_people(ids, ordered, gt)
        pred = np.stack([r['pred'] for r in ordered]) + 1.0
        if self.outfile_prefix is not None:
            self._write_preds(ids, pred, gt)
        metrics = mpii_pckh_metrics(pred, gt, self._meta, self.thr, ids,
                                    source=self.gt_file)
        per_joint, visible = mpii_pckh_per_joint(pred, gt, self.thr, ids)
        names = keypoint_names(self._meta, pred.shape[1], type(self).__name__)
        joint_metrics = {f'PCKh/{n}': float(v) for n, v in zip(names, per_joint)}
        self.keypoint_counts = {'visible': visible}
        log_per_keypoint_table(joint_metrics, names, self.keypoint_counts,
                               f'MPII PCKh@{self.thr:g} per joint (percent)')
        self._log_table(metrics, len(ids), num_gt)   # the official table last
        metrics.update(joint_metrics)
        return metrics

    def _load_gt(self) -> dict:
        """The GT of :func:`load_mpii_gt`, read once and cached."""
        if self._gt is None:
            self._gt = load_mpii_gt(self.gt_file)
        return self._gt

    def _ordered(self, results, num_gt):
        """(sorted sample ids int [M], the positions of the results in that order);
        checks range and repeats."""
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
        order = np.argsort(ids, kind='stable')
        return ids[order], order

    def _check_people(self, ids, ordered, gt) -> None:
        """ValueError unless each sample's gt_keypoints are its .mat row's joints."""
        names = self._meta.get('keypoint_id2name', {})
        unchecked = 0
        for idx, result in zip(ids, ordered):
            if result.get('gt') is None:
                unchecked += 1
                continue
            joints, sample_visible = result['gt']
            mat = gt['pos_gt_src'][idx]
            both = gt['jnt_visible'][idx] & sample_visible & np.isfinite(joints).all(1)
            dist = np.linalg.norm(joints + 1.0 - mat, axis=1)
            wrong = both & ~(dist <= GT_MATCH_TOL_PX)
            if wrong.any():
                j = int(np.flatnonzero(wrong)[0])
                json_file = (self.ann_file or self._meta.get('ann_file')
                             or "the val JSON (the dataloader's ann_file)")
                raise ValueError(
                    f'the predictions\' people are not those of {self.gt_file}: sample '
                    f'{int(idx)} (sample_idx, its position in {json_file}) has joint '
                    f'{j} ({names.get(j, j)}) at {(joints[j] + 1.0).round(2).tolist()} '
                    f'(1-based px) in the JSON but at {mat[j].round(2).tolist()} in the '
                    f'.mat ({dist[j]:.1f} px apart; {int(wrong.sum())} of its '
                    f'{int(both.sum())} joints visible in both differ by more than '
                    f'{GT_MATCH_TOL_PX:g} px). The val JSON and the .mat must list the '
                    'same people in the same order (the official pair: mpii_val.json '
                    'and mpii_gt_val.mat); a shuffled, filtered or re-generated JSON '
                    'does not match.')
        if unchecked:
            MMLogger.get_current_instance().warning(
                f'MPIIPCKh: {unchecked} of {len(ids)} samples carry no gt_keypoints; '
                f'their people could not be checked against {self.gt_file} (sample_idx '
                'is trusted for them)')

    def _write_preds(self, ids, pred, gt) -> None:
        """Write ``<outfile_prefix>_preds.mat`` (all .mat rows; NaN where unpredicted)."""
        full = np.full(gt['pos_gt_src'].shape, np.nan)
        full[ids] = pred
        path = f'{os.fspath(self.outfile_prefix)}_preds.mat'
        save_mpii_preds(path, full)
        missing = len(full) - len(ids)
        MMLogger.get_current_instance().info(
            f'MPIIPCKh: wrote the predictions to {path} (official layout: preds '
            f'[{len(full)}, {full.shape[1]}, 2], 1-based px, {self.gt_file}\'s order'
            + (f'; {missing} people without a prediction are NaN)' if missing else ')'))

    def _log_table(self, metrics, num_eval, num_gt) -> None:
        """Log the MPII table (percent) and how many of the .mat's samples it covers."""
        cover = (f'all {num_gt}' if num_eval == num_gt else
                 f'a subset: {num_eval} of {num_gt}')
        MMLogger.get_current_instance().info(
            f'MPII PCKh@{self.thr:g} (percent) over {cover} samples of {self.gt_file}:\n'
            f'{format_pckh_table(metrics)}\n'
            f'PCKh = the official Mean (weighted by visible counts); {PLAIN_MEAN_KEY} = '
            'the unweighted mean of the part columns (bearpaw/pytorch-pose\'s Mean)')
