"""Transforms of video clips with 3D joints (pipeline A).

Every transform takes and returns the results dict of ``H36MClipDataset``:
``frames`` uint8 [T, H, W, 3] RGB, ``joints_3d`` float32 [T, K, 3] metres (pelvis-relative
camera coordinates: x right, y down, z away), ``flip_indices`` (K ints), ``sample_idx``.
Random transforms draw their parameters once per clip (from numpy's global generator,
which mmengine seeds per worker) and apply them to every frame alike, so the motion
stays coherent. ``PackClipInputs`` ends the pipeline.
"""
import math

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from hpekit.config.checks import codec_not_set
from hpekit.registry import TRANSFORMS
from hpekit.structures import PoseDataSample


def _hw(size):
    """(height, width) from an int (square) or a (height, width) pair."""
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


def resize_frames(frames, height, width):
    """Resize every frame of a clip.

    frames: uint8 [T, H, W, C]. Returns uint8 [T, height, width, C]; INTER_AREA when
    shrinking (no aliasing), INTER_LINEAR otherwise.
    """
    if frames.shape[1:3] == (height, width):
        return frames
    shrink = height * width < frames.shape[1] * frames.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    out = np.empty((len(frames), height, width, frames.shape[3]), frames.dtype)
    for t, frame in enumerate(frames):   # cv2.resize takes at most 4 channels
        out[t] = cv2.resize(frame, (width, height), interpolation=interp).reshape(out.shape[1:])
    return out


@TRANSFORMS.register_module()
class ClipRandomFlip(BaseTransform):
    """Mirror a whole clip horizontally with probability ``prob``.

    Frames are flipped left-right; 3D joints are mirrored to match: x is negated and
    each joint takes the place of its mirror joint (``results['flip_indices']``), so
    the result is the 3D pose of the mirrored body. Exact when the camera's principal
    point is the image centre (true for the synthetic data, approximately for the
    Human3.6M crops). Sets ``results['flip']`` (bool).

    Note: on the synthetic data the bone colours code left (warm) and right (cool);
    a flipped synthetic clip shows warm colours on the body's right, which conflicts
    with unflipped ones — leave the flip out when training on synthetic clips.
    """

    sweep_example = dict(cfg=dict(prob=1.0), results='clip')

    def __init__(self, prob=0.5):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results):
        results['flip'] = bool(np.random.rand() < self.prob)
        if results['flip']:
            results['frames'] = np.ascontiguousarray(results['frames'][:, :, ::-1])
            if 'joints_3d' in results:
                results['joints_3d'] = flip_joints_3d(results['joints_3d'],
                                                      results['flip_indices'])
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(prob={self.prob})'


def flip_joints_3d(joints, flip_indices):
    """Mirror 3D joints [..., K, 3] through the camera's x=0 plane, swapping left/right.

    Returns a new array: joint k becomes the x-negated joint ``flip_indices[k]``.
    """
    flipped = np.array(joints[..., list(flip_indices), :], copy=True)
    flipped[..., 0] *= -1
    return flipped


GREY_WEIGHTS = np.array([0.299, 0.587, 0.114])   # RGB → grey (ITU-R BT.601)


def jitter_colours(frames, brightness, contrast, saturation):
    """Brightness, contrast, saturation factors applied to uint8 RGB frames [..., H, W, 3].

    With f = brightness·x, g = f·GREY_WEIGHTS and M = mean(g) over the whole clip:
    contrast f' = c(f - M) + M (and g' likewise), saturation f'' = s(f' - g') + g'.
    That is one affine colour map per clip, ``f'' = A x + (1 - c) M`` with
    ``A = b c (s I + (1 - s) 1 wᵀ)``, applied in a single pass by ``cv2.transform``
    (rounded and clipped to uint8). Returns a new uint8 array of the same shape.
    """
    flat = np.ascontiguousarray(frames).reshape(-1, frames.shape[-2], 3)
    mean_grey = brightness * float(np.dot(cv2.mean(flat)[:3], GREY_WEIGHTS))
    linear = brightness * contrast * (saturation * np.eye(3) +
                                      (1 - saturation) * np.outer(np.ones(3), GREY_WEIGHTS))
    offset = np.full((3, 1), (1 - contrast) * mean_grey)
    return cv2.transform(flat, np.hstack([linear, offset])).reshape(frames.shape)


@TRANSFORMS.register_module()
class ClipColorJitter(BaseTransform):
    """Random brightness, contrast and saturation, one draw for the whole clip.

    Factors are drawn uniformly from [1 - x, 1 + x] and applied in that order:
    brightness scales the pixels, contrast blends with the clip's mean grey level,
    saturation blends each pixel with its grey value. Applied with probability
    ``prob``. Frames stay uint8 [T, H, W, 3].
    """

    sweep_example = dict(cfg=dict(), results='clip')

    def __init__(self, brightness=0.2, contrast=0.2, saturation=0.2, prob=1.0):
        for name, value in (('brightness', brightness), ('contrast', contrast),
                            ('saturation', saturation)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.prob = prob

    def _factors(self):
        return [np.random.uniform(1 - x, 1 + x)
                for x in (self.brightness, self.contrast, self.saturation)]

    def transform(self, results):
        if np.random.rand() >= self.prob:
            return results
        results['frames'] = jitter_colours(results['frames'], *self._factors())
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(brightness={self.brightness}, contrast='
                f'{self.contrast}, saturation={self.saturation}, prob={self.prob})')


@TRANSFORMS.register_module()
class ClipRandomResizedCrop(BaseTransform):
    """Crop the same random box from every frame and resize it to ``size``.

    The box covers a fraction ``scale`` of the frame area with aspect ratio (w/h) in
    ``ratio`` (log-uniform), as torchvision's RandomResizedCrop; after 10 failed draws
    the largest centred box with a valid ratio is used. Sets ``results['crop_box']``
    = (x, y, w, h) in input pixels.

    The 3D joints are left unchanged: they are metric, pelvis-relative camera
    coordinates, and a crop plus resize only changes the camera intrinsics (a zoom
    and a principal-point shift), not the body's pose relative to the camera. (An
    off-centre crop is, strictly, a slightly rotated virtual camera; for crops of
    80-100 % of the frame that rotation is a few degrees and ignored.)

    Args:
        size (int | tuple[int, int]): output (height, width), or a side for squares.
        scale (tuple[float, float]): range of the box area as a fraction of the frame.
        ratio (tuple[float, float]): range of the box aspect ratio width / height.
    """

    sweep_example = dict(cfg=dict(size=16), results='clip')

    def __init__(self, size=224, scale=(0.8, 1.0), ratio=(3 / 4, 4 / 3)):
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f'need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= '
                             f'ratio[1], got scale={scale}, ratio={ratio}')
        self.size, self.scale, self.ratio = size, tuple(scale), tuple(ratio)

    def _box(self, height, width):
        """Random (x, y, w, h) box inside a height × width frame."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                return (np.random.randint(0, width - w + 1), np.random.randint(0, height - h + 1),
                        w, h)
        return self._central_box(height, width)

    def _central_box(self, height, width):
        """The largest centred box whose aspect ratio is clamped into ``ratio``."""
        aspect = min(max(width / height, self.ratio[0]), self.ratio[1])
        w, h = (width, round(width / aspect)) if width / height < aspect else \
            (round(height * aspect), height)
        w, h = min(w, width), min(h, height)
        return (width - w) // 2, (height - h) // 2, w, h

    def transform(self, results):
        frames = results['frames']
        x, y, w, h = self._box(*frames.shape[1:3])
        results['frames'] = resize_frames(frames[:, y:y + h, x:x + w], *_hw(self.size))
        results['crop_box'] = (int(x), int(y), int(w), int(h))
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio})')


@TRANSFORMS.register_module()
class ClipResize(BaseTransform):
    """Resize every frame to ``size`` (int side or (height, width)), or to the codec's
    ``input_size`` (W, H) when ``size`` is not given.

    INTER_AREA when shrinking, INTER_LINEAR when enlarging; frames already of that size
    pass unchanged. The 3D joints are unchanged (see ``ClipRandomResizedCrop``). In a
    config: ``dict(type='ClipResize', input_size=codec['input_size'])``.
    """

    sweep_example = dict(cfg=dict(input_size=(24, 16)), results='clip')

    def __init__(self, size=None, input_size=None):
        if size is None and input_size is None:
            raise codec_not_set('input_size', 'ClipResize', alternative='size=(H, W)')
        if size is None:
            width, height = (input_size, input_size) if np.isscalar(input_size) \
                else input_size
            size = (int(height), int(width))
        self.size = size
        _hw(size)

    def transform(self, results):
        height, width = _hw(self.size)
        if results['frames'].shape[1:3] != (height, width):
            results['frames'] = resize_frames(results['frames'], height, width)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(size={self.size})'


@TRANSFORMS.register_module()
class TemporalSubsample(BaseTransform):
    """Keep ``num_frames`` frames at a fixed stride, frames and joints in step.

    stride = T // num_frames; kept indices are offset + stride·[0 .. num_frames-1],
    the offset drawn uniformly among the valid ones when ``random_offset`` (else 0).
    Sets ``results['frame_inds']``.
    """

    sweep_example = dict(cfg=dict(num_frames=2), results='clip')

    def __init__(self, num_frames, random_offset=True):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.num_frames, self.random_offset = num_frames, random_offset

    def _indices(self, total):
        if total < self.num_frames:
            raise ValueError(f'TemporalSubsample: clip has {total} frames, fewer than '
                             f'num_frames={self.num_frames}')
        stride = total // self.num_frames
        last_offset = total - (stride * (self.num_frames - 1) + 1)
        offset = np.random.randint(0, last_offset + 1) if self.random_offset else 0
        return offset + stride * np.arange(self.num_frames)

    def transform(self, results):
        inds = self._indices(len(results['frames']))
        results['frames'] = np.ascontiguousarray(results['frames'][inds])
        if 'joints_3d' in results:
            results['joints_3d'] = np.ascontiguousarray(results['joints_3d'][inds])
        results['frame_inds'] = inds
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'random_offset={self.random_offset})')


@TRANSFORMS.register_module()
class PackClipInputs(BaseTransform):
    """Pack a clip for the model: the last transform of every clip pipeline.

    Returns ``{'inputs': torch.uint8 [T, 3, H, W] (contiguous), 'data_samples':
    PoseDataSample}``; the data sample holds ``gt_joints_3d`` (float32 tensor
    [T, K, 3] metres, when the results have joints) and the ``meta_keys`` found in
    the results as metainfo (by default also the frame rows and the action of
    ``H36MVideoDataset`` clips, which the per-action metric reads).
    """

    sweep_example = dict(cfg=dict(), results='clip')

    def __init__(self, meta_keys=('sample_idx', 'flip_indices', 'frame_ids', 'action',
                                  'subject', 'camera', 'seq_name')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results):
        frames = np.ascontiguousarray(results['frames'].transpose(0, 3, 1, 2))
        sample = PoseDataSample(metainfo={k: results[k] for k in self.meta_keys
                                          if k in results})
        if 'joints_3d' in results:
            joints = np.ascontiguousarray(results['joints_3d'], dtype=np.float32)
            sample.gt_joints_3d = torch.from_numpy(joints)
        return {'inputs': torch.from_numpy(frames), 'data_samples': sample}

    def __repr__(self):
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
