"""Check a top-down 2D dataset before training: counts, unreadable and duplicate
images, keypoints outside their image or box, and a picture sheet of samples after
the pipeline with the flip forced on (``tools/misc/check_dataset.py``).

A dataset is any ``BasePoseDataset`` whose data infos carry ``img_path``,
``keypoints`` [K, 2] (0-based image px) and ``keypoints_visible`` [K] (> 0: labelled),
optionally ``bbox`` [4] (x1, y1, x2, y2 image px) or ``center`` / ``bbox_size`` [2]
(the crop box), and ``id`` (the annotation id) — ``CocoDataset``, ``MPIIDataset`` and
a plugin dataset following that contract. Keypoint names and colours come from the
dataset's metainfo.

Everything here returns plain dicts and lists (JSON-ready); nothing is printed except
the progress bar of ``scan_images``.
"""
import contextlib
import copy
import hashlib
import inspect
import json
import os.path as osp
import random
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.datasets.base import build_pipeline
from hpekit.datasets.coco import CocoDataset
from hpekit.fileio import atomic_open
from hpekit.registry import DATASETS
from hpekit.visualization.skeleton2d import draw_pose2d, link_colors

MAX_EXAMPLES = 5       # example records listed per problem kind
PANEL_MIN_HEIGHT = 256  # px: a drawn model input is enlarged to at least this height
TITLE_PX = 22           # the strip above each panel
GAP_PX = 6


class DatasetCheckError(ValueError):
    """The dataset does not follow the top-down 2D contract the check reads (the
    message names the dataset, the sample and the field)."""


# ---------------------------------------------------------------------- building
def _takes(type_name, argument):
    """Whether the DATASETS part ``type_name`` (a name or class) takes ``argument``."""
    cls = type_name if inspect.isclass(type_name) else None
    if cls is None:
        try:
            cls = DATASETS.get(type_name)
        except KeyError:
            return False
    try:
        return argument in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def build_dataset(dataset_cfg: dict) -> Tuple[Optional[Any], List[str], bool]:
    """(the dataset of ``dataset_cfg`` or None, the errors it raised while loading,
    whether it was built again with ``skip_invalid=True``).

    A dataset that refuses missing or unreadable image files when it loads
    (``FileNotFoundError``, e.g. ``CocoDataset`` without ``skip_invalid``) is built
    again with ``skip_invalid=True`` when it takes that argument, so that the rest can
    still be checked; its refusal (which names the files) is returned. None when it
    cannot be built even so (e.g. no annotation file); other errors propagate.
    """
    try:
        return DATASETS.build(dataset_cfg), [], False
    except FileNotFoundError as err:
        errors = [f'FileNotFoundError: {err}']
    if dataset_cfg.get('skip_invalid') or not _takes(dataset_cfg.get('type'),
                                                     'skip_invalid'):
        return None, errors, False
    try:
        return DATASETS.build({**dataset_cfg, 'skip_invalid': True}), errors, True
    except FileNotFoundError as err:
        return None, errors + [f'with skip_invalid=True: FileNotFoundError: {err}'], True


# ---------------------------------------------------------------- samples and images
def _field(info, key, shape, dataset_name, index):
    """``info[key]`` as a float64 array reshaped to ``shape``, or a named error."""
    if key not in info:
        raise DatasetCheckError(f'{dataset_name}: sample {index} has no {key!r}: the check '
                                "reads top-down 2D data infos ('img_path', 'keypoints' "
                                "[K, 2], 'keypoints_visible' [K])")
    value = np.asarray(info[key], np.float64)
    if value.size != int(np.prod(shape)):
        raise DatasetCheckError(f'{dataset_name}: sample {index}: field {key!r} has shape '
                                f'{list(value.shape)}, expected {list(shape)} (K from the '
                                'metainfo)')
    return value.reshape(shape)


def read_samples(dataset: Any) -> List[dict]:
    """The samples of a top-down 2D dataset, in dataset order.

    Returns:
        list of dict(index, img_path str, ann_id (the data info's 'id', or None),
        keypoints float64 [K, 2] image px, labelled bool [K], box float64 [4] x1 y1 x2
        y2 or None, box_kind 'bbox' | 'crop box (center, bbox_size)' | None).

    Raises:
        DatasetCheckError: a data info without 'img_path', 'keypoints' or
            'keypoints_visible', or with a keypoint count other than the metainfo's.
    """
    num = dataset.metainfo['num_keypoints']
    name = type(dataset).__name__
    samples = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if not isinstance(info.get('img_path'), str):
            raise DatasetCheckError(f"{name}: sample {index} has no 'img_path' (a file "
                                    'name): the check reads top-down 2D image datasets')
        keypoints = _field(info, 'keypoints', (num, 2), name, index)
        labelled = _field(info, 'keypoints_visible', (num,), name, index) > 0
        box, kind = None, None
        if info.get('bbox') is not None:
            box, kind = _field(info, 'bbox', (4,), name, index), 'bbox'
        elif info.get('center') is not None and info.get('bbox_size') is not None:
            center = _field(info, 'center', (2,), name, index)
            size = _field(info, 'bbox_size', (2,), name, index)
            box = np.concatenate([center - size / 2, center + size / 2])
            kind = 'crop box (center, bbox_size)'
        samples.append(dict(index=index, img_path=info['img_path'], ann_id=info.get('id'),
                            keypoints=keypoints, labelled=labelled, box=box, box_kind=kind))
    return samples


def coco_visibility(dataset: Any) -> Optional[Dict[Any, np.ndarray]]:
    """{annotation id: COCO visibility flags int [K] (0, 1 or 2)} of a COCO-format
    dataset read from its ground-truth file, or None for any other dataset (and a
    ``CocoDataset`` reading detections, whose samples carry no annotation id)."""
    if not isinstance(dataset, CocoDataset) or dataset.bbox_file:
        return None
    with open(dataset.ann_file, encoding='utf-8') as f:   # checked by the dataset
        annotations = json.load(f)['annotations']
    return {ann['id']: np.asarray(ann['keypoints'], np.float64)[2::3].astype(int)
            for ann in annotations if 'keypoints' in ann}


def _read_image(path) -> Tuple[Optional[bytes], Optional[Tuple[int, int]], Optional[str]]:
    """(file bytes, (W, H), None) of a readable image, else (bytes or None, None, why)."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return None, None, 'missing file'
    except OSError as err:
        return None, None, f'cannot read the file: {err.strerror or err}'
    if not data:
        return data, None, 'empty file'
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        return data, None, 'cannot decode: the file is corrupt or not an image'
    return data, (image.shape[1], image.shape[0]), None


def scan_images(paths: Sequence[str], progress: bool = True) -> dict:
    """Read and decode each image once.

    Args:
        paths: image files (each read once, in this order).
        progress: show mmengine's ProgressBar.

    Returns:
        dict(sizes {path: (W, H) px} of the decodable images, unreadable [{'image',
        'error'}], duplicates [[paths]]: groups of files with the same bytes (SHA-256
        of the content), each group and the groups in first-seen order).
    """
    sizes, unreadable, by_hash = {}, [], {}
    bar = ProgressBar(len(paths)) if progress and paths else None
    for path in paths:
        data, size, error = _read_image(path)
        if data:
            by_hash.setdefault(hashlib.sha256(data).hexdigest(), []).append(path)
        if error:
            unreadable.append(dict(image=path, error=error))
        else:
            sizes[path] = size
        if bar is not None:
            bar.update()
    if bar is not None:
        print(flush=True)   # the bar ends without a newline
    duplicates = [group for group in by_hash.values() if len(group) > 1]
    return dict(sizes=sizes, unreadable=unreadable, duplicates=duplicates)


# ------------------------------------------------------------------------- points
def _outside(points, box):
    """bool [K]: points [K, 2] outside box (x1, y1, x2, y2), or not finite."""
    x, y = points[:, 0], points[:, 1]
    inside = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    return ~inside   # NaN compares False: counted outside


def _point_problem(names, max_examples):
    return dict(count=0, per_keypoint={n: 0 for n in names}, examples=[],
                _max=max_examples)


def _add(problem, sample, k, names, bounds):
    problem['count'] += 1
    problem['per_keypoint'][names[k]] += 1
    if len(problem['examples']) < problem['_max']:
        problem['examples'].append(dict(
            image=sample['img_path'], annotation_id=sample['ann_id'],
            sample_idx=sample['index'], keypoint=names[k],
            xy=[round(float(v), 2) for v in sample['keypoints'][k]],
            bounds=[round(float(v), 2) for v in bounds]))


def point_problems(samples: Sequence[dict], sizes: Dict[str, Tuple[int, int]],
                   names: Sequence[str], max_examples: int = MAX_EXAMPLES) -> dict:
    """Labelled keypoints outside their image ([0, W] × [0, H]) or their person box.

    Args:
        samples: ``read_samples``' dicts.
        sizes: {image path: (W, H)}; a sample whose image is not in it is not
            checked against the image (counted in ``unchecked_samples``).
        names: the K keypoint names.
        max_examples: example records kept per kind.

    Returns:
        dict(out_of_image, out_of_box: each dict(count, per_keypoint {name: n},
        examples [{'image', 'annotation_id', 'sample_idx', 'keypoint', 'xy',
        'bounds' (0, 0, W, H or the box)}]); out_of_box also 'box' (which box was
        used: 'bbox' or the crop box); unchecked_samples int).
    """
    image = _point_problem(names, max_examples)
    box = _point_problem(names, max_examples)
    unchecked, box_kinds = 0, []
    for sample in samples:
        labelled = sample['labelled']
        size = sizes.get(sample['img_path'])
        if size is None:
            unchecked += 1
        else:
            bounds = (0.0, 0.0, float(size[0]), float(size[1]))
            for k in np.flatnonzero(labelled & _outside(sample['keypoints'], bounds)):
                _add(image, sample, k, names, bounds)
        if sample['box'] is not None:
            box_kinds.append(sample['box_kind'])
            for k in np.flatnonzero(labelled & _outside(sample['keypoints'], sample['box'])):
                _add(box, sample, k, names, sample['box'])
    for problem in (image, box):
        del problem['_max']
    box['box'] = sorted(set(box_kinds)) or None
    return dict(out_of_image=image, out_of_box=box, unchecked_samples=unchecked)


# ------------------------------------------------------------------------- report
def keypoint_counts(samples: Sequence[dict], names: Sequence[str],
                    visibility: Optional[Dict[Any, np.ndarray]]) -> List[dict]:
    """Per keypoint: dict(id, name, labelled, visible). ``visible`` counts COCO flags
    v = 2 when ``visibility`` ({annotation id: flags [K]}) is given, else it equals
    ``labelled`` (the dataset does not tell them apart)."""
    labelled = np.zeros(len(names), int)
    visible = np.zeros(len(names), int)
    for sample in samples:
        labelled += sample['labelled']
        flags = None if visibility is None else visibility.get(sample['ann_id'])
        visible += sample['labelled'] if flags is None else (flags == 2)
    return [dict(id=k, name=n, labelled=int(labelled[k]), visible=int(visible[k]))
            for k, n in enumerate(names)]


def check_dataset(dataset: Any, progress: bool = True,
                  max_examples: int = MAX_EXAMPLES) -> dict:
    """Counts and problems of one top-down 2D dataset.

    Args:
        dataset: a built dataset (see the module doc for the data infos it needs).
        progress: show a progress bar while the images are read.
        max_examples: example records kept per problem kind.

    Returns:
        dict(dataset (class name), ann_file, num_keypoints K, images (distinct image
        files of the samples), people (samples), labelled_keypoints,
        visible_keypoints, visible_from (what 'visible' counts), keypoints [{'id',
        'name', 'labelled', 'visible', 'out_of_image', 'out_of_box'}],
        unreadable_images [{'image', 'error', 'samples'}], duplicate_images
        [[paths]], out_of_image, out_of_box, unchecked_samples (see
        ``point_problems``)).

    Raises:
        DatasetCheckError: the data infos do not follow the contract.
    """
    meta = dataset.metainfo
    names = [meta['keypoint_id2name'][k] for k in range(meta['num_keypoints'])]
    samples = read_samples(dataset)
    paths = list(dict.fromkeys(s['img_path'] for s in samples))
    images = scan_images(paths, progress)
    per_image = {}
    for sample in samples:
        per_image[sample['img_path']] = per_image.get(sample['img_path'], 0) + 1
    for record in images['unreadable']:
        record['samples'] = per_image[record['image']]
    points = point_problems(samples, images['sizes'], names, max_examples)
    visibility = coco_visibility(dataset)
    table = keypoint_counts(samples, names, visibility)
    for row in table:
        row['out_of_image'] = points['out_of_image']['per_keypoint'][row['name']]
        row['out_of_box'] = points['out_of_box']['per_keypoint'][row['name']]
    return dict(
        dataset=type(dataset).__name__, ann_file=getattr(dataset, 'ann_file', None),
        num_keypoints=len(names), images=len(paths), people=len(samples),
        labelled_keypoints=sum(r['labelled'] for r in table),
        visible_keypoints=sum(r['visible'] for r in table),
        visible_from=('COCO visibility flag v = 2' if visibility is not None else
                      'keypoints_visible (the dataset does not tell labelled from '
                      'visible)'),
        keypoints=table, unreadable_images=images['unreadable'],
        duplicate_images=images['duplicates'], **points)


# -------------------------------------------------------------------- the sheet
def _type_name(step):
    kind = step.get('type')
    return getattr(kind, '__name__', kind)


def force_flip(pipeline: Sequence[dict], flip: bool) -> List[dict]:
    """A copy of a top-down pipeline config whose horizontal flip always (``flip``) or
    never happens: ``RandomFlip``'s ``prob`` set to 1 / 0, or, without a
    ``RandomFlip``, ``TopdownAffine``'s ``flip_prob`` (a TopdownAffine with
    ``augment=False``, as in a val pipeline, then augments with the flip only: box
    scale 1, no rotation). Other steps are unchanged.

    Raises:
        DatasetCheckError: the pipeline has neither step (nothing to flip).
    """
    steps = [dict(copy.deepcopy(step)) for step in pipeline]
    names = [_type_name(step) for step in steps]
    if 'RandomFlip' in names:
        for step, name in zip(steps, names):
            if name == 'RandomFlip':
                step['prob'] = 1.0 if flip else 0.0
    elif 'TopdownAffine' in names:
        for step, name in zip(steps, names):
            if name == 'TopdownAffine':
                if not step.get('augment', True):
                    step.update(augment=True, scale_factor=0.0, rotate_factor=0)
                step['flip_prob'] = 1.0 if flip else 0.0
    else:
        raise DatasetCheckError(f'the pipeline {names} has no RandomFlip or TopdownAffine: '
                                'the check draws top-down samples with the flip forced on')
    return steps


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global generators for the block, then restore them."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def run_pipeline(transforms: Sequence, info: dict) -> dict:
    """``info`` through the transforms up to (not including) the first ``Pack*`` one.

    Raises:
        DatasetCheckError: a transform dropped the sample, or the result has no
            'keypoints_input' (not a top-down pipeline).
    """
    results = dict(info)
    for transform in transforms:
        if type(transform).__name__.startswith('Pack'):
            break
        results = transform(results)
        if results is None:
            raise DatasetCheckError(f'{type(transform).__name__} dropped the sample')
    if 'keypoints_input' not in results or 'img' not in results:
        raise DatasetCheckError("the pipeline gives no 'img' and 'keypoints_input' "
                                '(top-down pipelines: TopdownAffine)')
    return results


def draw_named_pose(image: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                    meta: dict, min_height: int = PANEL_MIN_HEIGHT) -> np.ndarray:
    """One pose drawn with the metainfo's colours and each keypoint's name.

    Args:
        image: uint8 [H, W, 3] RGB.
        keypoints: [K, 2] px of ``image``.
        visible: [K]; keypoints with 0 are not drawn.
        meta: parsed metainfo (``skeleton_links``, ``skeleton_link_colors``,
            ``keypoint_colors``, ``keypoint_id2name``).
        min_height: the image is enlarged by the smallest whole factor that reaches it
            (so names stay readable on small model inputs).

    Returns:
        uint8 [f·H, f·W, 3] RGB: bones in the link colours, dots in the keypoint
        colours (black outline), names beside the dots.
    """
    factor = max(1, -(-min_height // image.shape[0]))
    big = cv2.resize(image, (image.shape[1] * factor, image.shape[0] * factor),
                     interpolation=cv2.INTER_LINEAR) if factor > 1 else image.copy()
    points = (np.asarray(keypoints, np.float64) + 0.5) * factor - 0.5
    shown = np.asarray(visible).reshape(-1) > 0
    out = draw_pose2d(big, points, meta['skeleton_links'], visible=shown.astype(float),
                      colors=link_colors(meta), outline=(0, 0, 0), thickness=2, radius=3)
    colors = np.asarray(meta['keypoint_colors']).reshape(-1, 3)
    for k in np.flatnonzero(shown & np.all(np.isfinite(points), axis=1)):
        x, y = (int(round(v)) for v in points[k])
        color = tuple(int(c) for c in colors[k])
        cv2.circle(out, (x, y), 4, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(out, (x, y), 3, color, -1, cv2.LINE_AA)
        _label(out, meta['keypoint_id2name'][k], (x + 5, y - 3), color)
    return out


def _label(image, text, origin, color):
    """Small text with a black outline at ``origin`` (baseline-left), in place."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.35
    cv2.putText(image, text, origin, font, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, font, scale, color, 1, cv2.LINE_AA)


def flip_panels(dataset: Any, pipeline: Sequence[dict], indices: Sequence[int],
                seed: int = 0) -> Tuple[List[Tuple[str, np.ndarray]], List[dict]]:
    """Each sample after the pipeline twice, flip forced off and on, with the same
    random draws otherwise (same seed), drawn by ``draw_named_pose``.

    Returns:
        (panels [(title, uint8 RGB image)], two per drawn sample, errors
        [{'sample_idx', 'image', 'error'}] for samples the pipeline failed on).
    """
    plain = build_pipeline(force_flip(pipeline, False))
    flipped = build_pipeline(force_flip(pipeline, True))
    panels, errors = [], []
    for index in indices:
        info = dataset.get_data_info(index)
        name = f"#{info.get('sample_idx', index)} {osp.basename(info['img_path'])}"
        try:
            pair = []
            for transforms, label in ((plain, 'no flip'), (flipped, 'FLIPPED')):
                with _seeded(seed + index):
                    results = run_pipeline(transforms, info)
                pair.append((f'{name} {label}', draw_named_pose(
                    results['img'], results['keypoints_input'],
                    results['keypoints_visible'], dataset.metainfo)))
        except (DatasetCheckError, OSError, ValueError, KeyError) as err:
            errors.append(dict(sample_idx=index, image=info['img_path'],
                               error=f'{type(err).__name__}: {err}'))
            continue
        panels += pair
    return panels, errors


def render_sheet(panels: Sequence[Tuple[str, np.ndarray]], title: str = '',
                 ncols: int = 4) -> np.ndarray:
    """Panels in a grid on white, each under its title: uint8 RGB; panel i at row
    i // ncols, column i % ncols; cells as large as the largest panel."""
    if not panels:
        raise ValueError('render_sheet needs at least one panel')
    ncols = max(1, min(ncols, len(panels)))
    nrows = -(-len(panels) // ncols)
    cell_h = max(p.shape[0] for _, p in panels)
    cell_w = max(p.shape[1] for _, p in panels)
    top = TITLE_PX if title else 0
    sheet = np.full((top + nrows * (TITLE_PX + cell_h + GAP_PX),
                     ncols * (cell_w + GAP_PX) - GAP_PX, 3), 255, np.uint8)
    if title:
        _text(sheet, title, 4, TITLE_PX - 7, sheet.shape[1] - 8)
    for i, (name, panel) in enumerate(panels):
        x0 = (i % ncols) * (cell_w + GAP_PX)
        y0 = top + (i // ncols) * (TITLE_PX + cell_h + GAP_PX) + TITLE_PX
        sheet[y0:y0 + panel.shape[0], x0:x0 + panel.shape[1]] = panel
        _text(sheet, name, x0 + 2, y0 - 6, cell_w - 4)
    return sheet


def _text(image, text, x, baseline, width):
    """Black text at (x, baseline), shrunk to fit ``width`` px, in place."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    text_width = cv2.getTextSize(text, font, scale, 1)[0][0]
    if text_width > width:
        scale = max(0.25, scale * width / text_width)
    cv2.putText(image, text, (x, baseline), font, scale, (0, 0, 0), 1, cv2.LINE_AA)


SHEET_TITLE = ('after the pipeline: each sample without and with the flip. A correct '
               'flip map keeps every name on the same body side in both')


def write_flip_sheet(dataset: Any, pipeline: Sequence[dict], out_file: str,
                     num: int = 8, skip: Sequence[str] = (), seed: int = 0) -> dict:
    """Draw ``num`` samples (evenly spread over the dataset; none whose image is in
    ``skip``) after ``pipeline`` without and with the flip, into one JPEG picture.

    Returns:
        dict(file (``out_file``, or None when no sample could be drawn), samples
        [indices drawn], pipeline_errors [{'sample_idx', 'image', 'error'}]).
    """
    skip = set(skip)
    usable = [i for i in range(len(dataset))
              if not skip or dataset.get_data_info(i)['img_path'] not in skip]
    picks = sorted({usable[int(round(p))] for p in
                    np.linspace(0, len(usable) - 1, min(num, len(usable)))}) \
        if usable and num > 0 else []
    panels, errors = flip_panels(dataset, pipeline, picks, seed)
    drawn = sorted(set(picks) - {e['sample_idx'] for e in errors})
    if not panels:
        return dict(file=None, samples=[], pipeline_errors=errors)
    sheet = render_sheet(panels, SHEET_TITLE, ncols=4)
    ok, encoded = cv2.imencode('.jpg', cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise OSError(f'cannot encode the picture sheet {out_file}')
    with atomic_open(out_file, 'wb') as f:
        f.write(encoded.tobytes())
    return dict(file=out_file, samples=drawn, pipeline_errors=errors)


# ------------------------------------------------------------------------ text
def _rows(header, rows):
    """Lines of a plain text table (columns left-aligned, widths from the content)."""
    table = [header] + [[str(v) for v in row] for row in rows]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    lines = ['  '.join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return lines


def _listed(items, limit=10):
    items = list(items)
    more = [f'    … and {len(items) - limit} more'] if len(items) > limit else []
    return [f'    {item}' for item in items[:limit]] + more


def format_phase(phase: str, result: dict) -> str:
    """A readable report of one ``check_dataset`` result (plus 'load_errors' and
    'rebuilt_with_skip_invalid' of ``build_dataset``): counts, the per-keypoint table
    and each problem with a few examples."""
    lines = [f'== {phase}: {result["dataset"]} {result.get("ann_file") or ""}'.rstrip()]
    for error in result.get('load_errors', ()):
        lines.append(f'ERROR while loading: {error}')
    if result.get('rebuilt_with_skip_invalid') and 'keypoints' in result:
        lines.append('note: built again with skip_invalid=True to check the rest')
    if 'keypoints' not in result:
        return '\n'.join(lines + ['(not checked: the dataset could not be built)'])
    lines += [f'images {result["images"]}, people {result["people"]}, keypoints '
             f'{result["num_keypoints"]}: labelled {result["labelled_keypoints"]}, '
             f'visible {result["visible_keypoints"]} (visible: {result["visible_from"]})']
    lines += _rows(['id', 'keypoint', 'labelled', 'visible', 'out of image', 'out of box'],
                   [[r['id'], r['name'], r['labelled'], r['visible'], r['out_of_image'],
                     r['out_of_box']] for r in result['keypoints']])
    bad = result['unreadable_images']
    if bad:
        lines.append(f'ERROR: {len(bad)} image(s) cannot be read:')
        lines += _listed(f'{b["image"]}: {b["error"]} ({b["samples"]} people)' for b in bad)
    for key, what in (('out_of_image', 'outside their image [0, W] x [0, H]'),
                      ('out_of_box', 'outside their person box')):
        problem = result[key]
        if problem['count']:
            box = f' ({", ".join(problem["box"])})' if problem.get('box') else ''
            lines.append(f'WARNING: {problem["count"]} labelled keypoint(s) {what}{box}; '
                         'e.g.')
            lines += _listed(f'{e["image"]} annotation {e["annotation_id"]} (sample '
                             f'{e["sample_idx"]}): {e["keypoint"]} at {e["xy"]}, bounds '
                             f'{e["bounds"]}' for e in problem['examples'])
    if result['unchecked_samples']:
        lines.append(f'note: {result["unchecked_samples"]} people on unreadable images '
                     'were not checked against their image size')
    dups = result['duplicate_images']
    if dups:
        lines.append(f'WARNING: {len(dups)} group(s) of duplicate images (same bytes):')
        lines += _listed(' = '.join(group) for group in dups)
    return '\n'.join(lines)
