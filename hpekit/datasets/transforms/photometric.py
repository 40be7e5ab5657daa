"""Photometric transforms of RTMPose's recipe: colour jitter and albumentations' pixel
transforms, applied to the person crop after ``TopdownAffine``.

Both change pixel values only, never the geometry: the crop (``TopdownAffine``) owns
where every pixel and keypoint goes. The image is hpekit's RGB uint8 'img' [H, W, 3].
Random draws come from numpy's global generator, like every hpekit transform, so a
seeded run (``randomness.seed``, the worker seeding, ``ExactResumeTrainLoop``) draws
the same augmentations again.

An RTMPose training pipeline (MMPose's names; ``mmdet.YOLOXHSVRandomAug`` there)::

    [..., dict(type='TopdownAffine', input_size=codec['input_size']),
     dict(type='YOLOXHSVRandomAug'),
     dict(type='Albumentation', transforms=[
         dict(type='Blur', p=0.1), dict(type='MedianBlur', p=0.1),
         dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4,
              min_holes=1, min_height=0.2, min_width=0.2, p=1.0)]),
     dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')]
"""
import inspect
import os
import random
from typing import List, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from hpekit.registry import TRANSFORMS


def _rgb_uint8(img, who):
    """``img`` checked to be uint8 [H, W, 3]."""
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{who}: expects results['img'] uint8 [H, W, 3] (RGB), got "
                         f'{img.dtype} {list(img.shape)}')
    return img


@TRANSFORMS.register_module()
class YOLOXHSVRandomAug(BaseTransform):
    """Random hue, saturation and value shifts (YOLOX's HSV jitter; MMDetection's
    ``YOLOXHSVRandomAug``, used by MMPose's RTMPose configs as ``mmdet.YOLOXHSVRandomAug``).

    Three gains are drawn, ``U(-1, 1) * (hue_delta, saturation_delta, value_delta)``,
    each kept with probability 1/2 (else 0) and truncated to an integer. The image is
    converted to OpenCV's 8-bit HSV (H in [0, 180), S and V in [0, 255]); the hue
    gain is added modulo 180, the saturation and value gains are added and clipped to
    [0, 255]; the image is converted back. Draws (numpy's global generator) and the
    integer arithmetic are MMDetection's.

    Channel order: MMDetection converts a BGR image with ``COLOR_BGR2HSV`` /
    ``COLOR_HSV2BGR``; hpekit's crops are RGB, so this uses ``COLOR_RGB2HSV`` /
    ``COLOR_HSV2RGB``. OpenCV computes the same H, S, V for a colour whichever order its
    channels are stored in, so for the same draws the result is MMDetection's result on
    the BGR copy of the image, in RGB order (equal to the byte; a test checks it). The
    HSV round trip is done even when all three gains are 0, as MMDetection does (8-bit
    HSV is slightly lossy). A new array replaces 'img' (the input is not written to).

    Args:
        hue_delta (int): largest hue shift, in OpenCV's 0-180 hue units. Default 5.
        saturation_delta (int): largest saturation shift (0-255 units). Default 30.
        value_delta (int): largest value (brightness) shift (0-255 units). Default 30.

    Required keys: 'img' uint8 [H, W, 3] RGB. Modified keys: 'img'.
    """

    sweep_example = dict(cfg=dict(), results='crop')

    def __init__(self, hue_delta: int = 5, saturation_delta: int = 30,
                 value_delta: int = 30) -> None:
        for name, value in (('hue_delta', hue_delta), ('saturation_delta', saturation_delta),
                            ('value_delta', value_delta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f'YOLOXHSVRandomAug: {name} must be a number >= 0, got '
                                 f'{value!r}')
        self.hue_delta = hue_delta
        self.saturation_delta = saturation_delta
        self.value_delta = value_delta

    def draw_gains(self) -> np.ndarray:
        """int16 [3]: the (hue, saturation, value) shifts of one sample."""
        gains = np.random.uniform(-1, 1, 3) * [self.hue_delta, self.saturation_delta,
                                               self.value_delta]
        gains *= np.random.randint(0, 2, 3)   # each shift on or off with probability 1/2
        return gains.astype(np.int16)

    @staticmethod
    def apply_gains(img: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """``img`` (uint8 RGB [H, W, 3]) with the hue/saturation/value ``gains`` added."""
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)

    def transform(self, results: dict) -> dict:
        img = _rgb_uint8(results['img'], type(self).__name__)
        results['img'] = self.apply_gains(img, self.draw_gains())
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(hue_delta={self.hue_delta}, saturation_delta='
                f'{self.saturation_delta}, value_delta={self.value_delta})')


# -------------------------------------------------------------------- Albumentation
# CoarseDropout's arguments in older albumentations (MMPose's configs use these) and
# the ranges that replaced them in 2.0: (old min key, old max key, new range key).
_COARSE_DROPOUT_RANGES = (('min_holes', 'max_holes', 'num_holes_range'),
                          ('min_height', 'max_height', 'hole_height_range'),
                          ('min_width', 'max_width', 'hole_width_range'))
_COARSE_DROPOUT_RENAMED = (('fill_value', 'fill'), ('mask_fill_value', 'fill_mask'))
# albumentations' dropout transforms are DualTransforms (they can also drop mask or
# keypoint areas) but move nothing: allowed besides the image-only transforms.
_DROPOUT_MODULE = 'albumentations.augmentations.dropout'


def coarse_dropout_args(args: dict, params) -> dict:
    """``CoarseDropout`` arguments for the installed albumentations, whose ``__init__``
    takes the names ``params``.

    The old names (``max_holes``, ``min_holes``, ``max_height``, ``min_height``,
    ``max_width``, ``min_width``, ``fill_value``, ``mask_fill_value``; MMPose's configs)
    become the new ones where only those exist (2.x: ``num_holes_range=(min, max)``,
    ``hole_height_range``, ``hole_width_range``, ``fill``, ``fill_mask``), and the new
    ones the old where only the old exist. A min not given equals its max (the old
    default). Floats in (0, 1] are fractions of the image's height / width in both
    versions, ints are pixels. ``always_apply=True`` (gone in 2.x) becomes ``p=1``.
    """
    args = dict(args)
    for low, high, span in _COARSE_DROPOUT_RANGES:
        if (low in args or high in args) and high not in params and span in params:
            top, bottom = args.pop(high, None), args.pop(low, None)
            if top is None:
                raise ValueError(f'CoarseDropout: {low}={bottom!r} needs {high} as well '
                                 f'(the installed albumentations takes {span}=(min, max))')
            args[span] = (top if bottom is None else bottom, top)
        elif span in args and span not in params and high in params:
            args[low], args[high] = args.pop(span)
    for old, new in _COARSE_DROPOUT_RENAMED:
        if old in args and old not in params and new in params:
            args[new] = args.pop(old)
        elif new in args and new not in params and old in params:
            args[old] = args.pop(new)
    if 'always_apply' in args and 'always_apply' not in params:
        if args.pop('always_apply'):
            args['p'] = 1.0
    return args


def _kwargs(args):
    return ', '.join(f'{k}={v!r}' for k, v in args.items())


def _build(albu, cfg, where):
    """One transform of the module ``albu`` from ``dict(type=..., **args)``, refusing
    spatial ones."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"Albumentation {where}: expected dict(type='<albumentations "
                        f"transform>', ...), got {cfg!r}")
    args = dict(cfg)
    kind = args.pop('type')
    if isinstance(kind, str):
        cls = getattr(albu, kind, None)
        if not inspect.isclass(cls):
            raise ValueError(f'Albumentation {where}: albumentations '
                             f'{albu.__version__} has no transform {kind!r}')
    elif inspect.isclass(kind):
        cls = kind
    else:
        raise TypeError(f'Albumentation {where}: type must be a class name (str), '
                        f'got {kind!r}')
    name = cls.__name__
    if issubclass(cls, albu.BaseCompose):
        args['transforms'] = [_build(albu, t, f'{where}.transforms[{i}]')
                              for i, t in enumerate(args.get('transforms') or [])]
    elif not _pixel_level(albu, cls):
        raise ValueError(
            f'Albumentation {where}: {name!r} ({cls.__module__}) is not a pixel-level '
            f'albumentations transform. A spatial transform (flip, rotate, crop, resize, '
            f'affine, distortion …) would move the image but not the keypoints, which '
            f'hpekit does not hand to albumentations; only pixel-level transforms are '
            f'allowed (blur, noise, colour, CoarseDropout …). Geometric augmentation is '
            f"TopdownAffine's (scale_factor, rotate_factor, flip_prob).")
    if name == 'CoarseDropout':
        args = coarse_dropout_args(args, inspect.signature(cls.__init__).parameters)
    try:
        return cls(**args)
    except Exception as err:   # noqa: BLE001  (name the entry of the config)
        raise ValueError(f'Albumentation {where}: {name}({_kwargs(args)}) failed with '
                         f'albumentations {albu.__version__}: {err}') from err


def _pixel_level(albu, cls):
    """Whether albumentations' ``cls`` changes pixel values only (never moves them)."""
    if issubclass(cls, albu.ImageOnlyTransform) or cls is getattr(albu, 'NoOp', None):
        return True
    return cls.__module__.startswith(_DROPOUT_MODULE) and \
        not issubclass(cls, getattr(albu, 'Transform3D', ()))


@TRANSFORMS.register_module()
class Albumentation(BaseTransform):
    """Pixel-level transforms of the ``albumentations`` package (MMPose's
    ``Albumentation``), e.g. RTMPose's blur and coarse dropout.

    ``transforms`` are albumentations transforms by class name, ``dict(type='Blur',
    p=0.1)``, or compositions with their own ``transforms`` (``OneOf``, ``SomeOf``,
    ``Sequential`` …), applied in order as one ``albumentations.Compose`` to the
    results' 'img' (``keymap`` maps results keys to albumentations' keys; default
    ``{'img': 'image'}``).

    Pixel-level only: albumentations' image-only transforms (blur, noise, colour …)
    and its dropout transforms (``CoarseDropout``, ``GridDropout``, ``XYMasking`` …).
    A spatial transform (flip, rotate, crop, resize, affine, distortion …) is refused
    with an error naming it: hpekit's ``TopdownAffine`` owns the crop's geometry, and the
    keypoints are not handed to albumentations, so one would move the image but not the
    keypoints. The image must keep its shape (checked on every call).

    Channel order: hpekit's crops are RGB, the order albumentations assumes. MMPose
    hands it BGR images, so a colour transform that depends on the order
    (``HueSaturationValue``, ``RGBShift``, ``ToGray``'s weights …) acts on the right
    channels here and on swapped ones in MMPose; RTMPose's blur and dropout do not
    depend on it.

    ``CoarseDropout`` takes MMPose's (albumentations < 2) arguments — ``max_holes``,
    ``max_height``, ``max_width``, ``min_holes``, ``min_height``, ``min_width``,
    ``fill_value`` — and translates them for the installed albumentations (2.x:
    ``num_holes_range``, ``hole_height_range``, ``hole_width_range``, ``fill``); float
    sizes are fractions of the image's height and width.

    Randomness: albumentations >= 2 keeps its own generators, seeded from the operating
    system when built and ignoring numpy's global seed, so DataLoader workers would
    draw the same augmentations and a seeded run would not repeat. Every call therefore
    draws one seed from numpy's global generator (seeded per worker and per iteration
    in hpekit) and hands all the transforms one shared generator made from it.

    albumentations is an optional dependency (``pip install hpekit[albumentations]``,
    requirements/albumentations.txt), imported when this transform is built.

    Args:
        transforms (list[dict]): albumentations transforms, ``dict(type=name, **args)``.
        keymap (dict | None): results key → albumentations key; None: ``{'img': 'image'}``.

    Required keys: 'img' uint8 [H, W, 3] (and the other keys of ``keymap``).
    Modified keys: the same.
    """

    sweep_example = dict(cfg=dict(transforms=[
        dict(type='Blur', p=1.0),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
             min_height=0.2, min_width=0.2, p=1.0)]), results='crop', requires='albumentations')

    def __init__(self, transforms: List[dict], keymap: Optional[dict] = None) -> None:
        # albumentations >= 2 asks PyPI for a newer version on import (a network call
        # of up to 2 s, in every DataLoader worker that imports it); a user's own
        # setting of NO_ALBUMENTATIONS_UPDATE is kept.
        os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
        try:
            # optional dependency (requirements/albumentations.txt), ~1.5 s to import:
            # only configs that use this transform need it
            import albumentations
        except ImportError as err:
            raise ImportError(
                'Albumentation needs the albumentations package, which is not installed '
                f'({err}): pip install "hpekit[albumentations]" (or the line of '
                'requirements/albumentations.txt), or remove the Albumentation transform '
                'from the pipeline.') from err
        if not isinstance(transforms, (list, tuple)) or not transforms:
            raise ValueError(f'Albumentation: transforms must be a non-empty list of '
                             f"dict(type='<albumentations transform>', ...), got "
                             f'{transforms!r}')
        self.transforms = [dict(t) if isinstance(t, dict) else t for t in transforms]
        self.keymap = dict(keymap) if keymap else {'img': 'image'}
        # the module is not kept on the transform: datasets are pickled for workers
        self.aug = albumentations.Compose(
            [_build(albumentations, t, f'transforms[{i}]')
             for i, t in enumerate(self.transforms)])
        self._shared_state = hasattr(self.aug, 'set_random_state')

    def _reseed(self):
        """One seed from numpy's global generator → one generator pair for all."""
        if not self._shared_state:
            return   # older albumentations draw from the global (seeded) generators
        seed = int(np.random.randint(0, 2**31 - 1))
        self.aug.set_random_state(np.random.default_rng(seed), random.Random(seed))

    def transform(self, results: dict) -> dict:
        missing = [k for k in self.keymap if k not in results]
        if missing:
            raise KeyError(f'Albumentation needs {missing} in the results (keymap '
                           f'{self.keymap})')
        shapes = {k: np.shape(results[k]) for k in self.keymap}
        self._reseed()
        out = self.aug(**{albu_key: results[key] for key, albu_key in self.keymap.items()})
        for key, albu_key in self.keymap.items():
            if np.shape(out[albu_key]) != shapes[key]:
                raise ValueError(f"Albumentation changed the shape of results['{key}'] "
                                 f'from {list(shapes[key])} to {list(np.shape(out[albu_key]))};'
                                 f' only shape-keeping pixel transforms are allowed')
            results[key] = out[albu_key]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(transforms={self.transforms}, keymap={self.keymap})'
