"""Human3.6M protocols per action: MPJPE (protocol 1) and PA-MPJPE (protocol 2)."""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger

from hpekit.evaluation.functional import mpjpe, mpjpe_per_joint
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
    index, preds, gts, counts, actions = {}, [], [], [], []
    for clip, result in enumerate(results):
        ids = result.get('frame_ids')
        for t in range(len(result['pred'])):
            key = ('clip', clip, t) if ids is None else int(ids[t])
            if key == -1:
                continue
            if key in index:
                preds[index[key]] = preds[index[key]] + result['pred'][t]
                counts[index[key]] += 1
                continue
            index[key] = len(preds)
            preds.append(np.array(result['pred'][t], np.float64))
            gts.append(result['gt'][t])
            counts.append(1)
            actions.append(result.get('action') or '')
    if not preds:
        raise ValueError('no frames to evaluate (every frame is padding)')
    pred = np.stack(preds) / np.asarray(counts, np.float64)[:, None, None]
    return pred, np.stack(gts).astype(np.float64), np.asarray(actions), \
        int(sum(counts) - len(counts))


@METRICS.register_module()
class H36MPerActionMPJPE(MPJPE):
    """MPJPE, N-MPJPE, PA-MPJPE overall, per action and per joint (Human3.6M protocols).

    Data samples carry ``pred_joints_3d`` and ``gt_joints_3d`` [T, K, 3] (metres) and,
    in their metainfo, ``frame_ids`` [T] (the frames' rows in the annotation file; -1
    for padding) and ``action`` (the reported action, e.g. 'Directions', as
    ``H36MVideoDataset`` gives them). Evaluation is per frame: a frame predicted by
    several overlapping clips gets the **mean** of those predictions; padding frames
    are dropped; without ``frame_ids`` every clip frame counts once.

    ``compute_metrics`` returns (reported units, mm by default):

    - ``mpjpe`` (protocol 1), ``n_mpjpe``, ``pa_mpjpe`` (protocol 2) over all frames;
    - ``MPJPE/<action>`` and ``PA-MPJPE/<action>`` for every action present (subactions
      merged), and ``MPJPE/Avg``, ``PA-MPJPE/Avg``: the mean over the actions, the
      'Avg' column of the papers' tables;
    - ``mpjpe_<joint>`` per joint (``per_joint``), as ``MPJPE``.

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
            self.results.append(dict(pred=pred.astype(np.float32), gt=gt.astype(np.float32),
                                     frame_ids=ids, action=action))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred, gt, actions, overlaps = merge_frames(results)
        scale = self.unit_scale
        metrics = OrderedDict(
            mpjpe=mpjpe(pred, gt) * scale,
            n_mpjpe=mpjpe(pred, gt, alignment='scale') * scale,
            pa_mpjpe=mpjpe(pred, gt, alignment='procrustes') * scale)
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
        return {k: float(v) for k, v in metrics.items()}

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
