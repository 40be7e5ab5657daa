"""Transforms of the top-down 2D pipeline (B): one person crop per sample.

Every transform takes and returns the results dict of ``MPIIDataset`` (see
docs/architecture.md): 'img_path', 'center' float32 [2] and 'bbox_size' float32 [2]
(0-based image px), 'keypoints' float32 [K, 2] (0-based image px), 'keypoints_visible'
float32 [K] (0/1), 'flip_indices' (K ints), 'sample_idx', 'image_id'. Coordinates
follow ``hpekit.core.affine`` (pixel centres at integers; crops map box edges to
output edges). Random transforms draw from numpy's global generator (which mmengine
seeds per worker). A typical training pipeline::

    [dict(type='RandomHalfBody'), dict(type='LoadImage'), dict(type='TopdownAffine'),
     dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')]

(``RandomHalfBody`` may also follow ``LoadImage``; placed first, the reduced JPEG
decoding of ``LoadImage`` sees the final box.) MMPose's ``RandomFlip`` step works here
too: hpekit's ``RandomFlip`` draws the flip and ``TopdownAffine`` applies it.
"""
import os.path as osp

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from hpekit.config.checks import codec_not_set
from hpekit.core import affine_matrix, apply_affine, check_grid, invert_affine
from hpekit.registry import TRANSFORMS
from hpekit.structures import PoseDataSample

_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}


def _pair(size, name):
    """(w, h) ints from an int or a pair; raises ValueError unless positive."""
    w, h = (size, size) if np.isscalar(size) else size
    if int(w) <= 0 or int(h) <= 0:
        raise ValueError(f'{name} must be positive, got {size}')
    return int(w), int(h)


def _sample_text(results):
    """' (sample_idx N, image ID)' for error messages, from whatever results hold."""
    parts = [f'sample_idx {results["sample_idx"]}'] if 'sample_idx' in results else []
    if 'image_id' in results:
        parts.append(f'image {results["image_id"]}')
    return f' ({", ".join(parts)})' if parts else ''


def reduced_image_matrix(img_scale):
    """2×3 matrix from original image px to px of the image decoded at ``img_scale``.

    A decoder that shrinks by f = 1/img_scale maps pixel edges to edges, so
    ``x_reduced = (x + 0.5) · img_scale - 0.5``.
    """
    s = float(img_scale)
    return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5]])


# ------------------------------------------------------------------------ LoadImage
def _jpeg_decoder():
    """``simplejpeg`` (libjpeg-turbo; its speed against OpenCV's JPEG path is in
    docs/benchmarks.md) or None when it is not installed."""
    try:
        import simplejpeg  # optional dependency: OpenCV decodes without it
    except ImportError:
        return None
    return simplejpeg


_SIMPLEJPEG = _jpeg_decoder()


def _is_jpeg(data):
    """True when the bytes (uint8 array) start with the JPEG SOI marker FF D8 FF."""
    return data.size > 3 and data[0] == 0xFF and data[1] == 0xD8 and data[2] == 0xFF


def reduced_decode_factor(bbox_size, input_size, min_box_scale=0.75):
    """The largest decode reduction f in (1, 2, 4, 8) that keeps the crop's resolution.

    Args:
        bbox_size: (w, h) of the person box in original image px.
        input_size: (W, H) of the model input the box is warped to.
        min_box_scale (float): the smallest box scale a later augmentation may draw.

    Returns:
        int f such that ``bbox_size · min_box_scale / f >= input_size`` on both axes
        (1 when no reduction keeps that).
    """
    box = np.asarray(bbox_size, np.float64) * min_box_scale
    ratio = np.min(box / np.asarray(_pair(input_size, 'input_size'), np.float64))
    return max([1] + [f for f in _REDUCED_FLAGS if ratio >= f])


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']``, at reduced resolution when the crop allows.

    Results that already hold an 'img' array and no 'img_path' (inference on an
    array) pass through with 'img_scale' 1.0.

    Adds 'img' uint8 [H, W, 3] (RGB when ``to_rgb``, else BGR), 'img_shape' (H, W) of
    the decoded image and 'img_scale' (float): 1 / the decode reduction factor, 1.0
    unless reduced. Pixel coordinates relate as
    ``x_decoded = (x + 0.5) · img_scale - 0.5`` (the decoder maps pixel edges to
    edges); later transforms keep 'center', 'bbox_size' and 'keypoints' in original
    image px and fold img_scale into their single warp, so the crop is the same as
    from a full decode, up to resampling.

    Reduced decoding (``reduce_decode``): with a model input size (``input_size``
    here, else results['input_size']) and results['bbox_size'], the image is decoded
    at 1/f, f = ``reduced_decode_factor(bbox_size, input_size, min_box_scale)``: the
    largest of 2, 4, 8 for which the box still covers at least the input's pixels
    after a scale augmentation down to ``min_box_scale`` (set it to
    1 - TopdownAffine's scale_factor). JPEG DCT scaling does the reduction inside the
    decoder (fast, anti-aliased); other formats are resized by OpenCV. Put
    transforms that change the box (``RandomHalfBody``) before this one.

    JPEG files are decoded by ``simplejpeg`` when it is installed (``decoder='auto'``;
    libjpeg-turbo, identical pixels, about half of OpenCV's time), else and for other
    formats by OpenCV, straight into RGB (no full-frame colour conversion).

    Args:
        to_rgb (bool): RGB (default) or OpenCV's BGR channel order.
        reduce_decode (bool): allow reduced decoding.
        min_box_scale (float): in (0, 1]; see above.
        input_size (int | (W, H), optional): the model input size of the warp.
        decoder (str): 'auto' (simplejpeg for JPEGs when installed) or 'cv2'.

    Raises:
        FileNotFoundError: the image does not exist (path and sample named).
        OSError: the file cannot be decoded (corrupt or not an image; path and sample).
    """

    sweep_example = dict(cfg=dict(input_size=(16, 16)), results='image_file')

    def __init__(self, to_rgb=True, reduce_decode=True, min_box_scale=0.75,
                 input_size=None, decoder='auto'):
        if not 0 < min_box_scale <= 1:
            raise ValueError(f'min_box_scale must be in (0, 1], got {min_box_scale}')
        if decoder not in ('auto', 'cv2'):
            raise ValueError(f"decoder must be 'auto' or 'cv2', got {decoder!r}")
        self.to_rgb, self.reduce_decode = to_rgb, reduce_decode
        self.min_box_scale = min_box_scale
        self.input_size = None if input_size is None else _pair(input_size, 'input_size')
        self.decoder = decoder

    def _factor(self, results):
        """Decode reduction factor (1, 2, 4 or 8) for this sample."""
        input_size = self.input_size or results.get('input_size')
        if not self.reduce_decode or input_size is None or results.get('bbox_size') is None:
            return 1
        return reduced_decode_factor(results['bbox_size'], input_size, self.min_box_scale)

    def _decode_jpeg(self, data, factor):
        """simplejpeg decode at 1/factor (DCT scaling); uint8 [ceil(H/f), ceil(W/f), 3]."""
        height, width = _SIMPLEJPEG.decode_jpeg_header(data)[:2]
        return _SIMPLEJPEG.decode_jpeg(
            data, colorspace='RGB' if self.to_rgb else 'BGR',
            min_height=-(-height // factor), min_width=-(-width // factor))

    def _decode_cv2(self, data, factor):
        """OpenCV decode at 1/factor, in the wanted channel order."""
        flag = _REDUCED_FLAGS.get(factor, cv2.IMREAD_COLOR)
        rgb_flag = getattr(cv2, 'IMREAD_COLOR_RGB', None)
        if self.to_rgb and rgb_flag is not None:   # OpenCV >= 4.10 decodes into RGB
            return cv2.imdecode(data, (flag & ~cv2.IMREAD_COLOR) | rgb_flag)
        img = cv2.imdecode(data, flag)
        if img is not None and self.to_rgb:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return img

    def _read(self, path, factor, results):
        if not osp.isfile(path):
            raise FileNotFoundError(f'image not found: {path}{_sample_text(results)}')
        data = np.fromfile(path, np.uint8)
        img = None
        if self.decoder == 'auto' and _SIMPLEJPEG is not None and _is_jpeg(data):
            try:
                img = self._decode_jpeg(data, factor)
            except ValueError:   # e.g. CMYK or damaged: let OpenCV try
                img = None
        if img is None:
            try:
                img = self._decode_cv2(data, factor)
            except cv2.error:
                img = None
        if img is None or img.size == 0:
            raise OSError(f'cannot decode image {path}{_sample_text(results)}: the file is '
                          'corrupt or not an image')
        return img

    def transform(self, results):
        if results.get('img') is not None and results.get('img_path') is None:
            # an image given as an array (inference): nothing to decode
            results['img_shape'] = results['img'].shape[:2]
            results['img_scale'] = 1.0
            return results
        factor = self._factor(results)
        img = self._read(results['img_path'], factor, results)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['img_scale'] = 1.0 / factor
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(to_rgb={self.to_rgb}, reduce_decode='
                f'{self.reduce_decode}, min_box_scale={self.min_box_scale}, input_size='
                f'{self.input_size}, decoder={self.decoder!r})')


# -------------------------------------------------------------------- TopdownAffine
def _draw_augmentation(scale_factor, rotate_factor, rotate_prob, flip_prob):
    """(box scale s, rotation r degrees, flip bool), one draw."""
    s = np.random.uniform(1.0 - scale_factor, 1.0 + scale_factor)
    r = np.random.uniform(-rotate_factor, rotate_factor) \
        if np.random.rand() < rotate_prob else 0.0
    return float(s), float(r), bool(np.random.rand() < flip_prob)


def _inside(points, size):
    """bool [K]: points [K, 2] inside an output of size (W, H) ([-0.5, W - 0.5))."""
    w, h = size
    x, y = points[:, 0], points[:, 1]
    return (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


@TRANSFORMS.register_module()
class TopdownAffine(BaseTransform):
    """Crop the person box into a fixed-size input with one random affine per sample.

    ``input_size`` (W, H) is the model input (in a config,
    ``input_size=codec['input_size']``; required).
    The box (centre 'center', size 'bbox_size', original image px) is scaled by
    s ~ U[1 - scale_factor, 1 + scale_factor], rotated by r ~ U[-rotate_factor,
    rotate_factor] degrees with probability ``rotate_prob`` (else 0) and mirrored with
    probability ``flip_prob``; ``augment=False`` (validation/test) uses s=1, r=0, no
    flip. The matrix ``affine_matrix(center, bbox_size·s, input_size, r, flip)`` is
    applied once with cv2.warpAffine (bilinear, black outside the image); the flip is
    part of the matrix, the full frame is never flipped or copied. When a
    ``RandomFlip`` ran before (the results hold its 'flip_direction'), its draw
    ('flip') is the flip, in place of this transform's own flip draw, with or without
    ``augment``: two flips never compose, and ``flip_prob`` is then unused.

    ``grid`` places the box on the input's pixels (``hpekit.core.affine.GRIDS``):
    'edges' (hpekit's), or MMPose's 'origin' (its ``TopdownAffine``) and 'corners'
    (``use_udp=True``), for weights trained on MMPose's crops. The codec must use the
    same grid (the heads check it).

    Adds / replaces:
        'img' uint8 [H_in, W_in, 3]; 'affine' float64 [2, 3] original image px → input
        px (img_scale, or the 'img_matrix' of a cached crop, is folded into the warp
        only); 'keypoints_input' float32 [K, 2] input px; 'keypoints_visible' float32
        [K], zeroed for joints outside the input; 'input_size' (W_in, H_in);
        'crop_grid' (``grid``, which ``PackPoseInputs`` always packs); 'flip'
        bool; 'rotation' float degrees; 'box_scale' float s. When flipped,
        'keypoints', 'keypoints_input' and 'keypoints_visible' are permuted with
        'flip_indices' (the mirrored right wrist is the new left wrist), so
        'keypoints' stays the image-px position of each output label:
        ``keypoints_input == apply_affine(keypoints, affine)``.
    """

    sweep_example = dict(cfg=dict(input_size=(32, 24)), results='image')

    def __init__(self, input_size=None, scale_factor=0.25, rotate_factor=30,
                 rotate_prob=0.6, flip_prob=0.5, augment=True, grid='edges'):
        if input_size is None:
            raise codec_not_set('input_size', 'TopdownAffine')
        self.input_size = _pair(input_size, 'input_size')
        self.grid = check_grid(grid)
        for name, value in (('rotate_prob', rotate_prob), ('flip_prob', flip_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        if not 0.0 <= scale_factor < 1.0 or rotate_factor < 0:
            raise ValueError(f'need 0 <= scale_factor < 1 and rotate_factor >= 0, got '
                             f'{scale_factor}, {rotate_factor}')
        self.scale_factor, self.rotate_factor = scale_factor, rotate_factor
        self.rotate_prob, self.flip_prob, self.augment = rotate_prob, flip_prob, augment

    def _params(self):
        if not self.augment:
            return 1.0, 0.0, False
        return _draw_augmentation(self.scale_factor, self.rotate_factor, self.rotate_prob,
                                  self.flip_prob)

    def _warp(self, img, matrix, img_scale, img_matrix=None):
        """Warp the (possibly reduced or cropped) image with an original-px → input
        matrix; ``img_matrix`` (original px → img px, from ``LoadPersonCrop``) replaces
        the reduction of ``img_scale`` when given."""
        to_img = reduced_image_matrix(img_scale) if img_matrix is None else img_matrix
        to_original = invert_affine(to_img)
        warp = matrix @ np.vstack([to_original, [0.0, 0.0, 1.0]])
        return cv2.warpAffine(img, warp, self.input_size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def transform(self, results):
        s, r, flip = self._params()
        if RandomFlip.DRAWN_KEY in results:   # a RandomFlip before this one drew it
            flip = bool(results['flip'])
        size = np.asarray(results['bbox_size'], np.float64) * s
        matrix = affine_matrix(results['center'], size, self.input_size, rotation=r,
                               flip=flip, grid=self.grid)
        results['img'] = self._warp(results['img'], matrix, results.get('img_scale', 1.0),
                                    results.get('img_matrix'))
        results.update(affine=matrix, input_size=self.input_size, flip=flip, rotation=r,
                       box_scale=s, crop_grid=self.grid)
        if 'keypoints' in results:
            self._keypoints(results, matrix, flip)
        return results

    def _keypoints(self, results, matrix, flip):
        """Map keypoints into the input, permute when flipped, zero visibility outside."""
        keypoints = np.asarray(results['keypoints'], np.float32)
        visible = np.asarray(results.get('keypoints_visible', np.ones(len(keypoints))),
                             np.float32)
        if flip:
            order = list(results['flip_indices'])
            keypoints, visible = keypoints[order], visible[order]
        inputs = apply_affine(keypoints, matrix)
        results['keypoints'] = keypoints
        results['keypoints_input'] = inputs.astype(np.float32)
        results['keypoints_visible'] = visible * _inside(inputs, self.input_size)

    def __repr__(self):
        return (f'{self.__class__.__name__}(input_size={self.input_size}, scale_factor='
                f'{self.scale_factor}, rotate_factor={self.rotate_factor}, rotate_prob='
                f'{self.rotate_prob}, flip_prob={self.flip_prob}, augment={self.augment})')


# ----------------------------------------------------------------------- RandomFlip
@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """MMPose's ``RandomFlip`` step of a top-down pipeline: a left-right flip of the
    person, keypoints included.

    ``dict(type='RandomFlip', direction='horizontal')`` in a pipeline used to find
    mmcv's image-only ``RandomFlip`` (hpekit's TRANSFORMS is a child of mmengine's root
    registry, where mmcv registers it): the image flipped, the keypoints did not, and
    the labels were silently wrong. This class takes the name in hpekit's scope.

    With probability ``prob`` it draws a flip and records it as MMPose does: 'flip'
    (bool) and 'flip_direction' ('horizontal', or None when not flipped). It moves no
    pixel and no coordinate itself: the following ``TopdownAffine`` applies the flip
    as part of its one crop matrix (``affine_matrix(..., flip=True)``: the crop is
    mirrored about the box centre, 'keypoints' and 'keypoints_visible' are permuted
    with 'flip_indices'), in place of its own ``flip_prob`` draw. Why it delegates
    rather than flipping the image and keypoints itself:

    - exact on every grid: pixels and keypoints go through the same matrix, so
      ``keypoints_input == apply_affine(keypoints, affine)`` always holds. (On
      hpekit's grid the crop of a mirrored image x → W−1−x around the mirrored box
      centre is exactly this mirrored crop, x_in → W_in−1−x_in; a rotation drawn
      after it comes out mirrored, −r, which has the same distribution);
    - it works before or after ``LoadImage`` (before it there is no image to flip),
      with reduced JPEG decoding (a frame decoded at 1/f flipped in place is not
      x → W−1−x of the original unless f divides W) and with ``LoadPersonCrop``'s
      cached crops (only the person's crop is in memory); no full frame is copied;
    - it cannot flip twice: ``TopdownAffine`` takes this draw *instead of* its own.
      Its ``flip_prob`` is then unused; ``check_config`` refuses a pipeline that sets
      both (an explicit ``flip_prob`` > 0 beside a ``RandomFlip``), one where no
      ``TopdownAffine`` follows the ``RandomFlip``, and a ``RandomFlip`` in a val/test
      pipeline (predictions would come back mirrored; flip test is
      ``model.test_cfg.flip_test``).

    Placed after ``TopdownAffine`` (the results already hold its 'affine') it raises
    ``ValueError``, since its flip could no longer be applied. Draws from numpy's
    global generator, as ``TopdownAffine`` does.

    Args:
        prob (float): probability of a flip, in [0, 1] (MMPose's default 0.5).
        direction (str): 'horizontal' only; MMPose's 'vertical' and 'diagonal' (and
            lists of directions) are refused: a person flipped upside down has no
            ``flip_indices`` to relabel it.
    """

    sweep_example = dict(cfg=dict(prob=1.0), results='image')
    #: The key whose presence tells ``TopdownAffine`` that a RandomFlip drew the flip.
    DRAWN_KEY = 'flip_direction'

    def __init__(self, prob=0.5, direction='horizontal'):
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or \
                not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomFlip: prob must be a number in [0, 1], got {prob!r}')
        if direction != 'horizontal':
            raise ValueError(
                f"RandomFlip: direction must be 'horizontal', got {direction!r}: hpekit "
                "flips keypoint samples left-right only (left and right keypoints swap "
                "through the metainfo's flip_indices; nothing relabels a vertical or "
                'diagonal flip)')
        self.prob, self.direction = float(prob), direction

    def transform(self, results):
        if 'affine' in results:
            raise ValueError(
                f'RandomFlip after TopdownAffine{_sample_text(results)}: the crop is '
                'already made, so the flip would be lost. Put RandomFlip before '
                'TopdownAffine (which applies the flip it draws).')
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        results[self.DRAWN_KEY] = self.direction if flip else None
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(prob={self.prob}, direction={self.direction!r})'


# ------------------------------------------------------------------- RandomHalfBody
def half_body_box(points, padding=1.5, aspect=1.0):
    """Box around points [N, 2] of width/height ``aspect``: (center float32 [2],
    size float32 [2]).

    The points' extent is widened (or heightened) about its middle to ``aspect``, then
    scaled by ``padding``; ``aspect=1`` gives a square of the larger extent × padding.
    """
    low, high = points.min(axis=0), points.max(axis=0)
    width, height = (high - low).astype(np.float64)
    width, height = max(width, height * aspect), max(height, width / aspect)
    size = np.array([width, height], np.float32) * padding
    return ((low + high) / 2).astype(np.float32), size


@TRANSFORMS.register_module()
class RandomHalfBody(BaseTransform):
    """With probability ``prob``, replace the person box by a box around half the body.

    The halves are the dataset metainfo's ``upper_body_ids`` / ``lower_body_ids``,
    which every data info carries (``BasePoseDataset``). Applies only when at least ``min_visible`` joints are visible. The upper or the
    lower body is picked at random (each needs >= 2 visible joints, else the other
    half is used); the new box is ``half_body_box`` of that half's visible joints,
    fitted to the aspect ratio of ``input_size`` (W, H; in a config
    ``input_size=codec['input_size']``, as MMPose refits every box; square when None) and scaled by ``padding``. Replaces 'center' and 'bbox_size' (image px); sets
    'half_body' to 'upper', 'lower' or None. Keypoints are unchanged (joints outside
    the new box are dropped later by ``TopdownAffine``). Runs before TopdownAffine.
    """

    sweep_example = dict(cfg=dict(prob=1.0, min_visible=2), results='image')

    def __init__(self, prob=0.3, min_visible=8, padding=1.5, input_size=None):
        if not 0.0 <= prob <= 1.0 or padding <= 0:
            raise ValueError(f'need prob in [0, 1] and padding > 0, got {prob}, {padding}')
        self.prob, self.min_visible, self.padding = prob, min_visible, padding
        width, height = (1, 1) if input_size is None else _pair(input_size, 'input_size')
        self.aspect = width / height

    @staticmethod
    def _choose(visible, results):
        """('upper' | 'lower', joint ids) of the chosen half, or (None, None)."""
        missing = [k for k in ('upper_body_ids', 'lower_body_ids') if k not in results]
        if missing:
            raise KeyError(f'RandomHalfBody needs {missing} in the results (from the '
                           'dataset metainfo; see hpekit.datasets.BasePoseDataset)')
        halves = {'upper': [j for j in results['upper_body_ids'] if visible[j] > 0],
                  'lower': [j for j in results['lower_body_ids'] if visible[j] > 0]}
        first = 'upper' if np.random.rand() < 0.5 else 'lower'
        for name in (first, 'lower' if first == 'upper' else 'upper'):
            if len(halves[name]) >= 2:
                return name, halves[name]
        return None, None

    def transform(self, results):
        results['half_body'] = None
        visible = np.asarray(results['keypoints_visible'])
        if np.random.rand() >= self.prob or int(np.sum(visible > 0)) < self.min_visible:
            return results
        name, ids = self._choose(visible, results)
        if name is None:
            return results
        center, size = half_body_box(np.asarray(results['keypoints'])[ids], self.padding,
                                     self.aspect)
        if size[0] > 0:
            results.update(center=center, bbox_size=size, half_body=name)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(prob={self.prob}, min_visible='
                f'{self.min_visible}, padding={self.padding})')


# ------------------------------------------------------------------- PackPoseInputs
def _tensor(array):
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


@TRANSFORMS.register_module()
class PackPoseInputs(BaseTransform):
    """Pack a person crop for the model: the last transform of every top-down pipeline.

    Returns ``{'inputs': torch.uint8 [3, H, W] (contiguous), 'data_samples':
    PoseDataSample}``. The data sample holds, where the results have them (float32
    tensors): ``gt_heatmaps`` [K, H_hm, W_hm] or ``keypoint_x_labels`` [K, W·r] /
    ``keypoint_y_labels`` [K, H·r] (SimCC), ``target_weight`` [K], ``gt_keypoints``
    [K, 2] (0-based original image px, in the output's label order, i.e. permuted
    when flipped) and ``keypoints_visible`` [K]; plus the ``meta_keys`` found in the
    results as metainfo, and always ``crop_grid`` (the keypoints are decoded back to
    the image through the crop it names).
    """

    sweep_example = dict(cfg=dict(), results='crop')
    ALWAYS_META = ('crop_grid',)

    FIELDS = (('heatmaps', 'gt_heatmaps'), ('target_weight', 'target_weight'),
              ('keypoint_x_labels', 'keypoint_x_labels'),
              ('keypoint_y_labels', 'keypoint_y_labels'),
              ('keypoints', 'gt_keypoints'), ('keypoints_visible', 'keypoints_visible'))

    def __init__(self, meta_keys=('sample_idx', 'image_id', 'center', 'bbox_size',
                                  'input_size', 'heatmap_size', 'flip_indices',
                                  'img_scale')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results):
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        keys = self.meta_keys + tuple(k for k in self.ALWAYS_META if k not in self.meta_keys)
        sample = PoseDataSample(metainfo={k: results[k] for k in keys if k in results})
        for key, field in self.FIELDS:
            if key in results:
                sample.set_field(_tensor(results[key]), field)
        return {'inputs': torch.from_numpy(img), 'data_samples': sample}

    def __repr__(self):
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
