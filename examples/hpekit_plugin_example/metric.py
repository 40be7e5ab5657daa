"""An evaluation metric (METRICS): mean keypoint error in image pixels."""
import numpy as np
from mmengine.evaluator import BaseMetric

from hpekit.registry import METRICS


@METRICS.register_module()
class MeanPixelError(BaseMetric):
    """Mean distance in image px between ``pred_keypoints`` and ``gt_keypoints`` [K, 2]
    over the visible keypoints (``keypoints_visible`` > 0) of every sample.

    Returns ``{'mean_px_error': float}`` (key prefixed by ``prefix`` when set).
    """

    default_prefix = 'toy'
    sweep_example = dict(cfg=dict(), samples='keypoints_2d')

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            pred = np.asarray(sample['pred_keypoints'], np.float64)
            gt = np.asarray(sample['gt_keypoints'], np.float64)
            visible = np.asarray(sample['keypoints_visible']) > 0
            self.results.append(np.linalg.norm(pred - gt, axis=-1)[visible])

    def compute_metrics(self, results):
        errors = np.concatenate(results) if results else np.zeros(0)
        if errors.size == 0:
            raise ValueError('MeanPixelError: no visible keypoint among the samples')
        return {'mean_px_error': float(errors.mean())}
