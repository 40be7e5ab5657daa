"""The person cache (tools/misc/build_person_cache.py + LoadPersonCrop): the cached
pipeline gives the uncached pipeline's samples, a stale or corrupt cache is refused
naming the file, and training runs from a cache."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hpekit.datasets import MPIIDataset
from hpekit.datasets import person_cache as pc
from hpekit.datasets.transforms import topdown_transforms as tt
from hpekit.registry import TRANSFORMS
from hpekit.utils import register_all_modules

register_all_modules()
ROOT = Path(__file__).resolve().parents[2]
INPUT = (64, 64)
CODEC = dict(type='MSRAHeatmap', input_size=INPUT, heatmap_size=(16, 16), sigma=1)
IMAGE_WH = (240, 180)
# (center x, y, scale) in 1-based px: middle, corners, half outside, large and small
PEOPLE = [(120, 90, 0.5), (8, 6, 0.4), (235, 176, 0.6), (-20, 90, 0.5), (120, 90, 0.8),
          (60, 120, 0.3), (200, 40, 0.7)]


def _image(rng):
    """A textured RGB image (smooth blobs + noise), so uncovered pixels would show."""
    small = rng.integers(0, 256, (9, 12, 3)).astype(np.uint8)
    img = cv2.resize(small, IMAGE_WH, interpolation=cv2.INTER_CUBIC)
    return np.clip(img + rng.integers(-40, 40, img.shape), 0, 255).astype(np.uint8)


def _record(rng, name, cx, cy, scale):
    side = scale * 250
    joints = np.array([cx, cy]) + rng.uniform(-0.35, 0.35, (16, 2)) * side
    return dict(image=name, center=[cx, cy], scale=scale, joints=joints.tolist(),
                joints_vis=(rng.random(16) < 0.85).astype(int).tolist())


@pytest.fixture
def data_root(tmp_path):
    """Two lossless (PNG) images with people near edges and corners, an MPII JSON."""
    rng = np.random.default_rng(0)
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotations').mkdir()
    records = []
    for k in range(2):
        name = f'img_{k}.png'
        cv2.imwrite(str(tmp_path / 'images' / name), _image(rng))
        records += [_record(rng, name, *person) for person in PEOPLE]
    (tmp_path / 'annotations' / 'mpii_train.json').write_text(json.dumps(records))
    return tmp_path


def _dataset(root):
    return MPIIDataset(data_root=str(root), ann_file='annotations/mpii_train.json')


def _pipeline(loader, half_prob=0.5, rotate_prob=0.6, flip_prob=0.5):
    """The top-down training pipeline (as configs), the given loading transform."""
    return [dict(type='RandomHalfBody', prob=half_prob, min_visible=6, input_size=INPUT),
            loader,
            dict(type='TopdownAffine', input_size=INPUT, scale_factor=0.25,
                 rotate_factor=30, rotate_prob=rotate_prob, flip_prob=flip_prob),
            dict(type='GenerateTarget', encoder=CODEC)]


def _build(root, out, **options):
    """Build the cache of the dataset at ``root`` for ``_pipeline`` into ``out``."""
    settings = pc.settings_from_pipeline(_pipeline(dict(type='LoadImage')), **options)
    pc.build_person_cache(_dataset(root), settings, str(out), progress=False)
    return out


def _run(pipeline, info, seed):
    np.random.seed(seed)
    results = dict(info)
    for cfg in pipeline:
        results = TRANSFORMS.build(cfg)(results)
    return results


def _compare(dataset, uncached, cached, seeds, image_check):
    """Run both pipelines on every sample with each seed; labels must agree."""
    half_bodies = set()
    for idx in range(len(dataset)):
        for seed in seeds:
            a = _run(uncached, dataset.get_data_info(idx), seed)
            b = _run(cached, dataset.get_data_info(idx), seed)
            assert a['half_body'] == b['half_body'] and a['flip'] == b['flip']
            half_bodies.add(a['half_body'])
            np.testing.assert_allclose(b['affine'], a['affine'], atol=1e-9)
            np.testing.assert_allclose(b['keypoints_input'], a['keypoints_input'], atol=1e-4)
            np.testing.assert_array_equal(b['keypoints'], a['keypoints'])
            np.testing.assert_array_equal(b['keypoints_visible'], a['keypoints_visible'])
            np.testing.assert_allclose(b['heatmaps'], a['heatmaps'], atol=1e-5)
            np.testing.assert_array_equal(b['target_weight'], a['target_weight'])
            image_check(a['img'].astype(int), b['img'].astype(int))
    return half_bodies


EXTREMES = [(1.25, 30.0, False), (1.25, -30.0, True), (0.75, 30.0, True),
            (0.75, 0.0, False), (1.0, -17.0, True)]


@pytest.mark.parametrize('draw', EXTREMES, ids=[f's{s}_r{r}_flip{f}' for s, r, f in EXTREMES])
def test_lossless_cache_gives_the_uncached_samples(tmp_path, data_root, monkeypatch, draw):
    """PNG at source resolution: labels to 1e-4 px, pixels equal but for bilinear
    rounding (|Δ| <= 1 grey level on <= 0.5 % of pixels) at the extreme scale, rotation
    and flip draws, with and without half-body boxes."""
    cache = _build(data_root, tmp_path / 'cache', encoding='png', full_resolution=True)
    monkeypatch.setattr(tt, '_draw_augmentation', lambda *args: draw)

    def same_pixels(a, b):
        diff = np.abs(a - b)
        assert diff.max() <= 1 and np.mean(diff > 0) <= 0.005

    uncached = _pipeline(dict(type='LoadImage', reduce_decode=False))
    cached = _pipeline(dict(type='LoadPersonCrop', cache_dir=str(cache), input_size=INPUT))
    halves = _compare(_dataset(data_root), uncached, cached, range(3), same_pixels)
    assert halves == {None, 'upper', 'lower'}


def test_default_cache_keeps_the_random_draws_and_labels(tmp_path, data_root):
    """JPEG q95, downsampled to the smallest draw's resolution, real random draws:
    the same augmentation (the cache draws no random numbers) and labels; pixels
    within resampling + JPEG tolerance: after a Gaussian blur of σ 1.5 input px, mean
    |Δ| < 3 grey levels (measured 1.0 on average, 2.2 at most; unblurred 5.7 on this
    per-pixel noise, which bilinear sampling of the full image aliases and the
    cache's area-downsampled crop averages)."""
    cache = _build(data_root, tmp_path / 'cache')
    entries = pc.PersonCache(str(cache)).entries
    assert (entries['shape'] < entries['source_size'][:, ::-1]).any()   # downsampled

    def close_pixels(a, b):
        blur = [cv2.GaussianBlur(x.astype(np.float32), (0, 0), 1.5) for x in (a, b)]
        assert np.mean(np.abs(blur[0] - blur[1])) < 3.0

    uncached = _pipeline(dict(type='LoadImage', input_size=INPUT, min_box_scale=0.75))
    cached = _pipeline(dict(type='LoadPersonCrop', cache_dir=str(cache), input_size=INPUT))
    assert _compare(_dataset(data_root), uncached, cached, range(4), close_pixels) == \
        {None, 'upper', 'lower'}


def test_crop_window_covers_every_draw_and_respects_the_resolution_rule():
    settings = dict(input_size=[64, 64], scale_factor=0.25, rotate_factor=30.0,
                    margin_px=2, full_resolution=False)
    (x0, y0, x1, y1), (w, h) = pc.crop_window((500.0, 400.0), (200.0, 100.0), (1000, 800),
                                              settings)
    for r in np.linspace(-30, 30, 13):   # the box at the largest scale, every rotation
        corners = np.array([[-125, -62.5], [125, -62.5], [125, 62.5], [-125, 62.5]])
        t = np.deg2rad(r)
        rotated = corners @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        points = rotated + (500, 400)
        assert (points[:, 0] > x0).all() and (points[:, 0] < x1 - 1).all()
        assert (points[:, 1] > y0).all() and (points[:, 1] < y1 - 1).all()
    # the smallest box draw (0.75 · 100 px high) keeps >= 1 stored px per input px
    assert (h / (y1 - y0)) * 0.75 * 100 >= 64 and w <= x1 - x0
    assert pc.max_extent(3.0, 4.0, 90) == pytest.approx(5.0)
    assert pc.max_extent(3.0, 4.0, 0) == pytest.approx(3.0)


# ------------------------------------------------------------------ refusals
def _load(cache, info, **options):
    loader = TRANSFORMS.build(dict(type='LoadPersonCrop', cache_dir=str(cache),
                                   input_size=INPUT, **options))
    return loader(dict(info, half_body=None))


def test_stale_annotations_images_and_settings_are_refused(tmp_path, data_root):
    cache = _build(data_root, tmp_path / 'cache')
    info = _dataset(data_root).get_data_info(0)
    assert _load(cache, info)['img'].ndim == 3
    index = str(cache / 'index.json')
    with pytest.raises(pc.PersonCacheError, match=rf"{index}.*'center'.*stale"):
        _load(cache, dict(info, center=info['center'] + 3))
    with pytest.raises(pc.PersonCacheError, match=rf"{index}.*settings.scale_factor"):
        _load(cache, info, scale_factor=0.35)
    with pytest.raises(pc.PersonCacheError, match=rf"{index}.*no 'full' crop"):
        _load(cache, dict(info, sample_idx=999))
    with pytest.raises(pc.PersonCacheError, match="annotations name 'img_1.png' \\(stale"):
        _load(cache, dict(info, image_id='img_1.png'))
    img = cv2.imread(info['img_path'])
    cv2.imwrite(info['img_path'], img[:, :-2])
    with pytest.raises(pc.PersonCacheError, match=rf"{info['img_path']} changed"):
        _load(cache, info)
    assert _load(cache, info, check_images=False)['img'].ndim == 3


def _corrupt(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_or_incomplete_cache_is_refused_naming_the_file(tmp_path, data_root):
    cache = _build(data_root, tmp_path / 'cache')
    info = _dataset(data_root).get_data_info(0)
    _corrupt(cache / 'crops.bin', 100)   # inside the first crop
    with pytest.raises(pc.PersonCacheError, match=rf"{cache / 'crops.bin'}.*crc32"):
        _load(cache, info)
    with open(cache / 'crops.bin', 'ab') as f:
        f.write(b'x')
    with pytest.raises(pc.PersonCacheError, match=rf"{cache / 'crops.bin'}.*bytes"):
        _load(cache, info)
    _corrupt(cache / 'entries.npz', 200)
    with pytest.raises(pc.PersonCacheError, match=rf"{cache / 'entries.npz'}.*sha256"):
        _load(cache, info)
    (cache / 'index.json').write_text('{"format_version": 1, ')
    with pytest.raises(pc.PersonCacheError, match=rf"{cache / 'index.json'}.*not valid JSON"):
        _load(cache, info)
    os.remove(cache / 'index.json')
    with pytest.raises(pc.PersonCacheError, match=rf"{cache / 'index.json'}.*not found"):
        _load(cache, info)


def test_pipeline_order_and_options_are_checked():
    with pytest.raises(pc.PersonCacheError, match='RandomHalfBody must come before'):
        pc.settings_from_pipeline([dict(type='LoadImage'), dict(type='RandomHalfBody'),
                                   dict(type='TopdownAffine', input_size=INPUT)])
    with pytest.raises(pc.PersonCacheError, match='encoding'):
        pc.settings_from_pipeline(_pipeline(dict(type='LoadImage')), encoding='webp')


# -------------------------------------------------------------- end to end
def _tool(path, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / path), *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f'{path}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


def test_training_runs_from_the_cache_without_the_train_images(tmp_path):
    """Build with the tool, delete the train images, train one epoch from the cache
    (in a worker process)."""
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    root = tmp_path / 'mpii'
    write_mpii_split(str(root), num_train=4, num_val=2, image_size=(320, 192), seed=3,
                     progress=False)
    config = ROOT / 'tests' / 'configs' / 'mpii_tiny_personcache.py'
    cache = root / 'person_cache' / 'train'
    options = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    out = _tool('misc/build_person_cache.py', config, '--no-progress', '--preview', '2',
                '--cfg-options', *options)
    assert f'wrote {cache / "index.json"}' in out and len(list((cache / 'preview').iterdir())) == 2
    for image in (root / 'images').glob('train_*'):
        image.unlink()
    gt = root / 'annotations' / 'mpii_gt_val.mat'
    _tool('train.py', config, '--work-dir', tmp_path / 'work', '--cfg-options', *options,
          f'train_dataloader.dataset.pipeline.1.cache_dir={cache}',
          'train_dataloader.dataset.pipeline.1.check_images=False',
          'train_dataloader.num_workers=1', 'train_cfg.max_epochs=1',
          f'val_evaluator.gt_file={gt}', f'test_evaluator.gt_file={gt}')
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    shutil.rmtree(tmp_path / 'work')
