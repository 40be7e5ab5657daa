"""Fast data paths: reduced JPEG decoding keeps crops exact, simplejpeg equals OpenCV,
the shipped MPII configs wire LoadImage to the crop, the colour jitter's single-pass
form equals the step-by-step one, memmap pages are released."""
import pickle

import cv2
import numpy as np
import pytest

from hpekit.config.setup import load_config
from hpekit.datasets.h36m_clips import release_pages
from hpekit.datasets.transforms.clip_transforms import jitter_colours
from hpekit.datasets.transforms.topdown_transforms import (_SIMPLEJPEG, LoadImage, TopdownAffine,
                                                           reduced_decode_factor)


def _scene(width=1280, height=720):
    """A smooth RGB image (low-frequency waves, <= 180) with 3 bright Gaussian dots
    (peak 250, sigma 12 px); the dots' centres (x, y) in 0-based px."""
    ys, xs = np.mgrid[:height, :width].astype(np.float64)
    img = np.stack([120 + 60 * np.sin(xs / 53.0), 110 + 50 * np.cos(ys / 41.0),
                    100 + 40 * np.sin((xs + ys) / 67.0)], axis=-1)
    dots = np.array([[600.3, 300.7], [700.8, 420.2], [540.5, 455.5]])
    for x, y in dots:
        dot = 250 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 12.0 ** 2))
        img = np.maximum(img, dot[..., None])
    return np.clip(img, 0, 255).astype(np.uint8), dots


def _write_jpeg(tmp_path, img):
    path = str(tmp_path / 'scene.jpg')
    cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def _crop(path, load, seed, flip_prob=0.5):
    """Load + one augmented TopdownAffine (random draws fixed by seed) → results."""
    results = {'img_path': path, 'center': np.array([620.0, 380.0], np.float32),
               'bbox_size': np.array([720.0, 720.0], np.float32),
               'keypoints': np.zeros((16, 2), np.float32),
               'keypoints_visible': np.ones(16, np.float32),
               'flip_indices': list(range(16))}
    np.random.seed(seed)
    affine = TopdownAffine(input_size=(128, 128), scale_factor=0.2, rotate_factor=30,
                           rotate_prob=1.0, flip_prob=flip_prob)
    return affine(load(results))


def _dot_centroid(img, near, radius=6):
    """Centroid of the dot's top (weight = min channel - 200, > 0) within radius of near."""
    ys, xs = np.mgrid[:img.shape[0], :img.shape[1]]
    near_mask = (xs - near[0]) ** 2 + (ys - near[1]) ** 2 < radius ** 2
    weight = np.clip(img.min(axis=-1).astype(np.float64) - 200, 0, None) * near_mask
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def test_reduced_decode_factor_hand_computed():
    assert reduced_decode_factor((700, 700), (64, 64), 0.75) == 8      # 525 / 64 = 8.2
    assert reduced_decode_factor((300, 300), (256, 256), 0.75) == 1    # 0.88
    assert reduced_decode_factor((800, 400), (128, 128), 1.0) == 2     # min(6.25, 3.1)
    assert reduced_decode_factor((1024, 1024), (256, 256), 1.0) == 4   # exactly 4


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_crop_from_reduced_decode_matches_full_decode(tmp_path, seed):
    img, dots = _scene()
    path = _write_jpeg(tmp_path, img)
    reduced = _crop(path, LoadImage(input_size=128, min_box_scale=0.8), seed)
    full = _crop(path, LoadImage(reduce_decode=False), seed)
    assert reduced['img_scale'] == 0.25 and full['img_scale'] == 1.0   # 720·0.8/128 = 4.5
    assert reduced['img_shape'] == (180, 320)
    np.testing.assert_array_equal(reduced['affine'], full['affine'])
    # Same crop up to resampling: the smooth image agrees closely...
    diff = np.abs(reduced['img'].astype(np.float64) - full['img'])
    assert diff.mean() < 4.0
    # ...and every dot lands where the affine puts it, in both, within 0.15 input px.
    for dot in dots:
        expected = full['affine'] @ np.append(dot, 1.0)
        if not (8 < expected[0] < 120 and 8 < expected[1] < 120):
            continue
        for results in (reduced, full):
            assert np.linalg.norm(_dot_centroid(results['img'], expected) - expected) < 0.15


def test_wrong_reduced_pixel_convention_would_be_caught(tmp_path):
    """Control for the test above: mapping reduced px as x·s (pixel corners, not
    centres) shifts the dots by about 0.27 input px, beyond its 0.15 tolerance."""
    img, dots = _scene()
    path = _write_jpeg(tmp_path, img)
    results = LoadImage(input_size=128, min_box_scale=0.8)(
        {'img_path': path, 'bbox_size': np.array([720.0, 720.0])})
    matrix = TopdownAffine(input_size=(128, 128), augment=False)
    from hpekit.core import affine_matrix
    m = affine_matrix((620.0, 380.0), (720.0, 720.0), (128, 128))
    wrong = m @ np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 1]])      # x_orig = 4·x_reduced
    crop = cv2.warpAffine(results['img'], wrong, (128, 128), flags=cv2.INTER_LINEAR)
    expected = m @ np.append(dots[0], 1.0)
    assert np.linalg.norm(_dot_centroid(crop, expected) - expected) > 0.2
    assert matrix.input_size == (128, 128)


def test_load_image_uses_input_size_from_results_when_not_configured(tmp_path):
    img, _ = _scene()
    path = _write_jpeg(tmp_path, img)
    info = {'img_path': path, 'bbox_size': np.array([720.0, 720.0])}
    assert LoadImage()(dict(info))['img_scale'] == 1.0                  # no input size
    assert LoadImage()(dict(info, input_size=(128, 128)))['img_scale'] == 0.25
    assert LoadImage(input_size=(128, 128), reduce_decode=False)(dict(info))['img_scale'] == 1


@pytest.mark.skipif(_SIMPLEJPEG is None, reason='simplejpeg not installed')
@pytest.mark.parametrize('factor', [1, 2, 4, 8])
def test_simplejpeg_decodes_like_opencv(tmp_path, factor):
    img, _ = _scene(641, 359)   # odd sizes: partial blocks at the edges
    path = _write_jpeg(tmp_path, img)
    info = {'img_path': path, 'bbox_size': np.array([359.0, 359.0]) * factor,
            'input_size': (359, 359)}
    fast = LoadImage(min_box_scale=1.0)(dict(info))
    slow = LoadImage(min_box_scale=1.0, decoder='cv2')(dict(info))
    assert fast['img_scale'] == slow['img_scale'] == 1.0 / factor
    assert fast['img'].shape == slow['img'].shape == (-(-359 // factor), -(-641 // factor), 3)
    assert np.abs(fast['img'].astype(int) - slow['img']).max() <= 1
    bgr = LoadImage(to_rgb=False, min_box_scale=1.0)(dict(info))['img']
    np.testing.assert_array_equal(bgr, fast['img'][..., ::-1])


def test_load_image_pickles_and_rejects_bad_arguments(tmp_path):
    load = pickle.loads(pickle.dumps(LoadImage(input_size=64)))   # spawn-started workers
    assert load.input_size == (64, 64)
    with pytest.raises(ValueError, match='decoder'):
        LoadImage(decoder='pil')
    with pytest.raises(ValueError, match='input_size'):
        LoadImage(input_size=(0, 64))
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    with pytest.raises(OSError, match='bad.jpg'):
        LoadImage()({'img_path': str(bad)})


MPII_CONFIGS = ['configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py',
                'configs/mpii_hourglass/hg2_synthetic-quick.py',
                'configs/mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py',
                'tests/configs/mpii_tiny.py']


@pytest.mark.parametrize('path', MPII_CONFIGS)
def test_configs_let_load_image_see_the_final_box(path):
    """LoadImage knows the warp's input size (both from the config's codec), comes after
    every box-changing transform and assumes no larger box shrink than TopdownAffine
    can draw."""
    cfg = load_config(path)
    for pipeline in (cfg.train_pipeline, cfg.val_pipeline,
                     cfg.train_dataloader.dataset.pipeline, cfg.val_dataloader.dataset.pipeline):
        types = [t['type'] for t in pipeline]
        load, affine = pipeline[types.index('LoadImage')], pipeline[types.index('TopdownAffine')]
        assert tuple(load['input_size']) == tuple(affine['input_size']) == \
            tuple(cfg.codec['input_size'])
        if 'RandomHalfBody' in types:
            assert types.index('RandomHalfBody') < types.index('LoadImage')
        shrink = 0.0 if affine.get('augment', True) is False else affine.get('scale_factor',
                                                                               0.25)
        assert load.get('min_box_scale', 0.75) <= 1.0 - shrink + 1e-9


def _jitter_step_by_step(frames, b, c, s):
    """The colour jitter as its docstring defines it, one operation at a time."""
    f = frames.astype(np.float64) * b
    g = f @ np.array([0.299, 0.587, 0.114])
    mean = g.mean()
    f, g = (f - mean) * c + mean, (g - mean) * c + mean
    f = (f - g[..., None]) * s + g[..., None]
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


@pytest.mark.parametrize('factors', [(1.1, 0.9, 1.2), (0.8, 1.2, 0.8), (1.0, 1.0, 1.0)])
def test_single_pass_colour_jitter_equals_step_by_step(factors):
    frames = np.random.default_rng(3).integers(0, 256, (3, 20, 30, 3), np.uint8)
    fast = jitter_colours(frames, *factors)
    assert fast.shape == frames.shape and fast.dtype == np.uint8
    assert np.abs(fast.astype(int) - _jitter_step_by_step(frames, *factors)).max() <= 1
    if factors == (1.0, 1.0, 1.0):
        np.testing.assert_array_equal(fast, frames)


def _resident_kib(path):
    """Resident KiB of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    with open('/proc/self/smaps') as f:
        for line in f:
            if line[0] in '0123456789abcdef' and '-' in line.split()[0]:
                inside = line.rstrip().endswith(path)
            elif inside and line.startswith('Rss:'):
                total += int(line.split()[1])
    return total


@pytest.mark.skipif(not __import__('os').path.isdir('/proc/self'), reason='Linux only')
def test_release_pages_drops_read_clips_from_rss(tmp_path):
    path = str(tmp_path / 'clips.npy')
    np.save(path, np.full((16, 64, 1024), 7, np.uint8))   # 16 clips of 64 KiB
    clips = np.load(path, mmap_mode='r')
    for i in range(8):
        np.array(clips[i])
    touched = _resident_kib(path)
    assert touched >= 8 * 64
    for i in range(8):
        release_pages(clips, i)
    assert _resident_kib(path) <= touched - 7 * 64
    np.testing.assert_array_equal(clips[3], 7)           # still readable afterwards
    release_pages(np.zeros((2, 3)), 1)                   # not a memmap: no-op
