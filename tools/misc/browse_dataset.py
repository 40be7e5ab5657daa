"""Look at a dataset's samples as the model sees them (MMPose's browse_dataset).

``python tools/misc/browse_dataset.py CONFIG --output-dir DIR [--mode transformed]
[--phase train] [--num 20] [--cfg-options ...]``

``--mode original``: each person's full image with its ground-truth keypoints;
``--mode transformed`` (default): the model input after the training pipeline's
augmentation (crop, rotation, flip, colour changes …), with the keypoints as the
pipeline moved them — what the loss sees. The ground truth is drawn in the dataset
metainfo's keypoint and link colours (``PoseLocalVisualizer(gt_color=None)``), so left
and right differ and a wrong flip map shows after a flip. Pictures are written to
``DIR/<sample_idx>_<image name>.jpg``. Top-down 2D datasets.

The images of the samples to draw are checked first (present, readable, a known image
format): one that is not stops the tool before any picture is written, naming it
(``CocoDataset`` already checks every image at start-up; see its ``skip_invalid``).
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.config import DictAction
from mmengine.structures import InstanceData
from mmengine.utils import ProgressBar

from hpekit.config.setup import load_config
from hpekit.datasets.transforms import LoadImage
from hpekit.fileio import atomic_open
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


def check_images(dataset, count):
    """Raise FileNotFoundError naming every image of the first ``count`` samples that
    is missing, not readable or of no image format OpenCV knows (its header is read);
    a corrupt image body is still found only when decoded."""
    bad = []
    for index in range(count):
        path = dataset.get_data_info(index).get('img_path')
        if not path:
            continue
        if not osp.isfile(path):
            bad.append(f'sample {index}: {path} not found')
        elif not os.access(path, os.R_OK) or not cv2.haveImageReader(path):
            bad.append(f'sample {index}: {path} not readable as an image')
    if bad:
        raise FileNotFoundError(f'browse_dataset: {len(bad)} of the {count} images to draw '
                                f'cannot be read, nothing was drawn: {"; ".join(bad)}')


def write_picture(path, picture):
    """Write an RGB uint8 [H, W, 3] picture as a JPEG, atomically."""
    ok, data = cv2.imencode('.jpg', cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f'browse_dataset: cannot encode the picture for {path}')
    with atomic_open(path, 'wb') as f:
        f.write(data.tobytes())


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    dataset = DATASETS.build(cfg[f'{args.phase}_dataloader'].dataset)
    count = min(args.num, len(dataset))
    check_images(dataset, count)
    # gt_color=None: the metainfo's keypoint and link colours (left and right differ).
    visualizer = PoseLocalVisualizer(name=f'browse_dataset_{id(args)}', gt_color=None)
    visualizer.set_dataset_meta(dataset.metainfo)
    os.makedirs(args.output_dir, exist_ok=True)
    draw = original if args.mode == 'original' else transformed
    bar = ProgressBar(count)
    for index in range(count):
        image, sample = draw(dataset, index)
        info = dataset.get_data_info(index)
        name = f"{info.get('sample_idx', index)}_{osp.basename(info.get('img_path', ''))}"
        # no out_file and no vis backends: the drawn picture is returned, written here
        picture = visualizer.add_datasample(name, image, sample, draw_pred=False)
        write_picture(osp.join(args.output_dir, osp.splitext(name)[0] + '.jpg'), picture)
        bar.update()
    print(f'\nwrote {count} pictures to {args.output_dir}')
    return count


if __name__ == '__main__':
    main()
