"""Draw a checkpoint's 2D predictions on the first val images: a PNG grid.

Usage:
    python tools/visualize_predictions.py CONFIG CHECKPOINT --out predictions.png
        [--num 6] [--split val|test] [--size 256] [--ncols 3] [--score-thr 0.1]
        [--device cpu]
        [--cfg-options key=value ...]

Runs the model (with the config's test_cfg, e.g. flip test) on the first ``--num``
samples of the split's dataset and draws, on a square crop of each original image
around the person box, the predicted skeleton (the link colours of the dataset
metainfo, black border; joints scoring below ``--score-thr`` left out) over the ground
truth (green, white border; visible joints only), with ``PoseLocalVisualizer.draw_grid``.
Top-down 2D pipeline (pipeline B) only.
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from hpekit.apis import init_model
from hpekit.core import affine_matrix, apply_affine
from hpekit.registry import DATASETS
from hpekit.structures import PoseDataSample
from hpekit.visualization import PoseLocalVisualizer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw predicted 2D skeletons.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG path')
    parser.add_argument('--num', type=int, default=6, help='number of samples (default 6)')
    parser.add_argument('--split', choices=['val', 'test'], default='val',
                        help='which dataloader\'s dataset to draw from (default val)')
    parser.add_argument('--size', type=int, default=256, help='panel side in px')
    parser.add_argument('--ncols', type=int, default=3, help='panels per row')
    parser.add_argument('--score-thr', type=float, default=0.1,
                        help='leave out predicted joints scoring below (default 0.1)')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu' or 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. val_dataloader.dataset.data_root=X')
    args = parser.parse_args(argv)
    if args.num < 1 or args.size < 16:
        parser.error('--num must be >= 1 and --size >= 16')
    return args


def predict(model, dataset, indices):
    """Run ``model.test_step`` on the dataset samples ``indices``; the data samples."""
    batch = pseudo_collate([dataset[i] for i in indices])
    with torch.no_grad():
        return model.test_step(batch)


def person_crop(info, size):
    """(crop uint8 [size, size, 3] RGB, 2×3 image → crop matrix) of a data info's box."""
    img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {info["img_path"]}')
    side = float(np.max(info['bbox_size']))
    matrix = affine_matrix(info['center'], (side, side), (size, size))
    crop = cv2.warpAffine(img, matrix, (size, size), flags=cv2.INTER_AREA
                          if side > size else cv2.INTER_LINEAR)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB), matrix


def panels(dataset, samples, indices, size):
    """(crops, data samples in crop px — prediction and ground truth —, titles)."""
    crops, drawn, titles = [], [], []
    for i, sample in zip(indices, samples):
        info = dataset.get_data_info(i)
        crop, matrix = person_crop(info, size)
        crops.append(crop)
        panel = PoseDataSample()
        panel.pred_instances = InstanceData(
            keypoints=apply_affine(np.asarray(sample.pred_keypoints), matrix)[None],
            keypoint_scores=np.asarray(sample.keypoint_scores)[None])
        panel.gt_instances = InstanceData(
            keypoints=apply_affine(info['keypoints'], matrix)[None],
            keypoints_visible=np.asarray(info['keypoints_visible'])[None])
        drawn.append(panel)
        titles.append(f'{info["image_id"]} (#{info["sample_idx"]})')
    return crops, drawn, titles


def main(argv=None):
    args = parse_args(argv)
    model = init_model(args.config, args.checkpoint, args.device, args.cfg_options)
    dataset = DATASETS.build(model.cfg[f'{args.split}_dataloader'].dataset)
    indices = list(range(min(args.num, len(dataset))))
    crops, drawn, titles = panels(dataset, predict(model, dataset, indices), indices,
                                  args.size)
    visualizer = PoseLocalVisualizer(name=f'visualize_predictions_{id(args)}')
    visualizer.set_dataset_meta(dataset.metainfo)
    grid = visualizer.draw_grid(crops, drawn, titles=titles, ncols=args.ncols,
                                kpt_thr=args.score_thr,
                                title=f'{osp.basename(args.config)}: prediction (black '
                                      'border) over ground truth (green)')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write {args.out}')
    print(f'wrote {args.out} ({len(indices)} samples)')
    return args.out


if __name__ == '__main__':
    main()
