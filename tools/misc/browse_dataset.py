"""Look at a dataset's samples as the model sees them (MMPose's browse_dataset).

``python tools/misc/browse_dataset.py CONFIG --output-dir DIR [--mode transformed]
[--phase train] [--num 20] [--cfg-options ...]``

``--mode original``: each person's full image with its ground-truth keypoints;
``--mode transformed`` (default): the model input after the training pipeline's
augmentation (crop, rotation, flip, colour changes …), with the keypoints as the
pipeline moved them — what the loss sees. Pictures are drawn with the dataset
metainfo's skeleton and colours (``PoseLocalVisualizer``) and written to
``DIR/<sample_idx>_<image name>.jpg``. Top-down 2D datasets.
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import DictAction
from mmengine.structures import InstanceData
from mmengine.utils import ProgressBar

from hpekit.config.setup import load_config
from hpekit.datasets.transforms import LoadImage
from hpekit.registry import DATASETS
from hpekit.structures import PoseDataSample
from hpekit.utils import register_all_modules
from hpekit.visualization import PoseLocalVisualizer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw dataset samples to a folder.')
    parser.add_argument('config', help='config file path or shipped config name')
    parser.add_argument('--output-dir', required=True, help='folder for the pictures')
    parser.add_argument('--mode', choices=['original', 'transformed'], default='transformed')
    parser.add_argument('--phase', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--num', type=int, default=20, help='samples to draw (default 20)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error('--num must be >= 1')
    return args


def _sample(keypoints, visible):
    sample = PoseDataSample()
    sample.gt_instances = InstanceData(keypoints=np.asarray(keypoints, np.float32)[None],
                                       keypoints_visible=np.asarray(visible)[None])
    return sample


def original(dataset, index):
    """(full image RGB, data sample with the annotated keypoints)."""
    info = dataset.get_data_info(index)
    image = LoadImage(reduce_decode=False)(dict(img_path=info['img_path']))['img']
    return image, _sample(info['keypoints'], info['keypoints_visible'])


def transformed(dataset, index):
    """(model input RGB after the pipeline, data sample with the moved keypoints)."""
    results = dict(dataset.get_data_info(index))
    for transform in dataset.pipeline.transforms:
        if type(transform).__name__.startswith('Pack'):
            break
        results = transform(results)
    if 'keypoints_input' not in results:
        raise ValueError('browse_dataset draws top-down pipelines (TopdownAffine gives '
                         "'keypoints_input'); this pipeline gives none")
    return results['img'], _sample(results['keypoints_input'], results['keypoints_visible'])


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    dataset = DATASETS.build(cfg[f'{args.phase}_dataloader'].dataset)
    visualizer = PoseLocalVisualizer(name='browse_dataset')
    visualizer.set_dataset_meta(dataset.metainfo)
    os.makedirs(args.output_dir, exist_ok=True)
    draw = original if args.mode == 'original' else transformed
    count = min(args.num, len(dataset))
    bar = ProgressBar(count)
    for index in range(count):
        image, sample = draw(dataset, index)
        info = dataset.get_data_info(index)
        name = f"{info.get('sample_idx', index)}_{osp.basename(info.get('img_path', ''))}"
        out = osp.join(args.output_dir, osp.splitext(name)[0] + '.jpg')
        visualizer.add_datasample(name, image, sample, draw_pred=False, out_file=out)
        bar.update()
    print(f'\nwrote {count} pictures to {args.output_dir}')
    return count


if __name__ == '__main__':
    main()
