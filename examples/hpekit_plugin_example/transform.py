"""A data transform (TRANSFORMS): random grayscale of the image."""
import numpy as np
from mmcv.transforms import BaseTransform

from hpekit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomGrayscale(BaseTransform):
    """With probability ``prob``, replace 'img' (uint8 [H, W, 3]) by its grey level in
    all three channels (ITU-R 601 luma). Everything else in the results is unchanged.
    """

    sweep_example = dict(cfg=dict(prob=1.0), results='crop')

    def __init__(self, prob=0.2):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomGrayscale: prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results):
        if np.random.rand() < self.prob:
            grey = results['img'].astype(np.float32) @ np.array([0.299, 0.587, 0.114])
            results['img'] = np.repeat(grey.round().astype(np.uint8)[..., None], 3, axis=2)
        return results
