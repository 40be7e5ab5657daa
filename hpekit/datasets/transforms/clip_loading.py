"""Decode the frames of a clip and crop the person from each: ``LoadClipCrops``.

For datasets that list a clip's frames as files with a person box per frame
(``H36MVideoDataset``): the results hold 'img_paths' (T paths), 'center' [T, 2] and
'bbox_size' [T, 2] (image px); the transform adds the clip's 'frames' as the other
clip transforms expect them. Only the frames of one clip are ever decoded at a time,
so memory stays flat over an epoch.
"""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from hpekit.config.checks import codec_not_set
from hpekit.core import affine_matrix, apply_affine, invert_affine
from hpekit.datasets.transforms.topdown_transforms import (LoadImage, _pair, reduced_decode_factor,
                                                           reduced_image_matrix)
from hpekit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadClipCrops(BaseTransform):
    """Read every frame of a clip and warp its person box to ``input_size``.

    Frame t is cropped by one affine, ``affine_matrix(center[t], bbox_size[t],
    input_size)`` (``hpekit.core``: the box's edges onto the output's edges), applied
    with ``cv2.warpAffine`` (bilinear, black outside the image). JPEGs are decoded at
    1/2, 1/4 or 1/8 when the box still covers the input's pixels (as ``LoadImage``);
    a path repeated in a clip (edge padding) is decoded once.

    Args:
        input_size (int | (W, H)): the model input; in a config,
            ``input_size=codec['input_size']`` (required).
        to_rgb (bool): RGB frames (default) or OpenCV's BGR.
        reduce_decode (bool): allow reduced JPEG decoding.
        decoder (str): 'auto' (simplejpeg when installed) or 'cv2'.

    Adds 'frames' uint8 [T, H, W, 3], 'affine' float64 [T, 2, 3] (image px → input px),
    'input_size' (W, H), and 'keypoints_input' float32 [T, K, 2] when the results hold
    'keypoints' [T, K, 2] of the same T frames.

    Raises:
        FileNotFoundError / OSError: a frame is missing or cannot be decoded (path and
            sample named).
    """

    sweep_example = dict(cfg=dict(input_size=(16, 16)), results='clip_files')

    def __init__(self, input_size=None, to_rgb=True, reduce_decode=True, decoder='auto'):
        if input_size is None:
            raise codec_not_set('input_size', 'LoadClipCrops')
        self.input_size = _pair(input_size, 'input_size')
        self.reduce_decode = reduce_decode
        self.loader = LoadImage(to_rgb=to_rgb, reduce_decode=reduce_decode,
                                min_box_scale=1.0, input_size=self.input_size,
                                decoder=decoder)

    def _crop(self, path, center, size, results, cache):
        factor = reduced_decode_factor(size, self.input_size, 1.0) \
            if self.reduce_decode else 1
        key = (path, factor)
        if key not in cache:
            cache[key] = self.loader._read(path, factor, results)
        matrix = affine_matrix(center, size, self.input_size)
        to_original = invert_affine(reduced_image_matrix(1.0 / factor))
        warp = matrix @ np.vstack([to_original, [0.0, 0.0, 1.0]])
        crop = cv2.warpAffine(cache[key], warp, self.input_size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return crop, matrix

    def transform(self, results):
        paths = list(results['img_paths'])
        centers = np.asarray(results['center'], np.float64).reshape(len(paths), 2)
        sizes = np.asarray(results['bbox_size'], np.float64).reshape(len(paths), 2)
        width, height = self.input_size
        frames = np.empty((len(paths), height, width, 3), np.uint8)
        affines = np.empty((len(paths), 2, 3))
        cache = {}
        for t, path in enumerate(paths):
            frames[t], affines[t] = self._crop(path, centers[t], sizes[t], results, cache)
        results.update(frames=frames, affine=affines, input_size=self.input_size)
        keypoints = results.get('keypoints')
        if keypoints is not None and len(keypoints) == len(paths):
            results['keypoints_input'] = np.stack(
                [apply_affine(k, a) for k, a in zip(keypoints, affines)]).astype(np.float32)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(input_size={self.input_size}, '
                f'reduce_decode={self.reduce_decode})')
