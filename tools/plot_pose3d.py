"""Plot predicted vs ground-truth 3D poses from a predictions dump.

``python tools/plot_pose3d.py PREDS.npz --out poses.png [--num 4] [--frame 0]``

PREDS.npz (or .json) is what ``tools/test.py CONFIG CKPT --dump PREDS.npz`` writes for
a video 3D model: per clip 'pred_joints_3d' and 'gt_joints_3d' [T, 17, 3]. It is read
with ``hpekit.fileio.load_predictions`` (``np.load(allow_pickle=False)``): reading it
cannot run code. Pickle files are refused.
Draws frame ``--frame`` of the first ``--num`` clips, each with its MPJPE in mm.
"""
import argparse

import numpy as np

from hpekit.datasets import parse_pose_metainfo
from hpekit.fileio import load_predictions
from hpekit.visualization import save_pose3d_grid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('preds', help='.npz or .json written by tools/test.py --dump')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--num', type=int, default=4, help='clips to draw (default 4)')
    parser.add_argument('--frame', type=int, default=0, help='frame of each clip')
    parser.add_argument('--metainfo', default='configs/_base_/datasets/h36m.py',
                        help='metainfo file of the dataset (skeleton to draw)')
    args = parser.parse_args(argv)
    samples = load_predictions(args.preds)[:args.num]
    if not samples:
        raise ValueError(f'{args.preds}: holds no samples')
    missing = [k for k in ('pred_joints_3d', 'gt_joints_3d') if k not in samples[0]]
    if missing:
        raise KeyError(f'{args.preds}: samples lack {missing} (fields: '
                       f'{sorted(samples[0])}); expected a video 3D dump')
    preds = [np.asarray(s['pred_joints_3d'])[args.frame] for s in samples]
    gts = [np.asarray(s['gt_joints_3d'])[args.frame] for s in samples]
    titles = [f'clip {int(s["sample_idx"]) if "sample_idx" in s else i}: '
              f'{np.linalg.norm(p - g, axis=-1).mean() * 1000:.0f} mm'
              for i, (s, p, g) in enumerate(zip(samples, preds, gts))]
    skeleton = parse_pose_metainfo(dict(from_file=args.metainfo))['skeleton_links']
    print(f'wrote {save_pose3d_grid(preds, gts, skeleton, args.out, titles=titles)}')


if __name__ == '__main__':
    main()
