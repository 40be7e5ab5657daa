"""Score keypoint predictions made anywhere (hpekit, HRNet, bearpaw, MMPose…) from files.

MPII (PCKh, as the official evaluation)::

    python tools/eval_keypoints.py mpii --preds preds.mat --gt mpii_gt_val.mat [--json OUT]

``preds.mat``: the official / HRNet layout, key ``preds`` [N, 16, 2], 1-based px, one
row per person of ``mpii_gt_val.mat`` in its order (HRNet's ``pred.mat``, bearpaw's
``preds_valid.mat``, and hpekit's ``MPIIPCKh(outfile_prefix=P)`` → ``P_preds.mat``).
Prints the table with both Means: ``PCKh`` (weighted by visible counts: the official
code, HRNet, MMPose) and ``PCKh (plain mean)`` (the unweighted mean of the part
columns: bearpaw/pytorch-pose's script); see docs/mpii.md.

COCO (OKS AP / AR through pycocotools, as ``CocoMetric``)::

    python tools/eval_keypoints.py coco --results R.json --ann person_keypoints_val.json

``R.json``: COCO keypoint results, ``[{'image_id', 'category_id', 'keypoints': [x, y,
score] × K, 'score'}]`` (hpekit's ``CocoMetric(outfile_prefix=P)`` writes
``P.keypoints.json``). Prints COCOeval's summary.

``--json OUT`` writes the numbers (and what was scored) to OUT. ``--metainfo FILE``
takes the joints, the PCKh table and the OKS sigmas from another metainfo file.
"""
import argparse
import sys

import numpy as np

from hpekit.datasets.metainfo import parse_pose_metainfo
from hpekit.fileio import write_json_atomic


def evaluate_mpii(preds_file, gt_file, thr=0.5, metainfo=None):
    """(metrics dict in percent, report lines) of a ``preds.mat`` against the GT .mat."""
    from hpekit.datasets.mpii import MPII_METAINFO_FILE
    from hpekit.evaluation.functional import load_mpii_gt, load_mpii_preds
    from hpekit.evaluation.metrics.mpii_pckh import format_pckh_table, mpii_pckh_metrics
    meta = parse_pose_metainfo(dict(from_file=metainfo or MPII_METAINFO_FILE))
    gt = load_mpii_gt(gt_file)
    num, joints = gt['pos_gt_src'].shape[:2]
    if joints != meta['num_keypoints']:
        raise ValueError(f'{gt_file} has {joints} joints but the metainfo '
                         f"{meta.get('dataset_name')!r} has {meta['num_keypoints']}")
    preds = load_mpii_preds(preds_file, num_joints=joints)
    if len(preds) != num:
        raise ValueError(f'{preds_file} has {len(preds)} people but {gt_file} has {num}: '
                         'preds.mat needs one row per person of the GT .mat, in its order')
    metrics = mpii_pckh_metrics(preds, gt, meta, thr=thr, source=gt_file)
    lines = [f'MPII PCKh@{thr:g} (percent) of {preds_file} against {gt_file} '
             f'({num} people):', format_pckh_table(metrics),
             'PCKh: the official Mean (joints weighted by their visible counts; as '
             'HRNet and MMPose). PCKh (plain mean): the unweighted mean of the part '
             "columns (bearpaw/pytorch-pose's Mean)."]
    empty = int(np.isnan(preds).all(axis=(1, 2)).sum())
    if empty:
        lines.append(f'warning: {empty} of {num} rows of {preds_file} are NaN (no '
                     'prediction); their joints count as wrong, as in the official code')
    return metrics, lines


def evaluate_coco(results_file, ann_file, metainfo=None):
    """(metrics dict as fractions, report lines) of COCO results against annotations."""
    from hpekit.evaluation.metrics.coco_metric import STATS_NAMES, CocoMetric
    metric = CocoMetric(ann_file=ann_file)
    if metainfo:
        metric.dataset_meta = parse_pose_metainfo(dict(from_file=metainfo))
    stats, table = metric.evaluate_file(results_file)
    metrics = dict(zip(STATS_NAMES, stats))
    lines = [f'COCO keypoint evaluation of {results_file} against {ann_file}:', table]
    return metrics, lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='dataset', required=True)
    mpii = sub.add_parser('mpii', help='PCKh of an official / HRNet preds.mat')
    mpii.add_argument('--preds', required=True, metavar='PREDS.mat',
                      help="key 'preds' [N, K, 2], 1-based px, the GT .mat's order")
    mpii.add_argument('--gt', required=True, metavar='GT.mat',
                      help='mpii_gt_val.mat (official layout)')
    mpii.add_argument('--thr', type=float, default=0.5, help='PCKh threshold (0.5)')
    coco = sub.add_parser('coco', help='OKS AP/AR of a COCO keypoint results JSON')
    coco.add_argument('--results', required=True, metavar='R.json')
    coco.add_argument('--ann', required=True, metavar='A.json',
                      help='COCO person-keypoints annotations of the split')
    for p in (mpii, coco):
        p.add_argument('--json', metavar='OUT', default=None,
                       help='also write the numbers to this JSON file')
        p.add_argument('--metainfo', default=None, metavar='FILE',
                       help="metainfo file (default: the dataset's, "
                            'configs/_base_/datasets/{mpii,coco}.py)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.dataset == 'mpii':
            metrics, lines = evaluate_mpii(args.preds, args.gt, args.thr, args.metainfo)
            record = dict(dataset='mpii', preds=args.preds, gt=args.gt, thr=args.thr,
                          metrics=metrics)
        else:
            metrics, lines = evaluate_coco(args.results, args.ann, args.metainfo)
            record = dict(dataset='coco', results=args.results, ann=args.ann,
                          metrics=metrics)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f'eval_keypoints: error: {err}', file=sys.stderr)
        return 1
    print('\n'.join(lines))
    if args.json:
        write_json_atomic(args.json, record)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
