"""Human3.6M in MMPose's preprocessed layout: frames, ``annotation_body3d/*.npz``, cameras.

Layout under ``data_root`` (what ``tools/dataset_converters/preprocess_h36m.py`` and
``tools/make_synthetic_data.py h36m-full`` write)::

    images/S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg
    annotation_body3d/fps50/h36m_train.npz    imgname [N] (paths under images/),
    annotation_body3d/fps50/h36m_test.npz     center [N, 2] px, scale [N] (box =
                                              scale × 200 px), part [N, K, 3] (x, y px,
                                              visibility), S [N, K, 4] (camera-frame
                                              metres, visibility)
    annotation_body3d/cameras.pkl             {(subject, camera id): {'R', 'T', 'c',
                                              'f', 'k', 'p' arrays, 'w', 'h', 'name',
                                              'id'}}

A sequence is the frames of one (subject, action with its subaction, camera), parsed
from ``imgname``; clips are ``seq_len`` frames of a sequence every ``seq_step`` frames.
``cameras.pkl`` is read by a restricted unpickler (``load_camera_params``) that admits
numpy arrays, numpy scalars and builtin containers only: a crafted file runs no code.
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from hpekit.core.boxes import scale_to_size
from hpekit.datasets.base import BasePoseDataset, build_pipeline
from hpekit.datasets.metainfo import add_metainfo_to_info
from hpekit.registry import DATASETS

H36M_METAINFO_FILE = 'configs/_base_/datasets/h36m.py'

# The 15 actions as papers report them (subactions merged), in MMPose's naming.
H36M_ACTIONS = ('Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Photo',
                'Posing', 'Purchases', 'Sitting', 'SittingDown', 'Smoking', 'Waiting',
                'WalkDog', 'Walking', 'WalkTogether')
# Names some subjects' files use in the official release for the same actions.
ACTION_ALIASES = {'TakingPhoto': 'Photo', 'WalkingDog': 'WalkDog'}
DEFAULT_SUBJECTS = {'train': ('S1', 'S5', 'S6', 'S7', 'S8'), 'test': ('S9', 'S11')}

MAKE_SYNTHETIC_CMD = 'python tools/make_synthetic_data.py h36m-full --out {root}'
PREPARE_CMD = 'python tools/dataset_converters/preprocess_h36m.py'

# <subject>_<action>[_<subaction>].<camera>_<frame>.<ext>, e.g.
# S1_Directions_1.54138969_000001.jpg (actions are words without '_' or '.').
_IMGNAME = re.compile(r'^(S\d+)_([A-Za-z]+)(?:[_ ](\d+))?\.(\w+?)_(\d+)\.(\w+)$')


# ------------------------------------------------------------------ names, actions
def action_category(action: str) -> str:
    """The reported action of a sequence's action: 'Directions_1' → 'Directions',
    'TakingPhoto 1' → 'Photo', 'WalkingDog' → 'WalkDog' (subactions merged)."""
    name = re.split(r'[_ ]', str(action))[0]
    return ACTION_ALIASES.get(name, name)


def parse_h36m_imgname(imgname: str) -> Dict[str, Any]:
    """Sequence and frame of an ``imgname`` of the npz files.

    Args:
        imgname (str): e.g. 'S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg'
            (only the file name is parsed).

    Returns:
        dict: 'subject' ('S1'), 'action' ('Directions_1': action with subaction, as in
        the file name), 'category' ('Directions', see ``action_category``),
        'subaction' ('1', or '' when the name has none), 'camera' ('54138969'),
        'frame' (int, 1), 'sequence' ('S1_Directions_1.54138969').

    Raises:
        ValueError: the name does not follow that pattern.
    """
    base = osp.basename(str(imgname).replace('\\', '/'))
    match = _IMGNAME.match(base)
    if match is None:
        raise ValueError(f'imgname {imgname!r} does not follow the Human3.6M pattern '
                         '<subject>_<action>[_<subaction>].<camera>_<frame>.jpg, e.g. '
                         'S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg')
    subject, action, subaction, camera, frame, _ = match.groups()
    full = f'{action}_{subaction}' if subaction else action
    return dict(subject=subject, action=full, category=action_category(action),
                subaction=subaction or '', camera=camera, frame=int(frame),
                sequence=f'{subject}_{full}.{camera}')


# ------------------------------------------------------------- cameras, safely
_NUMPY_GLOBALS = {
    ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, numpy scalars and builtin containers
    (dict, list, tuple, str, numbers) only.

    Every other global a pickle names (functions, classes: ``os.system``,
    ``builtins.eval`` …) raises ``pickle.UnpicklingError`` before it is looked up, so
    nothing in the file can run code. Object arrays are refused too.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            obj = super().find_class(module, name)
            return _no_object_dtype if obj is np.dtype else obj
        raise pickle.UnpicklingError(
            f'refused to load {module}.{name}: this file may hold numpy arrays and '
            'builtin containers only')

    def persistent_load(self, pid: Any) -> NoReturn:
        raise pickle.UnpicklingError('refused a persistent id: numpy arrays and builtin '
                                     'containers only')


def _no_object_dtype(*args, **kwargs):
    """``np.dtype`` for the unpickler, refusing object dtypes (they unpickle Python
    objects of any kind)."""
    dtype = np.dtype(*args, **kwargs)
    if dtype.hasobject:
        raise pickle.UnpicklingError('refused an object dtype: plain numeric arrays only')
    return dtype


def load_camera_params(path: str) -> Dict[Tuple[str, str], Dict[str, Any]]:
    """Read ``cameras.pkl`` without running code (``NumpyOnlyUnpickler``).

    Returns:
        dict: {(subject, camera id): {'R' [3, 3], 'T' [3, 1] metres, 'c' [2, 1],
        'f' [2, 1], 'k' [3, 1], 'p' [2, 1], 'w', 'h', 'name', 'id'}} as MMPose's
        converter writes it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a dict of that kind, or it holds anything but
            numpy arrays and builtin values (the file is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Human3.6M camera file not found: {path}')
    with open(path, 'rb') as f:
        try:
            params = NumpyOnlyUnpickler(f).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
                AttributeError, IndexError, KeyError) as error:
            raise ValueError(f'{path}: not a camera file of numpy arrays: {error}') from None
    if not isinstance(params, dict):
        raise ValueError(f'{path}: expected a dict {{(subject, camera id): parameters}}, '
                         f'found {type(params).__name__}')
    return params


# ------------------------------------------------------------------- paths, files
def resolve_in_root(data_root: Optional[str], name: str, what: str) -> str:
    """``name`` joined to ``data_root``; an absolute name is kept (a config's choice).

    Raises:
        ValueError: a relative name that leaves ``data_root`` ('..').
    """
    if osp.isabs(name):
        return name
    root = osp.abspath(data_root or '.')
    path = osp.abspath(osp.join(root, name))
    if osp.commonpath([root, path]) != root:
        raise ValueError(f'{what} {name!r} leaves data_root {data_root!r}')
    return path


def check_imgname(imgname: str, path: str) -> None:
    """Raise ValueError unless an npz ``imgname`` is a relative path inside the image
    folder (no absolute path, drive or '..')."""
    text = str(imgname).replace('\\', '/')
    if not text or text.startswith('/') or re.match(r'^[A-Za-z]:', text) or \
            '..' in text.split('/'):
        raise ValueError(f'{path}: bad imgname {imgname!r}: expected a relative path '
                         'inside the image folder (no absolute path or "..")')


def _field(data, key, path, shape_text, check):
    """data[key] or a ValueError naming the file, the field and the expected shape."""
    if key not in data:
        raise ValueError(f'{path}: missing field {key!r} ({shape_text}); found fields '
                         f'{sorted(data)}')
    value = data[key]
    if not check(value):
        raise ValueError(f'{path}: bad field {key!r}: expected {shape_text}, found '
                         f'{value.dtype} {list(value.shape)}')
    return value


def load_h36m_annotations(path: str, num_keypoints: int,
                          need_part: bool = False) -> Dict[str, Optional[np.ndarray]]:
    """The arrays of one ``h36m_{train,test}.npz`` file, checked.

    Returns:
        dict: 'imgname' str [N], 'center' float32 [N, 2], 'scale' float32 [N],
        'S' float32 [N, K, 3] metres (visibility dropped), 'part' float32 [N, K, 3]
        (x, y, visibility; None when absent and not ``need_part``).

    Raises:
        FileNotFoundError: no such file (with how to make or prepare one).
        ValueError: a field is missing or has the wrong dtype or shape (file and field
            named).
    """
    if not osp.isfile(path):
        root = osp.dirname(osp.dirname(osp.dirname(path))) or '.'
        raise FileNotFoundError(
            f'Human3.6M annotation file not found: {path}. Expected MMPose\'s preprocessed '
            f'layout (annotation_body3d/fps50/h36m_{{train,test}}.npz, images/, '
            f'annotation_body3d/cameras.pkl): prepare it from the official release with '
            f'{PREPARE_CMD}, or make a small synthetic stand-in with: '
            f'{MAKE_SYNTHETIC_CMD.format(root=root)}')
    try:
        data = dict(np.load(path, allow_pickle=False))
    except ValueError as error:
        raise ValueError(f'{path}: cannot read the arrays ({error}); object arrays are '
                         'not accepted, imgname must be a string array') from None
    names = _field(data, 'imgname', path, 'strings [N]',
                   lambda v: v.ndim == 1 and v.dtype.kind in 'US')
    num = len(names)
    k = num_keypoints
    center = _field(data, 'center', path, f'float [{num}, 2]',
                    lambda v: v.shape == (num, 2) and v.dtype.kind in 'fiu')
    scale = _field(data, 'scale', path, f'float [{num}]',
                   lambda v: v.shape == (num,) and v.dtype.kind in 'fiu')
    joints = _field(data, 'S', path, f'float [{num}, {k}, 4] (or 3)',
                    lambda v: v.ndim == 3 and v.shape[:2] == (num, k) and
                    v.shape[2] in (3, 4) and v.dtype.kind == 'f')
    part = None
    if 'part' in data or need_part:
        part = _field(data, 'part', path, f'float [{num}, {k}, 3] (or 2)',
                      lambda v: v.ndim == 3 and v.shape[:2] == (num, k) and
                      v.shape[2] in (2, 3) and v.dtype.kind in 'fiu')
        if part.shape[2] == 2:
            part = np.concatenate([part, np.ones((num, k, 1))], axis=2)
    if not np.isfinite(joints[..., :3]).all():
        row = int(np.argwhere(~np.isfinite(joints[..., :3]))[0][0])
        raise ValueError(f'{path}: field \'S\' row {row} ({names[row]}) is not finite')
    if (scale <= 0).any():
        row = int(np.flatnonzero(scale <= 0)[0])
        raise ValueError(f'{path}: field \'scale\' row {row} ({names[row]}) must be > 0, '
                         f'found {scale[row]}')
    return dict(imgname=names.astype(str), center=center.astype(np.float32),
                scale=scale.astype(np.float32),
                S=np.ascontiguousarray(joints[..., :3], dtype=np.float32),
                part=None if part is None else part.astype(np.float32))


# -------------------------------------------------------------------- clip layout
def clip_starts(length: int, seq_len: int, seq_step: int, frame_interval: int = 1,
                pad: bool = False) -> List[int]:
    """First frames of the clips of a sequence of ``length`` frames.

    A clip takes frames ``start + i · frame_interval`` (i < seq_len); starts are
    0, seq_step, 2·seq_step, …. Without ``pad`` only clips that fit are kept (none
    when the sequence is too short). With ``pad`` clips continue until one reaches
    the last frame; frames past the end are filled by repeating the last frame
    (``clip_frames``), so every frame is in some clip.
    """
    span = (seq_len - 1) * frame_interval + 1
    if not pad:
        return list(range(0, length - span + 1, seq_step))
    starts = [0]
    while starts[-1] + span < length:
        starts.append(starts[-1] + seq_step)
    return starts


def clip_frames(length: int, start: int, seq_len: int, frame_interval: int = 1,
                context: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Frame positions of one clip in its sequence, edge-padded.

    Returns:
        (positions int [context + seq_len + context], valid bool [seq_len]): positions
        clamped into [0, length - 1] (edge repetition), with ``context`` extra frames
        before and after the clip (the input window of a temporal-convolution model);
        ``valid`` marks the clip's own frames that exist (not padding).
    """
    offsets = np.arange(-context, seq_len + context) * frame_interval
    raw = start + offsets
    valid = raw[context:context + seq_len] < length
    return np.clip(raw, 0, length - 1), valid


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')


@DATASETS.register_module()
class H36MVideoDataset(BasePoseDataset):
    """Human3.6M clips of frames with 3D joints, from MMPose's preprocessed layout.

    Args:
        data_root (str): the folder holding ``images/`` and ``annotation_body3d/``.
        split (str): 'train' or 'test': the default annotation file and subjects.
        ann_file (str, optional): the npz file, relative to ``data_root``; default
            ``annotation_body3d/fps50/h36m_{split}.npz``.
        img_prefix (str): the image folder the ``imgname`` paths are relative to.
        camera_param_file (str, optional): ``cameras.pkl`` relative to data_root; its
            parameters are added to every clip as ``camera_param`` when the file exists
            (``H36MLiftingDataset`` needs it). None: not read.
        subjects (sequence[str], optional): keep these subjects; default S1, S5, S6,
            S7, S8 for 'train' and S9, S11 for 'test'.
        actions (sequence[str], optional): keep these reported actions (e.g.
            'Walking'); default all.
        cameras (sequence[str], optional): keep these camera ids; default all.
        seq_len (int): frames per clip T.
        seq_step (int): frames between the starts of two clips of a sequence.
        frame_interval (int): step between the frames of one clip (1: consecutive).
        pad_video_seq (bool): clips continue to the end of every sequence, the frames
            past it repeat the last one (marked -1 in ``frame_ids``), so every frame is
            predicted; needs ``frame_interval`` 1 and ``seq_step <= seq_len``.
        bbox_padding (float): crop box side = scale × 200 × bbox_padding px (the
            converter's scale already holds a 1.2 margin around the 2D joints).
        pipeline, indices, test_mode, lazy_init, metainfo: as mmengine's BaseDataset
            and ``BasePoseDataset``.

    ``get_data_info(i)`` of clip i: 'sample_idx', 'img_paths' (T paths, decoded by
    ``LoadClipCrops``), 'center' float32 [T, 2] px, 'bbox_size' float32 [T, 2] px,
    'joints_3d' float32 [T, K, 3] (camera-frame metres minus the root joint of the
    metainfo, ``root_index``: the pelvis), 'root_3d' float32 [T, 3] (the pelvis in the
    camera frame), 'keypoints' float32 [T, K, 2] and 'keypoints_visible' [T, K] (the
    ``part`` 2D joints, px), 'frame_ids' int64 [T] (rows of the npz file, -1 for
    padding), 'subject', 'action' (reported action, e.g. 'Directions'),
    'action_name' ('Directions_1'), 'camera', 'seq_name', plus the per-sample
    metainfo keys. Only the annotation arrays stay in memory; frames are read by the
    pipeline, clip by clip.

    Raises:
        FileNotFoundError: the npz file is missing (the message says how to prepare the
            data or make a synthetic stand-in).
        ValueError: a bad argument, field (file and field named), imgname or path.
    """

    sweep_example = dict(cfg=dict(split='test', seq_len=2, seq_step=2,
                                  pipeline=[dict(type='LoadClipCrops', input_size=(16, 16)),
                                            dict(type='PackClipInputs')]),
                         data='h36m_full')

    METAINFO = dict(from_file=H36M_METAINFO_FILE)

    def __init__(self, data_root: str, split: str = 'train', ann_file: Optional[str] = None,
                 img_prefix: str = 'images',
                 camera_param_file: Optional[str] = 'annotation_body3d/cameras.pkl',
                 subjects: Optional[Sequence[str]] = None,
                 actions: Optional[Sequence[str]] = None,
                 cameras: Optional[Sequence[str]] = None, seq_len: int = 8, seq_step: int = 8,
                 frame_interval: int = 1, pad_video_seq: bool = False,
                 bbox_padding: float = 1.0, root_index: int = 0,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 indices: Optional[Union[int, Sequence[int]]] = None, test_mode: bool = False,
                 lazy_init: bool = False, metainfo: Optional[dict] = None) -> None:
        if split not in DEFAULT_SUBJECTS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        _check_count('seq_len', seq_len, 1)
        _check_count('seq_step', seq_step, 1)
        _check_count('frame_interval', frame_interval, 1)
        if pad_video_seq and (frame_interval != 1 or seq_step > seq_len):
            raise ValueError('pad_video_seq predicts every frame only with frame_interval=1 '
                             f'and seq_step <= seq_len, got frame_interval={frame_interval}, '
                             f'seq_step={seq_step}, seq_len={seq_len}')
        if not bbox_padding > 0:
            raise ValueError(f'bbox_padding must be > 0, got {bbox_padding!r}')
        self.split = split
        self.seq_len, self.seq_step = int(seq_len), int(seq_step)
        self.frame_interval, self.pad_video_seq = int(frame_interval), bool(pad_video_seq)
        self.bbox_padding, self.root_index = float(bbox_padding), int(root_index)
        self.subjects = tuple(subjects) if subjects is not None else DEFAULT_SUBJECTS[split]
        self.actions = None if actions is None else tuple(action_category(a) for a in actions)
        self.cameras = None if cameras is None else tuple(str(c) for c in cameras)
        self.ann_path = resolve_in_root(
            data_root, ann_file or f'annotation_body3d/fps50/h36m_{split}.npz',
            'ann_file')
        self.img_root = resolve_in_root(data_root, img_prefix, 'img_prefix')
        self.camera_path = None if camera_param_file is None else resolve_in_root(
            data_root, camera_param_file, 'camera_param_file')
        self._num_keypoints = self._load_metainfo(metainfo)['num_keypoints']
        super().__init__(data_root=data_root, pipeline=build_pipeline(pipeline),
                         indices=indices, serialize_data=True, test_mode=test_mode,
                         lazy_init=lazy_init, metainfo=metainfo)

    # ------------------------------------------------------------------ loading
    context = 0          # extra input frames before/after a clip (lifting windows)
    need_part = False    # the 2D joints ('part') are required
    need_cameras = False

    def load_data_list(self) -> List[dict]:
        """Read and check the npz file, group sequences, list the clips."""
        ann = load_h36m_annotations(self.ann_path, self._num_keypoints, self.need_part)
        if self.root_index >= self._num_keypoints:
            raise ValueError(f'root_index {self.root_index} is not a keypoint of the '
                             f'metainfo ({self._num_keypoints} keypoints)')
        self.camera_params = self._load_cameras()
        groups = {}
        found = dict(subjects=set(), actions=set(), cameras=set())
        for row, name in enumerate(ann['imgname']):
            check_imgname(name, self.ann_path)
            try:
                key = parse_h36m_imgname(name)
            except ValueError as error:
                raise ValueError(f'{self.ann_path}: row {row}: {error}') from None
            found['subjects'].add(key['subject'])
            found['actions'].add(key['category'])
            found['cameras'].add(key['camera'])
            if key['subject'] not in self.subjects or \
                    (self.actions is not None and key['category'] not in self.actions) or \
                    (self.cameras is not None and key['camera'] not in self.cameras):
                continue
            seq = groups.setdefault(key['sequence'], dict(key, rows=[], frames=[]))
            seq['rows'].append(row)
            seq['frames'].append(key['frame'])
        self._sequences = []
        data_list = []
        for name in sorted(groups):
            seq = groups[name]
            order = np.argsort(seq['frames'], kind='stable')
            rows = np.asarray(seq['rows'], np.int64)[order]
            frames = np.asarray(seq['frames'])[order]
            if len(np.unique(frames)) != len(frames):
                raise ValueError(f'{self.ann_path}: sequence {name} lists frame '
                                 f'{frames[np.flatnonzero(np.diff(frames) == 0)[0]]} twice')
            if self.need_cameras:
                self._camera(seq['subject'], seq['camera'])   # fail now, not per clip
            index = len(self._sequences)
            self._sequences.append(dict(
                rows=rows, subject=seq['subject'], action=seq['category'],
                action_name=seq['action'], camera=seq['camera'], seq_name=name))
            for start in clip_starts(len(rows), self.seq_len, self.seq_step,
                                     self.frame_interval, self.pad_video_seq):
                data_list.append(dict(seq=index, start=int(start)))
        if not data_list:
            self._raise_empty(found, len(ann['imgname']), groups)
        # keep only the rows in use, renumbered; 'frame_ids' stay the file's rows
        used = np.unique(np.concatenate([s['rows'] for s in self._sequences])) \
            if self._sequences else np.zeros(0, np.int64)
        lookup = np.full(len(ann['imgname']), -1, np.int64)
        lookup[used] = np.arange(len(used))
        for seq in self._sequences:
            seq['file_rows'], seq['rows'] = seq['rows'], lookup[seq['rows']]
        self._imgname = np.char.encode(ann['imgname'][used].astype(str), 'utf-8')
        self._center, self._scale = ann['center'][used], ann['scale'][used]
        self._joints = ann['S'][used]
        self._part = None if ann['part'] is None else ann['part'][used]
        return data_list

    def _raise_empty(self, found, num_rows, groups):
        """ValueError naming the file and the filters that matched no clip."""
        def listed(values):
            return ', '.join(sorted(map(str, values))) or '(none)'
        filters = [f'subjects={list(self.subjects)}']
        if self.actions is not None:
            filters.append(f'actions={list(self.actions)}')
        if self.cameras is not None:
            filters.append(f'cameras={list(self.cameras)}')
        if groups:
            longest = max(len(g['rows']) for g in groups.values())
            reason = (f'{len(groups)} sequence(s) match, but the longest has {longest} '
                      f'frames, fewer than one clip needs (seq_len={self.seq_len}, '
                      f'frame_interval={self.frame_interval}; pad_video_seq=True pads)')
        else:
            unmatched = [f'{what} {listed(set(mine) - found[what])}'
                         for what, mine in (('subjects', self.subjects),
                                            ('actions', self.actions or ()),
                                            ('cameras', self.cameras or ()))
                         if set(mine) - found[what]]
            reason = (f'no row matches {", ".join(filters)}'
                      f'{" (not in the file: " + "; ".join(unmatched) + ")" if unmatched else ""}'
                      f'. The file holds subjects {listed(found["subjects"])}; actions '
                      f'{listed(found["actions"])}; cameras {listed(found["cameras"])}')
        raise ValueError(f'{self.ann_path}: the {self.split} split is empty ({num_rows} rows): '
                         f'{reason}.')

    def _load_cameras(self):
        if self.camera_path is None or (not self.need_cameras and
                                        not osp.isfile(self.camera_path)):
            return None
        if not osp.isfile(self.camera_path):
            raise FileNotFoundError(
                f'{type(self).__name__} needs the camera file {self.camera_path} (image '
                f'sizes for normalising 2D joints); make a synthetic stand-in with: '
                f'{MAKE_SYNTHETIC_CMD.format(root=self.data_root)}')
        return load_camera_params(self.camera_path)

    def _camera(self, subject, camera):
        params = (self.camera_params or {}).get((subject, camera))
        if params is None:
            raise ValueError(f'{self.camera_path}: no parameters for (subject, camera) '
                             f'{(subject, camera)!r}')
        return params

    # --------------------------------------------------------------- one clip
    def _clip(self, idx):
        """(sequence dict, positions [context + T + context] into the kept rows,
        valid [T])."""
        if not self._fully_initialized:
            self.full_init()
        entry = BaseDataset.get_data_info(self, idx)   # works on serialized lists too
        seq = self._sequences[entry['seq']]
        positions, valid = clip_frames(len(seq['rows']), entry['start'], self.seq_len,
                                       self.frame_interval, self.context)
        return seq, positions, valid

    def get_data_info(self, idx: int) -> dict:
        """The clip at position idx (see class doc)."""
        seq, positions, valid = self._clip(idx)
        c = self.context
        own = positions[c:c + self.seq_len]
        rows = seq['rows'][own]
        joints = self._joints[rows]
        root = joints[:, self.root_index].copy()
        side = scale_to_size(self._scale[rows], self.bbox_padding)
        info = dict(
            sample_idx=int(idx),
            img_paths=[osp.join(self.img_root, n.decode('utf-8'))
                       for n in self._imgname[rows]],
            center=self._center[rows].copy(),
            bbox_size=np.stack([side, side], axis=-1).astype(np.float32),
            joints_3d=np.ascontiguousarray(joints - root[:, None], dtype=np.float32),
            root_3d=root, frame_ids=np.where(valid, seq['file_rows'][own], -1),
            subject=seq['subject'], action=seq['action'], action_name=seq['action_name'],
            camera=seq['camera'], seq_name=seq['seq_name'])
        if self._part is not None:
            part = self._part[seq['rows'][positions]]
            info['keypoints'] = np.ascontiguousarray(part[..., :2])
            info['keypoints_visible'] = np.ascontiguousarray(part[..., 2])
        if self.camera_params is not None:
            params = self.camera_params.get((seq['subject'], seq['camera']))
            if params is not None:
                info['camera_param'] = params
        return add_metainfo_to_info(info, self._metainfo)

    def clip_joints(self) -> np.ndarray:
        """Root-relative joints of every clip: float32 [n, T, K, 3] metres."""
        if not self._fully_initialized:
            self.full_init()
        out = np.empty((len(self), self.seq_len, self._num_keypoints, 3), np.float32)
        for i in range(len(self)):
            seq, positions, _ = self._clip(i)
            rows = seq['rows'][positions[self.context:self.context + self.seq_len]]
            joints = self._joints[rows]
            out[i] = joints - joints[:, self.root_index:self.root_index + 1]
        return out

    @property
    def sequences(self) -> List[Dict[str, Any]]:
        """The kept sequences: list of dicts with 'seq_name', 'subject', 'action',
        'action_name', 'camera' and 'file_rows' (rows of the npz, in frame order)."""
        if not self._fully_initialized:
            self.full_init()
        return self._sequences


def load_keypoint_2d_file(path: str, num_keypoints: int) -> Dict[str, np.ndarray]:
    """A 2D detection file: npz with 'imgname' [N] and 'keypoints' [N, K, 2 or 3] px
    (x, y[, score]). Returns {imgname: float32 [K, 3]} (score 1 when absent)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'2D keypoint file not found: {path} (an npz with imgname '
                                '[N] and keypoints [N, K, 2 or 3], image px)')
    data = dict(np.load(path, allow_pickle=False))
    names = _field(data, 'imgname', path, 'strings [N]',
                   lambda v: v.ndim == 1 and v.dtype.kind in 'US')
    points = _field(data, 'keypoints', path, f'float [{len(names)}, {num_keypoints}, 2 or 3]',
                    lambda v: v.ndim == 3 and v.shape[:2] == (len(names), num_keypoints)
                    and v.shape[2] in (2, 3) and v.dtype.kind in 'fiu')
    if points.shape[2] == 2:
        points = np.concatenate([points, np.ones((*points.shape[:2], 1))], axis=2)
    return dict(zip(names.astype(str).tolist(), points.astype(np.float32)))


@DATASETS.register_module()
class H36MLiftingDataset(H36MVideoDataset):
    """Human3.6M 2D keypoint sequences with 3D targets, for 2D → 3D lifting models.

    The clips of ``H36MVideoDataset`` (``seq_len`` target frames every ``seq_step``)
    without images: each sample holds the 2D keypoints of the target frames plus
    ``(receptive_field - 1) / 2`` frames of context on each side (repeating the first
    or last frame of the sequence where it ends), the 3D targets of the target frames
    and the camera's frame size for normalising. A temporal-convolution model with
    that receptive field predicts exactly the ``seq_len`` target frames.

    Args:
        receptive_field (int): odd input frames per output frame of the model (27,
            81, 243 …).
        keypoint_2d_file (str, optional): 2D detections instead of the ground-truth
            ``part``: an npz under data_root with 'imgname' [N] (as the annotation
            file's) and 'keypoints' [N, K, 2 or 3] px; every frame must be in it.
        **kwargs: the other arguments of ``H36MVideoDataset``; its
            ``camera_param_file`` is required (the frame sizes 'w', 'h').

    ``get_data_info(i)``: as ``H36MVideoDataset`` (no frames are read) with
    'keypoints' float32 [R - 1 + T, K, 2] px, 'keypoints_visible' [R - 1 + T, K],
    'image_size' (w, h) of the camera, 'joints_3d' [T, K, 3] root-relative metres and
    'frame_ids' [T].
    """

    sweep_example = dict(cfg=dict(split='test', seq_len=2, seq_step=2, receptive_field=3,
                                  pipeline=[dict(type='GenerateTarget', encoder=dict(
                                      type='VideoPoseLifting', num_frames=3)),
                                      dict(type='PackLiftingInputs')]),
                         data='h36m_full')

    need_part = True
    need_cameras = True

    def __init__(self, data_root: str, receptive_field: int = 27,
                 keypoint_2d_file: Optional[str] = None, **kwargs: Any) -> None:
        _check_count('receptive_field', receptive_field, 1)
        if receptive_field % 2 == 0:
            raise ValueError(f'receptive_field must be odd, got {receptive_field}')
        self.receptive_field = int(receptive_field)
        self.context = (self.receptive_field - 1) // 2 * 1
        self.keypoint_path = None if keypoint_2d_file is None else resolve_in_root(
            data_root, keypoint_2d_file, 'keypoint_2d_file')
        if kwargs.get('camera_param_file', 'set') is None:
            raise ValueError('H36MLiftingDataset needs camera_param_file (frame sizes)')
        super().__init__(data_root, **kwargs)
        if self.frame_interval != 1:
            raise ValueError('H36MLiftingDataset takes consecutive frames (frame_interval=1)')

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if self.keypoint_path is not None:
            detections = load_keypoint_2d_file(self.keypoint_path, self._num_keypoints)
            part = np.empty_like(self._part)
            for i, name in enumerate(self._imgname):
                found = detections.get(name.decode('utf-8'))
                if found is None:
                    raise ValueError(f'{self.keypoint_path}: no keypoints for frame '
                                     f'{name.decode("utf-8")} of {self.ann_path}')
                part[i] = found
            self._part = part
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        params = self._camera(info['subject'], info['camera'])
        info['image_size'] = (int(params['w']), int(params['h']))
        del info['img_paths']
        return info
