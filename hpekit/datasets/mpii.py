"""MPII Human Pose (pipeline B), read from the MMPose-style JSON annotation files.

File layout under ``data_root`` (real MPII or ``tools/make_synthetic_data.py mpii``):

- ``annotations/mpii_{train,val}.json``: a list of person records
  ``{'image': 'name.jpg', 'center': [x, y], 'scale': s, 'joints': [[x, y] × 16],
  'joints_vis': [0/1 × 16]}``; center and joints in 1-based MATLAB pixels, ``s`` × 200
  px is roughly the person's height;
- ``images/``: the images the records name;
- ``annotations/mpii_gt_val.mat``: the official val ground truth (read by the metric;
  its order equals the val JSON's order).

Coordinates inside hpekit are 0-based image pixels (pixel centres at integers): the
loader subtracts 1 from center and joints, moves the center down by 15 × scale px and
makes the person box square with side scale × 200 × 1.25 px (as the official HRNet
code). Joint order and flip pairs: the metainfo file
``configs/_base_/datasets/mpii.py``.
"""
import json
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from hpekit.core.boxes import BOX_PADDING, scale_to_size
from hpekit.datasets.base import BasePoseDataset, build_pipeline
from hpekit.datasets.skipping import report_skipped, report_undecodable
from hpekit.registry import DATASETS

MPII_METAINFO_FILE = 'configs/_base_/datasets/mpii.py'

MAKE_SYNTHETIC_CMD = 'python tools/make_synthetic_data.py mpii --out {root}'

# The official loader's conventions (HRNet / MMPose): box = scale·200·BOX_PADDING px
# (hpekit.core.boxes), centre moved down by CENTER_SHIFT·scale px.
CENTER_SHIFT = 15.0

_RECORD_INDEX = '_record_index'   # where the JSON position is kept
_RECORD_KEYS = ('image', 'center', 'scale', 'joints', 'joints_vis')


class MPIIAnnotationError(ValueError):
    """A record of an MPII JSON file is malformed (the message names file, record, field)."""


def _fail(path, index, field, problem):
    raise MPIIAnnotationError(f'{path}: record {index}: field {field!r}: {problem}')


def _array(path, index, record, field, shape):
    """record[field] as a float64 array of ``shape``, finite, or a named error."""
    try:
        value = np.asarray(record[field], dtype=np.float64)
    except (TypeError, ValueError):
        _fail(path, index, field, f'expected numbers of shape {shape}, found '
              f'{record[field]!r:.80}')
    if value.shape != shape:
        _fail(path, index, field, f'expected shape {shape}, found {value.shape}')
    if not np.all(np.isfinite(value)):
        _fail(path, index, field, f'contains NaN or infinite values: {value.tolist()}')
    return value


# Plausible values: a person box of scale·200 px between 2 px and 40 000 px, and
# coordinates within 100 000 px of the image origin (1-based MATLAB px).
MIN_SCALE, MAX_SCALE = 0.01, 200.0
MAX_ABS_COORD = 1e5


def _scale(path, index, record):
    """record['scale'] as a plausible positive float, or a named error."""
    value = record['scale']
    if isinstance(value, bool):
        _fail(path, index, 'scale', f'expected a positive number, found {value!r}')
    try:
        scale = float(value)
    except (TypeError, ValueError):
        _fail(path, index, 'scale', f'expected a positive number, found {value!r}')
    if not np.isfinite(scale) or not MIN_SCALE <= scale <= MAX_SCALE:
        _fail(path, index, 'scale', f'expected a positive, finite number in '
              f'[{MIN_SCALE}, {MAX_SCALE}] '
              f'(the person box is scale × 200 px), found {scale}')
    return scale


def _check_values(path, index, center, joints, visible):
    """Coordinates within ``MAX_ABS_COORD`` px and visibility flags 0/1."""
    for field, value in (('center', center), ('joints', joints)):
        if np.abs(value).max(initial=0.0) > MAX_ABS_COORD:
            _fail(path, index, field, f'coordinates beyond {MAX_ABS_COORD:g} px: '
                  f'{value.tolist()}')
    bad = ~np.isin(visible, (0.0, 1.0))
    if bad.any():
        _fail(path, index, 'joints_vis', f'expected 0 or 1 per joint, found '
              f'{visible[bad].tolist()} (joints {np.flatnonzero(bad).tolist()})')


def image_path(path: str, index: int, img_dir: str, name: str,
               allow_outside: bool = False) -> str:
    """``img_dir/name``, refusing names that leave ``img_dir`` ('..', absolute paths)
    unless ``allow_outside``."""
    full = osp.normpath(osp.join(img_dir, name))
    root = osp.normpath(img_dir)
    if not allow_outside and (osp.isabs(name) or
                              osp.commonpath([osp.abspath(full), osp.abspath(root)])
                              != osp.abspath(root)):
        _fail(path, index, 'image', f'{name!r} leaves the image folder {img_dir}; set '
              'allow_outside_paths=True in the dataset config to read such files')
    return full


def _check_record(path, index, record):
    """Check the record is a dict with every key and a string image name."""
    if not isinstance(record, dict):
        raise MPIIAnnotationError(f'{path}: record {index}: expected a dict with keys '
                                  f'{_RECORD_KEYS}, found {type(record).__name__}')
    missing = [k for k in _RECORD_KEYS if k not in record]
    if missing:
        _fail(path, index, missing[0], f'missing (record has keys {sorted(record)}; '
              f'every record needs {list(_RECORD_KEYS)})')
    if not isinstance(record['image'], str) or not record['image']:
        _fail(path, index, 'image', f'expected a file name, found {record["image"]!r}')


def parse_mpii_record(path: str, index: int, record: Dict[str, Any], img_dir: str,
                      num_keypoints: int, allow_outside: bool = False) -> Dict[str, Any]:
    """One JSON record → the data info of one person (hpekit's 0-based convention).

    Args:
        path (str): the JSON file (for error messages).
        index (int): position of the record in the file; becomes 'sample_idx'.
        record (dict): {'image', 'center' [2], 'scale', 'joints' [K, 2], 'joints_vis'
            [K]}, 1-based MATLAB pixels.
        img_dir (str): folder the image names are relative to.
        num_keypoints (int): K, from the dataset's metainfo.
        allow_outside (bool): accept image names that leave ``img_dir``.

    Returns:
        dict: 'sample_idx' int, 'img_path' str, 'image_id' str (the file name),
        'center' float32 [2] (0-based px, moved down 15·scale), 'bbox_size' float32 [2]
        (scale·200·1.25 px, square), 'bbox' float32 [4] (x1, y1, x2, y2: the unpadded
        scale·200 px square about 'center', MMPose's MPII box, which ``PCKAccuracy``'s
        norm_item='bbox' reads), 'keypoints' float32 [K, 2] (0-based px),
        'keypoints_visible' float32 [K] (0/1).

    Raises:
        MPIIAnnotationError: naming the file, the record index and the field.
    """
    _check_record(path, index, record)
    center = _array(path, index, record, 'center', (2,))
    scale = _scale(path, index, record)
    joints = _array(path, index, record, 'joints', (num_keypoints, 2))
    visible = _array(path, index, record, 'joints_vis', (num_keypoints,))
    _check_values(path, index, center, joints, visible)
    img_path = image_path(path, index, img_dir, record['image'], allow_outside)
    center = center - 1.0 + np.array([0.0, CENTER_SHIFT * scale])
    side = scale_to_size(scale, BOX_PADDING)
    half = scale_to_size(scale) / 2
    return {'sample_idx': index,
            'img_path': img_path,
            'image_id': record['image'],
            'center': center.astype(np.float32),
            'bbox_size': np.array([side, side], np.float32),
            'bbox': np.concatenate([center - half, center + half]).astype(np.float32),
            'keypoints': (joints - 1.0).astype(np.float32),
            'keypoints_visible': (visible > 0).astype(np.float32)}


def load_mpii_json(path: str, data_root: Optional[str] = None) -> List[Dict[str, Any]]:
    """The list of records of an MPII JSON file, or a clear error.

    Raises:
        FileNotFoundError: no such file (the message says how to make synthetic data).
        MPIIAnnotationError: not valid JSON, or not a list.
    """
    if not osp.isfile(path):
        root = data_root or osp.dirname(osp.dirname(path)) or '.'
        raise FileNotFoundError(
            f'MPII annotation file not found: {path}. Expected the MMPose-style MPII '
            f'annotations (annotations/mpii_train.json, annotations/mpii_val.json, '
            f'annotations/mpii_gt_val.mat) and images/ under the data root; make a small '
            f'synthetic stand-in with: {MAKE_SYNTHETIC_CMD.format(root=root)}')
    try:
        with open(path, encoding='utf-8') as f:
            records = json.load(f)
    except json.JSONDecodeError as err:
        raise MPIIAnnotationError(f'{path}: not valid JSON: {err}') from None
    if not isinstance(records, list):
        raise MPIIAnnotationError(f'{path}: expected a JSON list of person records, found '
                                  f'a {type(records).__name__}')
    if not records:
        raise MPIIAnnotationError(f'{path}: the file lists no person records (an empty '
                                  'JSON list)')
    return records


@DATASETS.register_module()
class MPIIDataset(BasePoseDataset):
    """MPII single-person crops (one sample per annotated person), top-down.

    Args:
        data_root (str): folder holding ``annotations/`` and ``images/``.
        ann_file (str): JSON file, relative to data_root (or absolute).
        data_prefix (dict): ``img``: image folder relative to data_root (or absolute).
        pipeline (sequence): transform configs (hpekit TRANSFORMS) or callables.
        test_mode (bool): no re-fetching of failed samples (mmengine).
        indices (int | sequence[int], optional): keep only these records (mmengine).
        lazy_init (bool): defer reading the JSON to first use.
        metainfo (dict, optional): replaces the class's
            ``dict(from_file='configs/_base_/datasets/mpii.py')``.
        allow_outside_paths (bool): accept image names that leave the image folder
            ('..', absolute paths); by default such a record is an error.
        skip_invalid (bool): drop malformed records and records whose image file is
            missing, each logged as a warning, with the count at the end, instead of
            raising. Corrupt images are only found when decoded: in training such a
            sample is logged (with a running count per process) and replaced by
            another random one (mmengine's re-fetch); in ``test_mode`` ``LoadImage``
            still raises, naming the file and the sample, since skipping would change
            the evaluation.

    ``get_data_info(i)`` returns the dict of ``parse_mpii_record`` (see there), with
    'sample_idx' = the record's position in the JSON file (also for subsets; the val
    JSON's order equals ``mpii_gt_val.mat``'s) and the per-sample metainfo keys
    (``BasePoseDataset``). Images are not opened here: a missing image is reported by
    ``LoadImage``. ``metainfo``: the parsed metainfo file, plus ``ann_file`` (the
    JSON's path).

    Raises:
        FileNotFoundError: the JSON file is missing (the message says how to make a
            synthetic stand-in).
        MPIIAnnotationError: a malformed file or record (file, record index and field
            are named).
    """

    sweep_example = dict(
        cfg=dict(ann_file='annotations/mpii_val.json', test_mode=True,
                 pipeline=[dict(type='LoadImage', input_size=(32, 32)),
                           dict(type='TopdownAffine', input_size=(32, 32), augment=False),
                           dict(type='PackPoseInputs')]),
        data='mpii')

    METAINFO = dict(from_file=MPII_METAINFO_FILE)

    def __init__(self, data_root: str, ann_file: str = 'annotations/mpii_train.json',
                 data_prefix: dict = dict(img='images/'),
                 pipeline: Sequence[Union[dict, Callable]] = (), test_mode: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 lazy_init: bool = False, metainfo: Optional[dict] = None,
                 skip_invalid: bool = False, allow_outside_paths: bool = False) -> None:
        self.allow_outside_paths = allow_outside_paths
        self.skip_invalid = skip_invalid
        self.skipped_images = 0
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(data_prefix), pipeline=build_pipeline(pipeline),
                         test_mode=test_mode, indices=indices, lazy_init=lazy_init,
                         metainfo=metainfo)
        # The JSON the samples come from (MPIIPCKh names it when its people are not
        # those of the evaluation .mat).
        self._metainfo['ann_file'] = self.ann_file

    def load_data_list(self) -> List[dict]:
        """Read and validate the JSON; one data info per record (see class doc)."""
        records = load_mpii_json(self.ann_file, self.data_root)
        img_dir = self.data_prefix.get('img', '')
        if self.skip_invalid:
            infos = self._parse_skipping_invalid(records, img_dir)
        else:
            infos = [parse_mpii_record(self.ann_file, i, r, img_dir, self._num_keypoints,
                                       self.allow_outside_paths)
                     for i, r in enumerate(records)]
        for info in infos:   # mmengine rewrites 'sample_idx' to the subset position
            info[_RECORD_INDEX] = info.pop('sample_idx')
        return infos

    def _parse_skipping_invalid(self, records, img_dir):
        """Data infos of the valid records whose image file exists; the rest logged."""
        infos, problems = [], []
        for i, record in enumerate(records):
            try:
                info = parse_mpii_record(self.ann_file, i, record, img_dir,
                                         self._num_keypoints, self.allow_outside_paths)
            except MPIIAnnotationError as err:
                problems.append(str(err))
                continue
            if not osp.isfile(info['img_path']):
                problems.append(f'{self.ann_file}: record {i}: field \'image\': image file '
                                f'{info["img_path"]} not found')
                continue
            infos.append(info)
        report_skipped(self.ann_file, problems, len(records))
        return infos

    @property
    def _num_keypoints(self):
        return self._metainfo['num_keypoints']

    def prepare_data(self, idx: int) -> Optional[Any]:
        """The pipeline's output for sample idx; None (re-fetch) for an image that
        cannot be loaded when ``skip_invalid`` is set in training (see class doc)."""
        if not self.skip_invalid or self.test_mode:
            return super().prepare_data(idx)
        try:
            return super().prepare_data(idx)
        except OSError as err:   # LoadImage: missing or corrupt file
            self.skipped_images += 1
            report_undecodable(err, self.skipped_images)
            return None

    def get_data_info(self, idx: int) -> dict:
        """The person at position idx of this (possibly subset) dataset; see class doc."""
        info = super().get_data_info(idx)
        info['sample_idx'] = info.pop(_RECORD_INDEX)
        return info
