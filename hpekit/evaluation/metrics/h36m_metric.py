"""Human3.6M protocols per action: MPJPE (protocol 1) and PA-MPJPE (protocol 2), and the
acceleration error (jitter) over each sequence's consecutive frames."""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger

from hpekit.evaluation.functional import accel_errors, mpjpe, mpjpe_per_joint
from hpekit.evaluation.metrics.mpjpe_metric import MPJPE, _field, _frames
from hpekit.registry import METRICS


def _meta(sample, key):
    """A metainfo value of a data sample (a dict with 'metainfo', or a data element)."""
    if isinstance(sample, dict):
        value = sample.get(key, (sample.get('metainfo') or {}).get(key))
    else:
        value = sample.metainfo.get(key) if hasattr(sample, 'metainfo') else None
    return value


def merge_frames(results: List[dict]) -> Tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One prediction per frame from the clips' results.

    Args:
        results (list[dict]): per clip 'pred', 'gt' [T, K, 3], 'frame_ids' [T] (-1:
            padding, dropped; None: the clip's frames are its own) and 'action'.

    Returns:
        (pred [F, K, 3], gt [F, K, 3], actions [F] str, overlaps int): a frame in
        several clips gets the mean of their predictions (``overlaps`` counts the
        extra predictions averaged in).
    """
    pred, gt, actions, overlaps, _ = _merge(results)
    return pred, gt, actions, overlaps


def _merge(results):
    """``merge_frames``'s values and, per clip, the merged row of each of its frames
    (int64 [T], -1 for padding)."""
    index, preds, gts, counts, actions, positions = {}, [], [], [], [], []
    for clip, result in enumerate(results):
        ids = result.get('frame_ids')
        rows = np.full(len(result['pred']), -1, np.int64)
        for t in range(len(result['pred'])):
            key = ('clip', clip, t) if ids is None else int(ids[t])
            if key == -1:
                continue
            if key in index:
                preds[index[key]] = preds[index[key]] + result['pred'][t]
                counts[index[key]] += 1
                rows[t] = index[key]
                continue
            index[key] = rows[t] = len(preds)
            preds.append(np.array(result['pred'][t], np.float64))
            gts.append(result['gt'][t])
            counts.append(1)
            actions.append(result.get('action') or '')
        positions.append(rows)
    if not preds:
        raise ValueError('no frames to evaluate (every frame is padding)')
    pred = np.stack(preds) / np.asarray(counts, np.float64)[:, None, None]
    return pred, np.stack(gts).astype(np.float64), np.asarray(actions), \
        int(sum(counts) - len(counts)), positions


def _consecutive_runs(rows: np.ndarray, keys: np.ndarray) -> List[np.ndarray]:
    """``rows`` split where ``keys`` (frame ids, in time order) do not step by 1."""
    cuts = np.flatnonzero(np.diff(keys) != 1) + 1
    return [run for run in np.split(rows, cuts) if len(run)]


def motion_runs(results: List[dict], positions: List[np.ndarray]) -> List[np.ndarray]:
    """Runs of consecutive frames (merged rows in time order) for the acceleration.

    With 'seq_name' and 'frame_ids', a sequence's frames from all its clips are
    ordered by frame id (the annotation file's rows, which hold a sequence's frames in
    order) and split where an id is skipped; otherwise each clip's own frames are a
    run (split where its ids skip).
    """
    runs, sequences = [], {}
    for result, rows in zip(results, positions):
        ids, seq = result.get('frame_ids'), result.get('seq_name')
        keep = rows >= 0
        keys = np.arange(len(rows)) if ids is None else np.asarray(ids, np.int64)
        if ids is not None and seq:
            sequences.setdefault(seq, {}).update(zip(keys[keep].tolist(), rows[keep].tolist()))
        else:
            runs += _consecutive_runs(rows[keep], keys[keep])
    for frames in sequences.values():
        keys = np.asarray(sorted(frames), np.int64)
        runs += _consecutive_runs(np.asarray([frames[k] for k in keys], np.int64), keys)
    return runs


def merged_runs(results: List[dict]) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
    """The per-frame predictions and their runs of consecutive frames.

    Args:
        results (list[dict]): per clip 'pred', 'gt' [T, K, 3] and optional
            'frame_ids' [T], 'seq_name', 'action' (what ``H36MPerActionMPJPE.process``
            stores, or the per-sample fields of a ``tools/test.py --dump`` file).

    Returns:
        (pred [F, K, 3], gt [F, K, 3], runs): the merged frames (as ``merge_frames``)
        and ``motion_runs``' runs, each int64 [n] rows of pred/gt in time order.
    """
    pred, gt, _, _, positions = _merge(results)
    return pred, gt, motion_runs(results, positions)


def run_accel_errors(pred: np.ndarray, gt: np.ndarray,
                     runs: List[np.ndarray]) -> Optional[np.ndarray]:
    """Acceleration errors [M, K] (pred's unit per frame²) of every run of >= 3
    frames, stacked (``functional.accel_errors``); None when no run is that long."""
    runs = [run for run in runs if len(run) >= 3]
    if not runs:
        return None
    return np.concatenate([accel_errors(pred[run], gt[run])[0] for run in runs])


@METRICS.register_module()
class H36MPerActionMPJPE(MPJPE):
    """MPJPE, N-MPJPE, PA-MPJPE overall, per action and per joint (Human3.6M protocols).

    Data samples carry ``pred_joints_3d`` and ``gt_joints_3d`` [T, K, 3] (metres) and,
    in their metainfo, ``frame_ids`` [T] (the frames' rows in the annotation file; -1
    for padding), ``action`` (the reported action, e.g. 'Directions') and
    ``seq_name``, as ``H36MVideoDataset`` gives them. Evaluation is per frame: a frame
    predicted by several overlapping clips gets the **mean** of those predictions;
    padding frames are dropped; without ``frame_ids`` every clip frame counts once.

    ``compute_metrics`` returns (reported units, mm by default):

    - ``mpjpe`` (protocol 1), ``n_mpjpe``, ``pa_mpjpe`` (protocol 2) over all frames;
    - ``MPJPE/<action>`` and ``PA-MPJPE/<action>`` for every action present (subactions
      merged), and ``MPJPE/Avg``, ``PA-MPJPE/Avg``: the mean over the actions, the
      'Avg' column of the papers' tables;
    - ``mpjpe_<joint>`` per joint (``per_joint``), as ``MPJPE``;
    - ``accel_error``: the acceleration error (jitter), mm/frame² by default: the mean
      over frames and joints of ``‖accel_pred − accel_gt‖``, accelerations being
      second differences over consecutive frames (``functional.accel_errors``). It is
      computed per run of consecutive frames — a sequence's frames (metainfo
      ``seq_name``) ordered by ``frame_ids`` and split where an id is skipped; without
      ``seq_name``, each clip's own frames — on the merged per-frame predictions, and
      pooled over all runs (a run weighs by its number of frames). Not reported (a
      warning says why) when no run has 3 frames. With ``per_joint`` also
      ``accel_error/<joint>`` (read by the per-keypoint tables).

    The per-action table is logged. ``tools/test.py`` writes the dict to
    ``test_metrics.json``.

    Args:
        unit_scale, collect_device, prefix, per_joint: as ``MPJPE``.
        actions (sequence[str], optional): the table's rows and order; default the
            actions found, sorted.
    """

    sweep_example = dict(cfg=dict(), samples='h36m_actions')

    def __init__(self, unit_scale: float = 1000.0, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, per_joint: bool = True,
                 actions: Optional[List[str]] = None) -> None:
        super().__init__(unit_scale=unit_scale, collect_device=collect_device,
                         prefix=prefix, per_joint=per_joint)
        self.actions = None if actions is None else list(actions)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store pred and gt (float32 [T, K, 3], file units), frame ids and action."""
        for sample in data_samples:
            pred = _frames(sample, 'pred_joints_3d')
            gt = _frames(sample, 'gt_joints_3d')
            if pred.shape != gt.shape:
                raise ValueError(f'pred_joints_3d {list(pred.shape)} and gt_joints_3d '
                                 f'{list(gt.shape)} must have the same shape [T, K, 3]')
            ids = _meta(sample, 'frame_ids')
            if ids is not None:
                ids = np.asarray(ids.cpu() if hasattr(ids, 'cpu') else ids,
                                 np.int64).reshape(-1)
                if len(ids) != len(pred):
                    raise ValueError(f'frame_ids has {len(ids)} entries for {len(pred)} '
                                     'predicted frames')
            action = _meta(sample, 'action') or _field(sample, 'action')
            seq_name = _meta(sample, 'seq_name') or _field(sample, 'seq_name')
            self.results.append(dict(pred=pred.astype(np.float32), gt=gt.astype(np.float32),
                                     frame_ids=ids, action=action, seq_name=seq_name))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred, gt, actions, overlaps, positions = _merge(results)
        scale = self.unit_scale
        metrics = OrderedDict(
            mpjpe=mpjpe(pred, gt) * scale,
            n_mpjpe=mpjpe(pred, gt, alignment='scale') * scale,
            pa_mpjpe=mpjpe(pred, gt, alignment='procrustes') * scale)
        accel = self._accel(pred, gt, motion_runs(results, positions))
        if accel is not None:
            metrics['accel_error'] = accel[0]
        rows = []
        names = self.actions or sorted(a for a in set(actions.tolist()) if a)
        for name in names:
            mask = actions == name
            if not mask.any():
                continue
            p1 = mpjpe(pred[mask], gt[mask]) * scale
            p2 = mpjpe(pred[mask], gt[mask], alignment='procrustes') * scale
            metrics[f'MPJPE/{name}'], metrics[f'PA-MPJPE/{name}'] = p1, p2
            rows.append((name, p1, p2, int(mask.sum())))
        if rows:
            metrics['MPJPE/Avg'] = float(np.mean([r[1] for r in rows]))
            metrics['PA-MPJPE/Avg'] = float(np.mean([r[2] for r in rows]))
            self._log_actions(rows, metrics, len(pred), overlaps)
        if self.per_joint:
            joint_names = self._joint_names(pred.shape[1])
            per_joint = mpjpe_per_joint(pred, gt) * scale
            self._log_table(joint_names, per_joint, metrics, len(pred))
            metrics.update({f'mpjpe_{n}': float(v) for n, v in zip(joint_names, per_joint)})
            if accel is not None:
                metrics.update({f'accel_error/{n}': float(v)
                                for n, v in zip(joint_names, accel[1])})
        return {k: float(v) for k, v in metrics.items()}

    def _accel(self, pred, gt, runs) -> Optional[Tuple[float, np.ndarray]]:
        """(mean, per joint [K]) acceleration error in reported units per frame²,
        pooled over the accelerations of every run of >= 3 frames (so each run weighs
        by its length); None, with a warning, when no run is that long."""
        logger = MMLogger.get_current_instance()
        errors = run_accel_errors(pred, gt, runs)
        if errors is None:
            logger.warning('accel_error is not reported: no 3 consecutive frames of one '
                           'sequence were predicted (needs frame_ids and seq_name, or '
                           'clips of >= 3 frames)')
            return None
        scale = self.unit_scale
        unit = 'mm' if scale == 1000.0 else f'file units x {scale:g}'
        mean = float(errors.mean() * scale)
        num_runs = sum(len(run) >= 3 for run in runs)
        logger.info(f'Acceleration error (jitter): {mean:.3f} {unit}/frame² over '
                    f'{len(errors)} frames of {num_runs} runs of consecutive frames')
        return mean, errors.mean(axis=0) * scale

    def _log_actions(self, rows, metrics, num_frames, overlaps):
        """Log the per-action table (protocol 1 and 2) with the average and overall."""
        unit = 'mm' if self.unit_scale == 1000.0 else f'file units x {self.unit_scale:g}'
        width = max(len(r[0]) for r in rows + [('Overall (frames)', 0, 0, 0)])
        lines = [f'{"action":<{width}}  {"MPJPE":>9}  {"PA-MPJPE":>9}  {"frames":>8}']
        lines += [f'{n:<{width}}  {p1:9.2f}  {p2:9.2f}  {f:8d}' for n, p1, p2, f in rows]
        lines += ['-' * (width + 34),
                  f'{"Avg (actions)":<{width}}  {metrics["MPJPE/Avg"]:9.2f}  '
                  f'{metrics["PA-MPJPE/Avg"]:9.2f}',
                  f'{"Overall (frames)":<{width}}  {metrics["mpjpe"]:9.2f}  '
                  f'{metrics["pa_mpjpe"]:9.2f}  {num_frames:8d}']
        note = (f'; {overlaps} overlapping clip predictions averaged per frame'
                if overlaps else '')
        MMLogger.get_current_instance().info(
            f'Human3.6M per action, protocol 1 (MPJPE) and 2 (PA-MPJPE), {unit}, '
            f'{num_frames} frames{note}:\n' + '\n'.join(lines))
