"""COCO-format person keypoints, top-down (MMPose's ``CocoDataset`` layout).

File layout under ``data_root`` (real COCO, any dataset in COCO's person-keypoints
JSON, or ``tools/make_synthetic_data.py coco``):

- ``annotations/person_keypoints_{train,val}2017.json``: COCO JSON, a dict with
  ``images`` [{'id', 'file_name', 'width', 'height'}], ``annotations`` [{'id',
  'image_id', 'category_id', 'bbox' [x, y, w, h], 'keypoints' [x, y, v] × K,
  'num_keypoints', 'area', 'iscrowd'}] and ``categories`` [{'id', 'name', ...}];
  K comes from the dataset's metainfo (17 for COCO), v = 0 not labelled, 1 labelled
  but hidden, 2 visible;
- ``{train,val}2017/``: the images (``file_name`` is relative to this folder);
- optionally a detection-results file (``bbox_file``, COCO's results format: a list
  of {'image_id', 'category_id', 'bbox' [x, y, w, h], 'score'}) whose boxes replace
  the ground-truth boxes at test time.

Conventions: keypoints are read unchanged as 0-based image px (hpekit's pixel-centre
convention; COCO states none and MMPose reads them the same way). Boxes are in the
detector convention (the image spans [0, W] × [0, H]). Each box becomes the crop box
of ``TopdownAffine`` as MMPose's ``GetBBoxCenterScale`` + ``TopdownAffine`` make it:
widened or heightened about its centre to the model input's aspect ratio, then
padded by ``bbox_padding`` (1.25), through ``hpekit.core.boxes.boxes_to_center_size``
(the function inference uses, so evaluation and inference crop alike).

Parsing uses ``pycocotools`` (``pip install hpekit[coco]``); the JSON is checked
first so that a malformed file fails with its file, record and field named.
"""
import contextlib
import io
import json
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log

from hpekit.core.boxes import BOX_PADDING, crop_boxes, xywh_to_xyxy
from hpekit.datasets.base import BasePoseDataset, build_pipeline
from hpekit.datasets.skipping import MAX_LISTED, report_skipped, report_undecodable
from hpekit.registry import DATASETS

COCO_METAINFO_FILE = 'configs/_base_/datasets/coco.py'
MAKE_SYNTHETIC_CMD = 'python tools/make_synthetic_data.py coco --out {root}'


class CocoAnnotationError(ValueError):
    """A COCO JSON or detection-results file is malformed (file, record and field named)."""


def _require_pycocotools():
    try:
        from pycocotools.coco import COCO  # optional dependency (extra "coco")
    except ImportError:
        raise ImportError('COCO-format data needs pycocotools: pip install pycocotools '
                          "(or pip install 'hpekit[coco]')") from None
    return COCO


# ------------------------------------------------------------------ validation
def _fail(path, where, field, problem):
    raise CocoAnnotationError(f'{path}: {where}: field {field!r}: {problem}')


def _number(path, where, record, field, positive=False):
    """record[field] as a finite float (> 0 when ``positive``), or a named error."""
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not np.isfinite(value) or (positive and value <= 0):
        _fail(path, where, field, f'expected a {"positive " if positive else ""}finite '
              f'number, found {value!r:.80}')
    return float(value)


def _integer(path, where, record, field):
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, where, field, f'expected an integer, found {value!r:.80}')
    return value


def _numbers(path, where, record, field, count):
    """record[field] as a finite float64 array of ``count`` values, or a named error."""
    value = record.get(field)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(path, where, field, f'expected {count} numbers, found {value!r:.80}')
    if arr.shape != (count,):
        _fail(path, where, field, f'expected {count} numbers, found shape '
              f'{list(arr.shape)}{_keypoint_hint(field, arr, count)}')
    if not np.all(np.isfinite(arr)):
        _fail(path, where, field, 'contains NaN or infinite values')
    return arr


def _keypoint_hint(field, arr, count):
    if field != 'keypoints' or arr.ndim != 1 or arr.size % 3:
        return ''
    return (f' ({arr.size // 3} keypoints × 3; the metainfo has {count // 3} keypoints — '
            'pass the metainfo file of this dataset)')


def _safe_file_name(path, where, name):
    """An image file name that stays inside the image folder, or a named error."""
    if not isinstance(name, str) or not name:
        _fail(path, where, 'file_name', f'expected a relative file name, found {name!r}')
    norm = osp.normpath(name.replace('\\', '/'))
    if osp.isabs(norm) or norm == '..' or norm.startswith('..' + osp.sep) or \
            norm.startswith('../') or osp.splitdrive(norm)[0]:
        _fail(path, where, 'file_name', f'{name!r} leaves the image folder (absolute or '
              "'..' paths are refused: images must stay inside data_root)")
    return norm


def _check_images(path, images):
    """{image id: image record}; every record checked (id, file_name, width, height)."""
    if not isinstance(images, list):
        raise CocoAnnotationError(f"{path}: field 'images': expected a list of image "
                                  f'records, found {type(images).__name__}')
    table = {}
    for i, img in enumerate(images):
        where = f'images[{i}]'
        if not isinstance(img, dict):
            raise CocoAnnotationError(f'{path}: {where}: expected a dict with id, '
                                      f'file_name, width, height, found {type(img).__name__}')
        img_id = _integer(path, where, img, 'id')
        if img_id in table:
            _fail(path, where, 'id', f'image id {img_id} repeats images[{table[img_id][0]}]')
        _safe_file_name(path, f'{where} (id {img_id})', img.get('file_name'))
        for field in ('width', 'height'):
            _number(path, f'{where} (id {img_id})', img, field, positive=True)
        table[img_id] = (i, img)
    return table


def _check_annotations(path, annotations, images, num_keypoints, for_eval):
    """Check every annotation record; ``for_eval`` also needs COCOeval's fields."""
    if not isinstance(annotations, list):
        raise CocoAnnotationError(f"{path}: field 'annotations': expected a list of "
                                  f'annotation records, found {type(annotations).__name__}')
    seen = {}
    for i, ann in enumerate(annotations):
        where = f'annotations[{i}]'
        if not isinstance(ann, dict):
            raise CocoAnnotationError(f'{path}: {where}: expected a dict, found '
                                      f'{type(ann).__name__}')
        ann_id = _integer(path, where, ann, 'id')
        if ann_id in seen:
            _fail(path, where, 'id', f'annotation id {ann_id} repeats '
                  f'annotations[{seen[ann_id]}]')
        seen[ann_id] = i
        where = f'annotations[{i}] (id {ann_id})'
        img_id = _integer(path, where, ann, 'image_id')
        if img_id not in images:
            _fail(path, where, 'image_id', f'no image with id {img_id} in "images"')
        _integer(path, where, ann, 'category_id')
        if 'keypoints' not in ann and not for_eval:
            continue   # e.g. a crowd region without keypoints: not a sample
        box = _numbers(path, where, ann, 'bbox', 4)
        if box[2] < 0 or box[3] < 0:
            _fail(path, where, 'bbox', f'width and height must be >= 0, found {box.tolist()}')
        kpts = _numbers(path, where, ann, 'keypoints', 3 * num_keypoints)
        if np.any(kpts[2::3] < 0):
            _fail(path, where, 'keypoints', 'visibility flags must be 0, 1 or 2')
        for field in ('num_keypoints', 'iscrowd'):
            if for_eval and field not in ann:
                _fail(path, where, field, 'missing (COCOeval needs it)')
            if field in ann:
                _integer(path, where, ann, field)
        if for_eval or 'area' in ann:
            _number(path, where, ann, 'area')


def load_coco(path: str, num_keypoints: int, for_eval: bool = False,
              data_root: Optional[str] = None) -> Any:
    """A pycocotools ``COCO`` of a person-keypoints JSON file, checked first (typed
    ``Any``: pycocotools is optional).

    Args:
        path: the JSON file.
        num_keypoints: K of the dataset's metainfo; every 'keypoints' list has 3K values.
        for_eval: also require what COCOeval reads ('area', 'num_keypoints',
            'iscrowd' on every annotation).
        data_root: for the message when the file is missing.

    Raises:
        FileNotFoundError: no such file (the message says how to make synthetic data).
        CocoAnnotationError: invalid JSON or a malformed record (file, record, field).
        ImportError: pycocotools is not installed.
    """
    COCO = _require_pycocotools()
    if not osp.isfile(path):
        root = data_root or osp.dirname(osp.dirname(path)) or '.'
        raise FileNotFoundError(
            f'COCO annotation file not found: {path}. Expected MMPose\'s COCO layout '
            '(annotations/person_keypoints_{train,val}2017.json, {train,val}2017/) under '
            f'the data root; make a small synthetic stand-in with: '
            f'{MAKE_SYNTHETIC_CMD.format(root=root)}')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CocoAnnotationError(f'{path}: not valid JSON: {err}') from None
    if not isinstance(data, dict) or 'images' not in data or 'annotations' not in data:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CocoAnnotationError(f"{path}: expected a COCO dict with 'images', "
                                  f"'annotations' and 'categories', found {found}")
    images = _check_images(path, data['images'])
    _check_annotations(path, data['annotations'], images, num_keypoints, for_eval)
    if not isinstance(data.get('categories', []), list):
        raise CocoAnnotationError(f"{path}: field 'categories': expected a list")
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):   # pycocotools prints progress
        coco.createIndex()
    return coco


def load_detections(path: str, coco: Any, categories: Optional[Sequence[int]]) -> List[dict]:
    """The person detections of a COCO results file, checked, in file order.

    Args:
        path: JSON list of {'image_id', 'category_id', 'bbox' [x, y, w, h], 'score'}.
        coco: the ``COCO`` of the annotation file (image ids are checked against it).
        categories: category ids kept (those of the annotation file; COCO: person);
            None keeps all.

    Returns:
        list of dict(index, image_id, category_id, bbox float64 [4] xywh, score).

    Raises:
        FileNotFoundError: no such file.
        CocoAnnotationError: invalid JSON or a malformed record (file, record and field
            named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'detection results file (bbox_file) not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            records = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CocoAnnotationError(f'{path}: not valid JSON: {err}') from None
    if not isinstance(records, list):
        raise CocoAnnotationError(f'{path}: expected a JSON list of detections '
                                  f'(COCO results format), found {type(records).__name__}')
    keep, out = (None if categories is None else set(categories)), []
    for i, det in enumerate(records):
        where = f'record {i}'
        if not isinstance(det, dict):
            raise CocoAnnotationError(f'{path}: {where}: expected a dict with image_id, '
                                      f'category_id, bbox, score, found {type(det).__name__}')
        category = _integer(path, where, det, 'category_id')
        if keep is not None and category not in keep:
            continue
        img_id = _integer(path, where, det, 'image_id')
        if img_id not in coco.imgs:
            _fail(path, where, 'image_id', f'no image with id {img_id} in the annotation '
                  'file')
        box = _numbers(path, where, det, 'bbox', 4)
        if box[2] <= 0 or box[3] <= 0:
            _fail(path, where, 'bbox', f'width and height must be > 0, found {box.tolist()}')
        out.append(dict(index=i, image_id=img_id, category_id=category, bbox=box,
                        score=_number(path, where, det, 'score')))
    return out


# --------------------------------------------------------------------- samples
#: Why ``_gt_sample`` drops an annotation (the keys of the dataset's log line).
DROP_CROWD = 'crowd region (iscrowd=1)'
DROP_UNLABELLED = 'no keypoints or bbox field, or no labelled keypoint'
DROP_EMPTY_BOX = 'box of zero width or height (after clipping to the image)'


def _gt_sample(ann, img, img_dir, num_keypoints):
    """One GT person annotation → a data info (without center/bbox_size), or, for an
    annotation that gives no sample, the reason as a string (one of ``DROP_*``).

    Dropped as MMPose's ``_is_valid_instance`` drops them: crowd regions, annotations
    without labelled keypoints and boxes that are empty after clipping to the image.
    """
    if ann.get('iscrowd', 0):
        return DROP_CROWD
    if 'keypoints' not in ann or 'bbox' not in ann:
        return DROP_UNLABELLED
    kpts = np.asarray(ann['keypoints'], np.float64).reshape(num_keypoints, 3)
    labelled = int(ann.get('num_keypoints', np.count_nonzero(kpts[:, 2] > 0)))
    if labelled == 0 or not np.any(kpts[:, 2] > 0):
        return DROP_UNLABELLED
    width, height = float(img['width']), float(img['height'])
    box = xywh_to_xyxy(ann['bbox'])
    box = np.clip(box, 0.0, [width, height, width, height])
    if box[2] <= box[0] or box[3] <= box[1]:
        return DROP_EMPTY_BOX
    return dict(img_id=ann['image_id'], id=ann['id'], category_id=ann['category_id'],
                img_path=osp.join(img_dir, osp.normpath(img['file_name'])),
                image_id=img['file_name'], bbox=box.astype(np.float32),
                bbox_score=np.float32(1.0),
                area=float(ann.get('area', (box[2] - box[0]) * (box[3] - box[1]))),
                num_keypoints=labelled,
                keypoints=kpts[:, :2].astype(np.float32),
                keypoints_visible=(kpts[:, 2] > 0).astype(np.float32))


def _detection_sample(det, index, img, img_dir, num_keypoints):
    """One detection → a data info without keypoint labels (keypoints 0, invisible)."""
    box = xywh_to_xyxy(det['bbox'])
    return dict(img_id=det['image_id'], id=index, category_id=det['category_id'],
                img_path=osp.join(img_dir, osp.normpath(img['file_name'])),
                image_id=img['file_name'], bbox=box.astype(np.float32),
                bbox_score=np.float32(det['score']),
                area=float((box[2] - box[0]) * (box[3] - box[1])), num_keypoints=0,
                keypoints=np.zeros((num_keypoints, 2), np.float32),
                keypoints_visible=np.zeros(num_keypoints, np.float32))


def _pipeline_input_size(pipeline) -> Optional[Tuple[int, int]]:
    """The (W, H) the pipeline's crop uses: the ``input_size`` of its transforms."""
    sizes = {tuple(int(v) for v in t.input_size) for t in getattr(pipeline, 'transforms', ())
             if getattr(t, 'input_size', None) is not None}
    if len(sizes) > 1:
        raise ValueError(f"the pipeline's transforms use different input sizes "
                         f'{sorted(sizes)}; pass input_size=(W, H) to the dataset')
    return sizes.pop() if sizes else None


def _report_dropped(path, dropped, total):
    """Log, once per dataset, how many annotations gave no sample and why (a warning
    when a box was empty, else info: crowd and unlabelled records are COCO's norm)."""
    if not dropped:
        return
    count = sum(len(ids) for ids in dropped.values())
    why = '; '.join(f'{len(ids)} {reason} (ids {ids[:5]}{" …" if len(ids) > 5 else ""})'
                    for reason, ids in dropped.items())
    print_log(f'CocoDataset {path}: dropped {count} of {total} annotations: {why}; '
              f'{total - count} kept', logger='current',
              level=logging.WARNING if DROP_EMPTY_BOX in dropped else logging.INFO)


def _missing_images_error(ann_file, entries, total, img_dir):
    """FileNotFoundError for image files that are missing or not readable.

    Args:
        ann_file (str): the annotation file whose records name them.
        entries (list[str]): one description per bad file (record, field, file).
        total (int): the number of image files the samples use.
        img_dir (str): the folder the images are read from.
    """
    more = len(entries) - MAX_LISTED
    return FileNotFoundError(
        f'{ann_file}: {len(entries)} of {total} image files not found or not readable '
        f'(images are read from {img_dir!r}, data_prefix.img under data_root): '
        f"{'; '.join(entries[:MAX_LISTED])}{f'; and {more} more' if more > 0 else ''}. "
        'Fix the image folder, or pass skip_invalid=True to the dataset to leave those '
        'samples out.')


@DATASETS.register_module()
class CocoDataset(BasePoseDataset):
    """COCO-format top-down person keypoints (one sample per person), MMPose's layout.

    Samples: in training (and at test time without ``bbox_file``) one per ground-truth
    person annotation that is not a crowd region, has at least one labelled keypoint
    (``num_keypoints`` > 0) and a non-empty box (as MMPose's ``CocoDataset``, which
    filters the same way in both modes); with ``bbox_file`` (test time), one per
    detection of a person category with ``score >= bbox_score_thr``, without keypoint
    labels. Order: images as listed in the JSON, annotations per image in file order
    (detections in file order).

    Args:
        data_root (str): folder holding ``annotations/`` and the image folders.
        ann_file (str): COCO JSON, relative to data_root (or absolute).
        data_prefix (dict): ``img``: image folder, relative to data_root (or absolute).
        metainfo (dict, optional): replaces ``dict(from_file='configs/_base_/datasets/
            coco.py')``; any keypoint count works (K and the flip pairs come from it).
        bbox_file (str, optional): COCO detection results (a JSON list of
            {'image_id', 'category_id', 'bbox' xywh, 'score'}); its boxes replace the
            ground-truth boxes (used at test time, as MMPose's). A path as given (not
            joined with data_root, as MMPose's). Detections of categories that are not
            in the annotation file are dropped.
        bbox_score_thr (float): detections scoring below it are dropped.
        bbox_padding (float): crop box = box fitted to the input's aspect ratio ×
            this (MMPose's 1.25).
        input_size ((W, H), optional): the model input whose aspect ratio the crop
            boxes take; None: the ``input_size`` of the pipeline's transforms
            (``TopdownAffine``'s ``input_size=codec['input_size']``); with neither the
            boxes keep their own aspect ratio.
        pipeline (sequence): transform configs (hpekit TRANSFORMS) or callables.
        test_mode (bool): mmengine's test mode (no re-fetching of failed samples).
        indices (int | sequence[int], optional): keep only these samples (mmengine).
        lazy_init (bool): defer reading the JSON to first use.
        skip_invalid (bool): what to do with samples whose image file is missing or
            not readable (found when the JSON is read, one ``stat`` per image, before
            any iteration): False (default) raises FileNotFoundError naming the
            files; True leaves those samples out, each image logged as a warning and
            the count at the end (``hpekit.datasets.skipping``; MPII's choice).
            Corrupt images are only found when decoded: with ``skip_invalid`` such a
            training sample is logged (with a running count per process) and
            replaced by another random one (mmengine's re-fetch); in ``test_mode``
            ``LoadImage`` still raises, naming the file and the sample.

    ``get_data_info(i)``: 'sample_idx' (position in the dataset), 'img_path',
    'image_id' (the image's file name, for messages), 'img_id' (the COCO image id),
    'id' (the annotation id; for detections their position among the kept ones),
    'category_id', 'bbox' float32 [4] (x1, y1, x2, y2, image px; ground truth
    clipped to the image), 'bbox_score' float32 (1 for ground-truth boxes), 'area'
    float (the annotation's; w·h for detections), 'num_keypoints' int, 'center'
    float32 [2] and 'bbox_size' float32 [2] (the crop box, 0-based image px),
    'keypoints' float32 [K, 2] (0-based image px), 'keypoints_visible' float32 [K]
    (1 where v > 0; detections: all 0), and the per-sample metainfo keys
    (``BasePoseDataset``). ``CocoMetric`` reads 'id', 'img_id', 'category_id' and
    'bbox_score' from the data samples: keep them in ``PackPoseInputs``' meta_keys.

    Raises:
        FileNotFoundError: the annotation or detection file is missing; an image file
            is missing or not readable (without ``skip_invalid``), or every one is.
        CocoAnnotationError: a malformed file or record (file, record and field named),
            or an image file name that leaves the image folder.
        ImportError: pycocotools is not installed.
    """

    METAINFO = dict(from_file=COCO_METAINFO_FILE)
    # tests/end_to_end/test_sweep.py: a dataset built on COCO-format files written under data_root.
    sweep_example = dict(cfg=dict(ann_file='annotations/person_keypoints_val2017.json',
                                  data_prefix=dict(img='val2017/'), input_size=(24, 32),
                                  pipeline=[dict(type='LoadImage'),
                                            dict(type='TopdownAffine', input_size=(24, 32),
                                                 augment=False),
                                            dict(type='PackPoseInputs')]),
                         data='coco')

    def __init__(self, data_root: str = '',
                 ann_file: str = 'annotations/person_keypoints_train2017.json',
                 data_prefix: Dict[str, str] = dict(img='train2017/'),
                 metainfo: Optional[Dict[str, Any]] = None,
                 bbox_file: Optional[str] = None, bbox_score_thr: float = 0.0,
                 bbox_padding: float = BOX_PADDING,
                 input_size: Optional[Tuple[int, int]] = None,
                 pipeline: Sequence = (), test_mode: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 lazy_init: bool = False, skip_invalid: bool = False) -> None:
        if not np.isfinite(bbox_padding) or bbox_padding <= 0:
            raise ValueError(f'bbox_padding must be a positive number, got {bbox_padding!r}')
        self.skip_invalid = bool(skip_invalid)
        self.skipped_images = 0
        self.bbox_file = bbox_file
        self.bbox_score_thr = float(bbox_score_thr)
        self.bbox_padding = float(bbox_padding)
        self.input_size = None if input_size is None else \
            (int(input_size[0]), int(input_size[1]))
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(data_prefix), pipeline=build_pipeline(pipeline),
                         test_mode=test_mode, indices=indices, lazy_init=lazy_init,
                         metainfo=metainfo)

    @property
    def crop_input_size(self) -> Optional[Tuple[int, int]]:
        """The (W, H) whose aspect ratio the crop boxes take (see class doc)."""
        return self.input_size or _pipeline_input_size(self.pipeline)

    def load_data_list(self) -> List[dict]:
        """Read and check the JSON (and bbox_file); one data info per sample."""
        num = self._metainfo['num_keypoints']
        coco = load_coco(self.ann_file, num, data_root=self.data_root)
        img_dir = self.data_prefix.get('img', '')
        if self.bbox_file:
            infos = self._detection_infos(coco, img_dir, num)
        else:
            infos, dropped, total = [], {}, 0
            for img_id in coco.getImgIds():
                img = coco.imgs[img_id]
                for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
                    info = _gt_sample(ann, img, img_dir, num)
                    total += 1
                    if isinstance(info, str):
                        dropped.setdefault(info, []).append(ann.get('id'))
                    else:
                        infos.append(info)
            _report_dropped(self.ann_file, dropped, total)
        infos = self._with_readable_images(infos, coco, img_dir)
        if infos:
            center, size = crop_boxes(np.stack([i['bbox'] for i in infos]),
                                      self.crop_input_size, self.bbox_padding)
            for info, c, s in zip(infos, center, size):
                info.update(center=c, bbox_size=s)
        return infos

    def _detection_infos(self, coco, img_dir, num):
        dets = load_detections(self.bbox_file, coco, coco.getCatIds() or None)
        kept = [d for d in dets if d['score'] >= self.bbox_score_thr]
        return [_detection_sample(d, i, coco.imgs[d['image_id']], img_dir, num)
                for i, d in enumerate(kept)]

    def _with_readable_images(self, infos, coco, img_dir):
        """``infos`` whose image file exists and is readable (one ``stat`` per image).

        A missing or unreadable file raises FileNotFoundError naming the files (the
        first ``MAX_LISTED``) and their count, or with ``skip_invalid`` its samples
        are left out, each image logged and the count reported at the end.
        """
        samples = {}   # image file → its samples' positions in infos
        for i, info in enumerate(infos):
            samples.setdefault(info['img_path'], []).append(i)
        bad = [path for path in samples
               if not (osp.isfile(path) and os.access(path, os.R_OK))]
        if not bad:
            return infos
        position = {img['id']: i for i, img in enumerate(coco.dataset['images'])}
        entries = []   # one per bad image file: its record, the file, its samples
        for path in bad:
            img_id = infos[samples[path][0]]['img_id']
            entries.append(f"images[{position[img_id]}] (id {img_id}): field 'file_name': "
                           f'image file {path} not found or not readable '
                           f'({len(samples[path])} sample(s))')
        if not self.skip_invalid:
            raise _missing_images_error(self.ann_file, entries, len(samples), img_dir)
        report_skipped(self.ann_file, [f'{self.ann_file}: {e}' for e in entries],
                       len(samples))
        if len(bad) == len(samples):
            raise FileNotFoundError(
                f'{self.ann_file}: none of its {len(samples)} image files is found or '
                f'readable under {img_dir!r} (data_prefix.img under data_root): no sample '
                'is left; check the image folder.')
        dropped = {i for p in bad for i in samples[p]}
        return [info for i, info in enumerate(infos) if i not in dropped]

    def prepare_data(self, idx: int) -> Optional[Any]:
        """The pipeline's output for sample idx; None (mmengine re-fetches another)
        for an image that cannot be loaded when ``skip_invalid`` is set in training
        (see the class doc)."""
        if not self.skip_invalid or self.test_mode:
            return super().prepare_data(idx)
        try:
            return super().prepare_data(idx)
        except OSError as err:   # LoadImage: a missing or corrupt file
            self.skipped_images += 1
            report_undecodable(err, self.skipped_images)
            return None
