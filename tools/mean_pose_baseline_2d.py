"""The mean-pose baseline of a top-down 2D config: the training mean pose in each box.

``python tools/mean_pose_baseline_2d.py CONFIG [--work-dir DIR] [--cfg-options ...]``
averages the training set's labelled keypoints in box coordinates (each keypoint
relative to its person's crop box: ``(keypoint - center) / bbox_size``), places that
mean pose in every test crop box (score 1 for every keypoint) and evaluates it with
the config's ``test_evaluator`` (e.g. ``CocoMetric``, ``PCKAccuracy``, ``MPIIPCKh``),
a trivial reference for what a model learns beyond the box. When
``DIR/test_metrics.json`` exists (written by tools/test.py), the model's numbers are
printed beside the baseline's. Writes ``DIR/baseline_2d.json``.
"""
import argparse
import inspect
import json
import os.path as osp

import numpy as np
from mmengine.config import DictAction

from hpekit.config.setup import load_config
from hpekit.fileio import write_json_atomic
from hpekit.registry import DATASETS, METRICS
from hpekit.utils import register_all_modules


def build_dataset(dataset_cfg, input_size=None):
    """The dataset of a config without transforms (boxes fitted to ``input_size``)."""
    cfg = dict(dataset_cfg, pipeline=[])
    cls = DATASETS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    if input_size is not None and 'input_size' in inspect.signature(cls).parameters:
        cfg['input_size'] = tuple(input_size)
    return DATASETS.build(cfg)


def _infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def mean_box_pose(infos):
    """float64 [K, 2]: the mean labelled keypoint relative to the crop box.

    Each keypoint becomes ``(keypoint - center) / bbox_size``; keypoints never
    labelled get 0 (the box centre).
    """
    rel = np.stack([(np.asarray(i['keypoints'], np.float64) - i['center']) / i['bbox_size']
                    for i in infos])
    visible = np.stack([np.asarray(i['keypoints_visible']) > 0 for i in infos])
    counts = visible.sum(axis=0)
    total = np.where(visible[..., None], rel, 0.0).sum(axis=0)
    return np.where(counts[:, None] > 0, total / np.maximum(counts, 1)[:, None], 0.0)


def baseline_samples(mean_pose, infos):
    """Data samples (dicts) predicting ``mean_pose`` in each info's crop box."""
    samples = []
    for info in infos:
        pred = np.asarray(info['center'], np.float64) + mean_pose * info['bbox_size']
        samples.append(dict(info, pred_keypoints=pred.astype(np.float32),
                            keypoint_scores=np.ones(len(pred), np.float32),
                            gt_keypoints=info['keypoints']))
    return samples


def evaluate_baseline(cfg):
    """{metric name: value} of the mean-pose baseline under ``cfg.test_evaluator``."""
    input_size = (cfg.get('codec') or {}).get('input_size')
    train = build_dataset(cfg.train_dataloader.dataset, input_size)
    test = build_dataset(cfg.test_dataloader.dataset, input_size)
    mean_pose = mean_box_pose(_infos(train))
    samples = baseline_samples(mean_pose, _infos(test))
    evaluators = cfg.test_evaluator
    metrics = {}
    for metric_cfg in (evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]):
        metric = METRICS.build(metric_cfg)
        metric.dataset_meta = test.metainfo
        metric.process({}, samples)
        metrics.update(metric.evaluate(len(samples)))
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--work-dir', default=None,
                        help='where test_metrics.json is read and baseline_2d.json written')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. test_dataloader.dataset.data_root=D')
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    work_dir = args.work_dir or osp.join('work_dirs',
                                         osp.splitext(osp.basename(args.config))[0])
    baseline = evaluate_baseline(cfg)
    model = {}
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    if osp.isfile(metrics_file):
        with open(metrics_file) as f:
            model = json.load(f)['metrics']
    for key, value in baseline.items():
        if isinstance(value, float):
            beside = f'   model {model[key]:.4f}' if isinstance(model.get(key), float) else ''
            print(f'{key}: mean-pose baseline {value:.4f}{beside}')
    result = dict(config=args.config, baseline=baseline, model=model)
    if osp.isdir(work_dir):
        write_json_atomic(osp.join(work_dir, 'baseline_2d.json'), result)
    return result


if __name__ == '__main__':
    main()
