"""MPJPE and acceleration error (jitter) of 3D predictions, raw and after each filter.

Usage::

    python tools/test.py CONFIG CHECKPOINT --dump preds.npz      # a lifting/video config
    python tools/analysis/smoothing_eval.py preds.npz [--fps 50] \
        [--filters one_euro savgol gaussian:sigma=3,window=13] [--json OUT]

The predictions file is what ``tools/test.py --dump`` writes for the Human3.6M configs:
per sample ``pred_joints_3d`` and ``gt_joints_3d`` [T, K, 3] (metres), with
``frame_ids`` and ``seq_name``. As ``H36MPerActionMPJPE`` does, frames predicted by
several clips are averaged, and a sequence's frames are put in order and cut into runs
of consecutive frames; each filter smooths every run offline (``filter``), in
millimetres (``--unit-scale``), and the MPJPE (mm) and acceleration error (mm/frame²)
of the result are printed beside the raw ones.

A filter is a short name (``one_euro``, ``savgol``, ``gaussian``) or a registered type
name, optionally with arguments: ``NAME:key=value,key=value``. Without arguments the
defaults below are used (One-Euro at ``--fps``; its ``beta`` is in s/mm here).
"""
import argparse
import ast
import sys
from typing import Dict, List, Tuple

import numpy as np

from hpekit.core.smoothing import FILTER_SHORT_NAMES, build_pose_filter
from hpekit.evaluation.functional import mpjpe
from hpekit.evaluation.metrics.h36m_metric import merged_runs, run_accel_errors
from hpekit.fileio import load_predictions, write_json_atomic

# Filters and arguments used when --filters names a filter without arguments.
DEFAULT_ARGS = {'OneEuroFilter': dict(min_cutoff=1.0, beta=0.05),
                'SavitzkyGolayFilter': dict(window=9, polyorder=2),
                'GaussianFilter': dict(sigma=1.5, window=9)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='MPJPE and acceleration error of 3D '
                                     'predictions, raw and smoothed.')
    parser.add_argument('preds', help='predictions file of tools/test.py --dump (.npz/.json)')
    parser.add_argument('--filters', nargs='+', default=['one_euro', 'savgol', 'gaussian'],
                        metavar='NAME[:k=v,...]', help='filters to compare (default: '
                        'one_euro savgol gaussian)')
    parser.add_argument('--fps', type=float, default=50.0,
                        help='frame rate of the sequences, for One-Euro (default 50)')
    parser.add_argument('--unit-scale', type=float, default=1000.0,
                        help='file units → reported units (default 1000: m → mm)')
    parser.add_argument('--json', metavar='OUT', help='also write the numbers to OUT')
    return parser.parse_args(argv)


def filter_config(spec: str, fps: float) -> dict:
    """``NAME[:k=v,...]`` → a POSE_FILTERS config dict."""
    name, _, rest = spec.partition(':')
    cfg = dict(type=FILTER_SHORT_NAMES.get(name, name))
    if rest:
        for item in rest.split(','):
            key, sep, value = item.partition('=')
            if not sep:
                raise ValueError(f'--filters {spec!r}: expected key=value, got {item!r}')
            cfg[key.strip()] = ast.literal_eval(value.strip())
    else:
        cfg.update(DEFAULT_ARGS.get(cfg['type'], {}))
    if cfg['type'] == 'OneEuroFilter':
        cfg.setdefault('fps', fps)
    return cfg


def read_results(path: str) -> List[dict]:
    """The dump's samples as the metric's results (pred, gt, frame_ids, seq_name)."""
    results = []
    for i, sample in enumerate(load_predictions(path)):
        missing = [k for k in ('pred_joints_3d', 'gt_joints_3d') if k not in sample]
        if missing:
            raise ValueError(f'{path}: sample {i} has no {", ".join(missing)}; expected '
                             f'the dump of a 3D (lifting or video) config')
        seq = sample.get('seq_name')
        results.append(dict(pred=sample['pred_joints_3d'].astype(np.float64),
                            gt=sample['gt_joints_3d'].astype(np.float64),
                            frame_ids=sample.get('frame_ids'),
                            seq_name=None if seq is None else str(seq),
                            action=str(sample.get('action', ''))))
    if not results:
        raise ValueError(f'{path}: no samples')
    return results


def evaluate(pred: np.ndarray, gt: np.ndarray, runs: List[np.ndarray]) -> Tuple[float, float]:
    """(MPJPE, acceleration error) in the arrays' unit (per frame² for the latter)."""
    errors = run_accel_errors(pred, gt, runs)
    if errors is None:
        raise ValueError('no run of 3 consecutive frames: the acceleration error needs '
                         "the dump's frame_ids and seq_name, or clips of >= 3 frames")
    return mpjpe(pred, gt), float(errors.mean())


def smooth(pred: np.ndarray, runs: List[np.ndarray], cfg: dict) -> np.ndarray:
    """Every run of ``pred`` [F, K, 3] filtered offline by a fresh filter of ``cfg``."""
    out = pred.copy()
    for run in runs:
        out[run] = build_pose_filter(cfg).filter(pred[run])
    return out


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    pred, gt, runs = merged_runs(read_results(args.preds))
    pred, gt = pred * args.unit_scale, gt * args.unit_scale
    raw_mpjpe, raw_accel = evaluate(pred, gt, runs)
    rows = {'raw': dict(mpjpe=raw_mpjpe, accel_error=raw_accel, latency_frames=0)}
    for spec in args.filters:
        cfg = filter_config(spec, args.fps)
        value_mpjpe, value_accel = evaluate(smooth(pred, runs, cfg), gt, runs)
        rows[spec] = dict(cfg=cfg, mpjpe=value_mpjpe, accel_error=value_accel,
                          latency_frames=build_pose_filter(cfg).latency_frames)
    print(f'{len(pred)} frames, {len(runs)} runs of consecutive frames; MPJPE mm, '
          f'acceleration error mm/frame² (with --unit-scale {args.unit_scale:g})')
    print(f'{"filter":<34} {"MPJPE":>8} {"change":>8} {"accel":>8} {"change":>8} '
          f'{"latency":>7}')
    for name, row in rows.items():
        print(f'{name:<34} {row["mpjpe"]:8.2f} {100 * (row["mpjpe"] / raw_mpjpe - 1):+7.2f}% '
              f'{row["accel_error"]:8.3f} {100 * (row["accel_error"] / raw_accel - 1):+7.1f}% '
              f'{row["latency_frames"]:7d}')
    if args.json:
        write_json_atomic(args.json, dict(preds=args.preds, fps=args.fps, results=rows))
    return rows


if __name__ == '__main__':
    sys.exit(main() and 0)
