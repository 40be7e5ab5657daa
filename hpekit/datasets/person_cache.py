"""Pre-cropped person cache: each person decoded and cropped once, stored compactly.

A top-down training sample reads one person box out of a full image. Decoding the
whole JPEG dominates the pipeline's CPU time (docs/person_cache.md), so
``tools/misc/build_person_cache.py`` decodes each image once and stores, per person,
the crop covering everything the augmentation can ever sample; ``LoadPersonCrop``
(``hpekit.datasets.transforms``) then decodes that small crop instead.

Coverage of one entry (a person box of centre c, size (w, h), original image px):
the box scaled by the largest draw ``1 + scale_factor`` and rotated by up to
``rotate_factor`` degrees, i.e. the axis-aligned box of that rotated rectangle
(``max_extent``), plus ``margin_px`` stored px for bilinear interpolation, clipped to
the image. Besides the full box ('full'), a pipeline with ``RandomHalfBody`` gets one
entry per half it can choose ('upper', 'lower'; the box depends only on the
annotation). Resolution: stored px per original px
``k = min(1, max(W / (w·s0), H / (h·s0)))``, s0 = 1 - scale_factor, (W, H) the model
input, so the smallest box still gets >= 1 stored px per input px (the rule of
``LoadImage``'s reduced decoding), never above the source's.

Files in the cache folder (no pickle anywhere):

- ``index.json``: format version, the settings the crops were made for, the
  annotation file (path, sha256), counts, and the sha256 of ``entries.npz``;
- ``entries.npz``: one row per crop (``ENTRY_FIELDS``);
- ``crops.bin``: the crops' bytes back to back (JPEG, PNG or raw RGB uint8).

A crop relates to original image px by ``img_matrix`` (``crop_matrix``), which
``TopdownAffine`` folds into its single warp; every coordinate in the results stays
in original image px, so the samples equal the uncached pipeline's up to resampling.
"""
import hashlib
import json
import math
import multiprocessing
import os
import os.path as osp
import zlib
from typing import Any, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.datasets.transforms.topdown_transforms import _SIMPLEJPEG, LoadImage, half_body_box

FORMAT_VERSION = 1
INDEX_FILE, ENTRIES_FILE, DATA_FILE = 'index.json', 'entries.npz', 'crops.bin'
ENCODINGS = ('jpeg', 'png', 'raw')
KINDS = ('full', 'upper', 'lower')
# entries.npz: name → (dtype, trailing shape)
ENTRY_FIELDS = {
    'sample_idx': (np.int64, ()),        # the record's position in the annotation file
    'kind': (np.int8, ()),               # index into KINDS
    'image_id': (str, ()),               # the record's image name
    'image_bytes': (np.int64, ()),       # size of the image file when built
    'image_mtime_ns': (np.int64, ()),    # its modification time when built
    'center': (np.float32, (2,)),        # the box the crop was made for, original px
    'bbox_size': (np.float32, (2,)),
    'origin': (np.int64, (2,)),          # (x0, y0): first original px of the crop
    'source_size': (np.int64, (2,)),     # (w, h) original px covered
    'shape': (np.int64, (2,)),           # (h, w) stored px
    'offset': (np.int64, ()),            # byte offset in crops.bin
    'length': (np.int64, ()),            # byte length
    'crc32': (np.int64, ()),             # zlib.crc32 of the bytes
}
BOX_ATOL = 1e-3   # px: a sample's box must equal the entry's box to this


class PersonCacheError(ValueError):
    """A person cache is missing, corrupt, or stale for this data (the message names the
    file and the field or sample, and says how to rebuild)."""


# ------------------------------------------------------------------------ geometry
def max_extent(half_w: float, half_h: float, max_rotation: float) -> float:
    """Largest x half-extent of a (2·half_w × 2·half_h) rectangle rotated by |θ| <=
    ``max_rotation`` degrees: max of ``half_w·|cos θ| + half_h·|sin θ|`` (px).

    (The y half-extent is ``max_extent(half_h, half_w, max_rotation)``.)
    """
    peak = math.atan2(half_h, half_w)             # where the sum is largest, in [0, 90°]
    theta = math.radians(abs(max_rotation))
    if theta >= peak:
        return math.hypot(half_w, half_h)
    return half_w * math.cos(theta) + half_h * math.sin(theta)


def stored_scale(bbox_size, input_size, scale_factor: float) -> float:
    """Stored px per original px: the smallest box draw keeps >= 1 px per input px.

    Args:
        bbox_size: (w, h) of the box, original px.
        input_size: (W, H) of the model input.
        scale_factor (float): the box is scaled by up to ``1 ± scale_factor``.
    """
    w, h = (float(v) * (1.0 - scale_factor) for v in bbox_size)
    return min(1.0, max(input_size[0] / w, input_size[1] / h))


def crop_window(center, bbox_size, image_wh, settings: Dict[str, Any]):
    """The crop of one box: (x0, y0, x1, y1) original px (end exclusive) and the
    stored (w, h).

    ``settings`` holds ``input_size``, ``scale_factor``, ``rotate_factor``,
    ``margin_px`` and ``full_resolution`` (as in a cache's index.json).
    """
    scale = 1.0 if settings['full_resolution'] else \
        stored_scale(bbox_size, settings['input_size'], settings['scale_factor'])
    half_w, half_h = (float(v) * (1.0 + settings['scale_factor']) / 2 for v in bbox_size)
    margin = settings['margin_px'] / scale
    ext_x = max_extent(half_w, half_h, settings['rotate_factor']) + margin
    ext_y = max_extent(half_h, half_w, settings['rotate_factor']) + margin
    x0, x1 = _clip(center[0] - ext_x, center[0] + ext_x, image_wh[0])
    y0, y1 = _clip(center[1] - ext_y, center[1] + ext_y, image_wh[1])
    stored = (min(x1 - x0, math.ceil((x1 - x0) * scale)),
              min(y1 - y0, math.ceil((y1 - y0) * scale)))
    return (x0, y0, x1, y1), stored


def _clip(low, high, size):
    """Integer pixel range [a, b) covering [low, high] within [0, size), never empty."""
    a = min(max(int(math.floor(low)), 0), size - 1)
    b = max(min(int(math.ceil(high)) + 1, size), a + 1)
    return a, b


def crop_matrix(origin, source_size, shape) -> np.ndarray:
    """float64 [2, 3]: original image px → stored crop px.

    The crop of ``source_size`` (w, h) original px from ``origin`` (x0, y0), resized
    edge to edge to ``shape`` (h, w): ``x_s = (x - x0 + 0.5)·(w_s / w) - 0.5``.
    """
    kx, ky = shape[1] / source_size[0], shape[0] / source_size[1]
    return np.array([[kx, 0.0, (0.5 - origin[0]) * kx - 0.5],
                     [0.0, ky, (0.5 - origin[1]) * ky - 0.5]])


def half_body_boxes(info: Dict[str, Any], half_body: Optional[Dict[str, Any]]):
    """{'upper'|'lower': (center, size)}: the boxes ``RandomHalfBody`` can give ``info``.

    ``half_body`` holds RandomHalfBody's ``padding``, ``min_visible`` and ``aspect``;
    None (no RandomHalfBody in the pipeline) gives {}.
    """
    if not half_body:
        return {}
    visible = np.asarray(info['keypoints_visible'])
    if int(np.sum(visible > 0)) < half_body['min_visible']:
        return {}
    boxes = {}
    for kind in ('upper', 'lower'):
        ids = [j for j in info[f'{kind}_body_ids'] if visible[j] > 0]
        if len(ids) < 2:
            continue
        center, size = half_body_box(np.asarray(info['keypoints'])[ids],
                                     half_body['padding'], half_body['aspect'])
        if size[0] > 0:
            boxes[kind] = (center, size)
    return boxes


# ------------------------------------------------------------------------ encoding
def encode_crop(rgb: np.ndarray, encoding: str, quality: int) -> bytes:
    """Bytes of an RGB uint8 [h, w, 3] crop as stored in crops.bin."""
    if encoding == 'raw':
        return np.ascontiguousarray(rgb).tobytes()
    if encoding == 'jpeg':
        if _SIMPLEJPEG is not None:
            return _SIMPLEJPEG.encode_jpeg(np.ascontiguousarray(rgb), quality=quality,
                                           colorspace='RGB', colorsubsampling='420')
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        return cv2.imencode('.jpg', rgb[..., ::-1], params)[1].tobytes()
    return cv2.imencode('.png', rgb[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def decode_crop(data: np.ndarray, encoding: str, shape, to_rgb: bool = True):
    """uint8 [h, w, 3] (RGB or BGR) from a crop's stored bytes, or None if undecodable."""
    if encoding == 'raw':
        if data.size != shape[0] * shape[1] * 3:
            return None
        img = data.reshape(shape[0], shape[1], 3)
        return img if to_rgb else np.ascontiguousarray(img[..., ::-1])
    if encoding == 'jpeg':
        if _SIMPLEJPEG is not None:
            try:
                return _SIMPLEJPEG.decode_jpeg(data, colorspace='RGB' if to_rgb else 'BGR')
            except ValueError:
                return None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img is not None and to_rgb else img


# -------------------------------------------------------------------------- files
def file_sha256(path: str) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def write_cache(out_dir: str, settings: Dict[str, Any], dataset_key: Dict[str, Any],
                entries: Dict[str, np.ndarray], data_path: str) -> str:
    """Write entries.npz and index.json next to ``data_path`` (crops.bin, already
    written); returns the index path. The index is written last: a build that stops
    early leaves no index, so nothing reads its half-written files."""
    entries_path = osp.join(out_dir, ENTRIES_FILE)
    np.savez(entries_path, **entries)
    index = dict(format_version=FORMAT_VERSION, settings=settings, dataset=dataset_key,
                 num_entries=int(len(entries['offset'])),
                 entries_sha256=file_sha256(entries_path),
                 data_bytes=int(os.path.getsize(data_path)),
                 fields={k: list(v[1]) for k, v in ENTRY_FIELDS.items()}, kinds=list(KINDS))
    index_path = osp.join(out_dir, INDEX_FILE)
    with open(index_path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(index, f, indent=1)
    os.replace(index_path + '.tmp', index_path)
    return index_path


class PersonCache:
    """A built cache folder, read-only: checks it once, then serves crops by sample.

    Args:
        cache_dir (str): the folder ``tools/misc/build_person_cache.py`` wrote.

    Raises:
        PersonCacheError: a missing or corrupt file (named, with the field).
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir
        self.index_path = osp.join(cache_dir, INDEX_FILE)
        self.data_path = osp.join(cache_dir, DATA_FILE)
        self.index = self._read_index()
        self.settings = self.index['settings']
        self.entries = self._read_entries()
        keys = self.entries['sample_idx'] * len(KINDS) + self.entries['kind']
        self._order = np.argsort(keys, kind='stable')
        self._keys = keys[self._order]
        self._data = None   # memory map of crops.bin, opened on first use per process

    def _fail(self, path, problem):
        raise PersonCacheError(f'person cache {path}: {problem}; rebuild it with '
                               'python tools/misc/build_person_cache.py CONFIG --out '
                               f'{self.cache_dir}')

    def _read_index(self) -> Dict[str, Any]:
        """index.json, its version and fields checked."""
        if not osp.isfile(self.index_path):
            self._fail(self.index_path, 'not found (no cache here, or its build did not '
                       'finish)')
        try:
            with open(self.index_path, encoding='utf-8') as f:
                index = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            self._fail(self.index_path, f'not valid JSON ({err})')
        if not isinstance(index, dict):
            self._fail(self.index_path, 'expected a JSON object')
        for field in ('format_version', 'settings', 'num_entries', 'entries_sha256',
                      'data_bytes'):
            if field not in index:
                self._fail(self.index_path, f'field {field!r} missing')
        if index['format_version'] != FORMAT_VERSION:
            self._fail(self.index_path, f"field 'format_version' is "
                       f"{index['format_version']!r}, this hpekit reads {FORMAT_VERSION}")
        return index

    def _read_entries(self) -> Dict[str, np.ndarray]:
        """entries.npz, checked against the index's sha256, fields and counts."""
        path = osp.join(self.cache_dir, ENTRIES_FILE)
        if not osp.isfile(path):
            self._fail(path, 'not found')
        if file_sha256(path) != self.index['entries_sha256']:
            self._fail(path, "its sha256 differs from index.json's 'entries_sha256' "
                       '(modified or corrupt)')
        with np.load(path, allow_pickle=False) as npz:
            entries = {k: npz[k] for k in npz.files}
        for field, (_, tail) in ENTRY_FIELDS.items():
            if field not in entries:
                self._fail(path, f'field {field!r} missing')
            if entries[field].shape != (self.index['num_entries'], *tail):
                self._fail(path, f'field {field!r} has shape {entries[field].shape}, '
                           f"expected ({self.index['num_entries']}, *{tail})")
        return entries

    def data(self) -> np.ndarray:
        """crops.bin as a read-only uint8 memory map (opened once per process)."""
        if self._data is None:
            if not osp.isfile(self.data_path):
                self._fail(self.data_path, 'not found')
            size = os.path.getsize(self.data_path)
            if size != self.index['data_bytes']:
                self._fail(self.data_path, f"{size} bytes, index.json's 'data_bytes' says "
                           f"{self.index['data_bytes']} (truncated or replaced)")
            self._data = np.memmap(self.data_path, np.uint8, 'r') if size else \
                np.zeros(0, np.uint8)
        return self._data

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_data'] = None   # a worker process maps the file itself
        return state

    def row(self, sample_idx: int, kind: str) -> Optional[int]:
        """Row of the entry (sample_idx, kind), or None."""
        key = int(sample_idx) * len(KINDS) + KINDS.index(kind)
        pos = int(np.searchsorted(self._keys, key))
        if pos < len(self._keys) and self._keys[pos] == key:
            return int(self._order[pos])
        return None

    def crop(self, row: int, to_rgb: bool = True) -> np.ndarray:
        """The stored crop of a row, uint8 [h, w, 3], its checksum verified."""
        e = self.entries
        start, length = int(e['offset'][row]), int(e['length'][row])
        data = self.data()[start:start + length]
        if data.size != length or zlib.crc32(data) != int(e['crc32'][row]):
            self._fail(self.data_path, f'the bytes of entry {row} (sample_idx '
                       f"{int(e['sample_idx'][row])}) fail their crc32 check (corrupt)")
        img = decode_crop(data, self.settings['encoding'], e['shape'][row], to_rgb)
        if img is None or tuple(img.shape[:2]) != tuple(e['shape'][row]):
            self._fail(self.data_path, f'entry {row} (sample_idx '
                       f"{int(e['sample_idx'][row])}) cannot be decoded as "
                       f"{self.settings['encoding']} of shape {tuple(e['shape'][row])}")
        return img

    def matrix(self, row: int) -> np.ndarray:
        """float64 [2, 3]: original image px → px of ``crop(row)``."""
        e = self.entries
        return crop_matrix(e['origin'][row], e['source_size'][row], e['shape'][row])

    def check_settings(self, expected: Dict[str, Any]) -> None:
        """Refuse a cache made for other augmentation settings than ``expected``."""
        for name, value in expected.items():
            have = self.settings.get(name)
            same = have is not None and np.allclose(np.asarray(have, np.float64),
                                                    np.asarray(value, np.float64))
            if not same:
                self._fail(self.index_path, f'settings.{name} is {have!r} but the pipeline '
                           f'uses {value!r}')

    def check_sample(self, row: int, results: Dict[str, Any], check_image: bool) -> None:
        """Refuse an entry whose image or box differs from the sample's (stale cache)."""
        e = self.entries
        where = f'sample_idx {results.get("sample_idx")} ({KINDS[int(e["kind"][row])]})'
        if 'image_id' in results and str(e['image_id'][row]) != str(results['image_id']):
            self._fail(self.index_path, f'{where}: the cache holds image '
                       f"{str(e['image_id'][row])!r}, the annotations name "
                       f"{results['image_id']!r} (stale: annotations changed)")
        for field in ('center', 'bbox_size'):
            if not np.allclose(e[field][row], results[field], rtol=0, atol=BOX_ATOL):
                self._fail(self.index_path, f'{where}: field {field!r} of the sample is '
                           f'{np.asarray(results[field]).tolist()}, the cache was made for '
                           f'{e[field][row].tolist()} (stale: annotations or half-body '
                           'settings changed)')
        if check_image and results.get('img_path'):
            self._check_image_file(row, results['img_path'], where)

    def _check_image_file(self, row, path, where):
        """The image file's size and mtime must be those it had at build time."""
        try:
            stat = os.stat(path)
        except OSError:
            self._fail(self.index_path, f'{where}: image {path} not found')
        built = (int(self.entries['image_bytes'][row]),
                 int(self.entries['image_mtime_ns'][row]))
        if (stat.st_size, stat.st_mtime_ns) != built:
            self._fail(self.index_path, f'{where}: image {path} changed since the cache '
                       f'was built (size, mtime_ns {stat.st_size}, {stat.st_mtime_ns}; '
                       f'built from {built[0]}, {built[1]}); files copied without their '
                       'times need a rebuild, or check_images=False')


def entry_arrays(rows: Sequence[Dict[str, Any]]) -> Dict[str, np.ndarray]:
    """Column arrays of ``ENTRY_FIELDS`` from per-crop dicts (for entries.npz)."""
    out = {}
    for field, (dtype, tail) in ENTRY_FIELDS.items():
        values = [row[field] for row in rows]
        if dtype is str:
            out[field] = np.array(values, dtype=str) if values else np.zeros(0, '<U1')
        else:
            out[field] = np.array(values, dtype=dtype).reshape(len(values), *tail)
    return out


def window_entry(info: Dict[str, Any], kind: str, center, size, image_wh,
                 settings: Dict[str, Any]) -> Tuple[Dict[str, Any], Tuple[int, ...]]:
    """(entry dict without offset/length/crc32, (x0, y0, x1, y1)) of one crop."""
    (x0, y0, x1, y1), stored = crop_window(center, size, image_wh, settings)
    entry = dict(sample_idx=int(info['sample_idx']), kind=KINDS.index(kind),
                 image_id=str(info.get('image_id', '')),
                 center=np.asarray(center, np.float32), bbox_size=np.asarray(size, np.float32),
                 origin=(x0, y0), source_size=(x1 - x0, y1 - y0),
                 shape=(stored[1], stored[0]))
    return entry, (x0, y0, x1, y1)


# ------------------------------------------------------------------------ building
LOADERS = ('LoadImage', 'LoadPersonCrop')


def settings_from_pipeline(pipeline: Sequence[Dict[str, Any]], encoding: str = 'jpeg',
                           quality: int = 95, full_resolution: bool = False,
                           margin_px: int = 2) -> Dict[str, Any]:
    """The cache settings a top-down pipeline config (as loaded) needs.

    Reads ``TopdownAffine`` (input_size, scale_factor, rotate_factor; none when
    ``augment=False``) and, when present with ``prob > 0``, ``RandomHalfBody``
    (padding, min_visible, aspect), which must come before the loading transform.

    Raises:
        PersonCacheError: no TopdownAffine or no loader in the pipeline, a
            RandomHalfBody after the loader, or a bad encoding / quality.
    """
    if encoding not in ENCODINGS or not 1 <= int(quality) <= 100:
        raise PersonCacheError(f'encoding must be one of {ENCODINGS} and quality in '
                               f'[1, 100], got {encoding!r}, {quality}')
    types = [t.get('type') for t in pipeline]
    if 'TopdownAffine' not in types or not any(t in LOADERS for t in types):
        raise PersonCacheError(f'the pipeline {types} needs a TopdownAffine and one of '
                               f'{LOADERS} for a person cache')
    affine = dict(pipeline[types.index('TopdownAffine')])
    augment = affine.get('augment', True)
    settings = dict(input_size=list(affine['input_size']),
                    scale_factor=float(affine.get('scale_factor', 0.25)) if augment else 0.0,
                    rotate_factor=float(affine.get('rotate_factor', 30)) if augment else 0.0,
                    half_body=_half_body_settings(pipeline, types), encoding=encoding,
                    quality=int(quality), full_resolution=bool(full_resolution),
                    margin_px=int(margin_px))
    return settings


def _half_body_settings(pipeline, types):
    """RandomHalfBody's box parameters, or None when the pipeline has none active."""
    if 'RandomHalfBody' not in types:
        return None
    pos = types.index('RandomHalfBody')
    loader = min(types.index(t) for t in LOADERS if t in types)
    half = dict(pipeline[pos])
    if float(half.get('prob', 0.3)) <= 0:
        return None
    if pos > loader:
        raise PersonCacheError('RandomHalfBody must come before the loading transform for '
                               'a person cache (the crop is chosen by the final box)')
    size = half.get('input_size')
    return dict(padding=float(half.get('padding', 1.5)),
                min_visible=int(half.get('min_visible', 8)),
                aspect=1.0 if size is None else float(size[0]) / float(size[1]))


def image_crops(infos: Sequence[Dict[str, Any]], settings: Dict[str, Any]):
    """Decode one image once and cut every crop of its people.

    Args:
        infos: data infos of the people of one image (same 'img_path').

    Returns:
        list of (entry dict without offset/length/crc32, bytes).
    """
    path = infos[0]['img_path']
    img = LoadImage(reduce_decode=False)._read(path, 1, infos[0])   # RGB, full size
    stat = os.stat(path)
    image_wh = (img.shape[1], img.shape[0])
    out = []
    for info in infos:
        boxes = dict(full=(info['center'], info['bbox_size']))
        boxes.update(half_body_boxes(info, settings['half_body']))
        for kind, (center, size) in boxes.items():
            entry, (x0, y0, x1, y1) = window_entry(info, kind, center, size, image_wh,
                                                   settings)
            crop = img[y0:y1, x0:x1]
            height, width = entry['shape']
            if (width, height) != (x1 - x0, y1 - y0):
                crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
            entry.update(image_bytes=stat.st_size, image_mtime_ns=stat.st_mtime_ns)
            out.append((entry, encode_crop(crop, settings['encoding'], settings['quality'])))
    return out


def _image_crops_job(args):
    """``image_crops`` for a worker pool (one tuple argument)."""
    return image_crops(*args)


def build_person_cache(dataset, settings: Dict[str, Any], out_dir: str,
                       workers: int = 0, progress: bool = True) -> str:
    """Write the person cache of every record of ``dataset`` into ``out_dir``.

    Args:
        dataset: a top-down dataset (``get_data_info``, ``__len__``; e.g. MPIIDataset).
        settings: from ``settings_from_pipeline``.
        workers (int): processes that decode and encode (0: this one).

    Returns:
        str: the path of the index.json written.
    """
    os.makedirs(out_dir, exist_ok=True)
    index_path = osp.join(out_dir, INDEX_FILE)
    if osp.exists(index_path):
        os.remove(index_path)   # an interrupted rebuild must not look valid
    groups: Dict[str, list] = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        groups.setdefault(info['img_path'], []).append(info)
    jobs = [(infos, settings) for infos in groups.values()]
    data_path = osp.join(out_dir, DATA_FILE)
    rows = _write_crops(jobs, data_path, workers, progress)
    ann_file = getattr(dataset, 'ann_file', '')
    dataset_key = dict(type=type(dataset).__name__, ann_file=ann_file,
                       ann_sha256=file_sha256(ann_file) if osp.isfile(ann_file) else None,
                       num_samples=len(dataset), num_images=len(groups))
    return write_cache(out_dir, settings, dataset_key, entry_arrays(rows), data_path)


def _write_crops(jobs, data_path, workers, progress):
    """Append every job's crops to data_path; their entry dicts, completed."""
    bar = ProgressBar(len(jobs)) if progress else None
    rows, offset = [], 0
    pool = None
    if workers > 0:
        pool = multiprocessing.get_context('fork').Pool(workers)
    try:
        results = pool.imap(_image_crops_job, jobs, chunksize=4) if pool else \
            map(_image_crops_job, jobs)
        with open(data_path, 'wb') as f:
            for crops in results:
                for entry, payload in crops:
                    f.write(payload)
                    entry.update(offset=offset, length=len(payload),
                                 crc32=zlib.crc32(payload))
                    offset += len(payload)
                    rows.append(entry)
                if bar is not None:
                    bar.update()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return rows
