"""The mean-pose baseline of a video 3D config: predict the training mean pose.

``python tools/mean_pose_baseline.py CONFIG [--work-dir DIR]`` averages the 3D joints
of every frame of the config's training set, predicts that pose for every frame of
its test set and reports MPJPE in mm. When ``DIR/test_metrics.json`` exists (written by
tools/test.py), the model's MPJPE is printed beside it with the ratio. Writes
``DIR/baseline.json``.
"""
import argparse
import json
import os.path as osp

import numpy as np

from hpekit.config.setup import load_config
from hpekit.evaluation.functional import mpjpe
from hpekit.fileio import write_json_atomic
from hpekit.registry import DATASETS
from hpekit.utils import register_all_modules


def dataset_joints(dataset_cfg):
    """Joints [n, T, K, 3] of a dataset config's clips (no transforms run)."""
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    return dataset.clip_joints()


def mean_pose_baseline_mm(train_joints, test_joints, unit_scale=1000.0):
    """MPJPE (mm) of predicting train_joints' mean pose for every test frame."""
    mean_pose = train_joints.reshape(-1, *train_joints.shape[-2:]).mean(axis=0)
    frames = test_joints.reshape(-1, *test_joints.shape[-2:])
    prediction = np.broadcast_to(mean_pose, frames.shape)
    return mpjpe(prediction, frames) * unit_scale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--work-dir', default=None,
                        help='where test_metrics.json is read and baseline.json written')
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    register_all_modules()
    work_dir = args.work_dir or osp.join('work_dirs',
                                         osp.splitext(osp.basename(args.config))[0])
    baseline = mean_pose_baseline_mm(dataset_joints(cfg.train_dataloader.dataset),
                                     dataset_joints(cfg.test_dataloader.dataset))
    result = {'mean_pose_baseline_mpjpe': baseline}
    line = f'mean-pose baseline MPJPE: {baseline:.1f} mm'
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    if osp.isfile(metrics_file):
        with open(metrics_file) as f:
            model = json.load(f)['metrics']['mpjpe']
        result.update(model_mpjpe=model, ratio=model / baseline)
        line = (f'model MPJPE: {model:.1f} mm | {line} | ratio {model / baseline:.2f} '
                f'({"at most" if model <= baseline / 2 else "above"} half the baseline)')
    print(line)
    if osp.isdir(work_dir):
        write_json_atomic(osp.join(work_dir, 'baseline.json'), result)
    return result


if __name__ == '__main__':
    main()
