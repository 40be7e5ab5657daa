"""Human3.6M video clips with 3D joints (pipeline A), read from the course .npy files.

File format of a split (``split`` is 'train' or 'valid'), under ``data_root``:

- ``videoframes_clips_{split}.npy``: uint8 [N, T, H, W, 3] RGB frames (T=8, 224×224);
- ``joint_3d_clips_{split}.npy``: float32 or float64 [N, T, 17, 3], metres, camera
  coordinates relative to the pelvis, in the joint order of the metainfo file
  ``configs/_base_/datasets/h36m.py``.

The files are opened with ``np.load(mmap_mode='r')`` and never read whole (the train
video file is ~7.2 GB); each process opens them itself on first use.
"""
import mmap
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from hpekit.datasets.base import BasePoseDataset, build_pipeline
from hpekit.datasets.metainfo import add_metainfo_to_info, keypoint_names
from hpekit.datasets.skipping import report_skipped
from hpekit.datasets.synthetic.h36m import render_h36m_clip, sample_h36m_poses
from hpekit.registry import DATASETS

H36M_METAINFO_FILE = 'configs/_base_/datasets/h36m.py'

MAKE_SYNTHETIC_CMD = 'python tools/make_synthetic_data.py h36m --out {root}'


def _check(ok, path, field, expected, found):
    """Raise ValueError naming the file, the field and expected vs found unless ok."""
    if not ok:
        raise ValueError(f'{path}: bad {field}: expected {expected}, found {found}')


def _validate_videos(path, videos):
    """Check a video array is uint8 [N, T, H, W, 3] with H, W > 0."""
    _check(videos.ndim == 5, path, 'rank', '5 dims [N, T, H, W, 3]',
           f'{videos.ndim} dims, shape {videos.shape}')
    _check(videos.dtype == np.uint8, path, 'dtype', 'uint8', videos.dtype)
    _check(videos.shape[2] > 0, path, 'shape[2] (height)', '> 0', videos.shape[2])
    _check(videos.shape[3] > 0, path, 'shape[3] (width)', '> 0', videos.shape[3])
    _check(videos.shape[4] == 3, path, 'shape[4] (channels)', '3 (RGB)', videos.shape[4])


def _validate_joints(path, joints, videos, video_path, num_keypoints):
    """Check a joint array is float [N, T, K, 3] with N, T equal to the videos'."""
    _check(joints.ndim == 4, path, 'rank', f'4 dims [N, T, {num_keypoints}, 3]',
           f'{joints.ndim} dims, shape {joints.shape}')
    _check(joints.dtype in (np.float32, np.float64), path, 'dtype', 'float32 or float64',
           joints.dtype)
    _check(joints.shape[0] == videos.shape[0], path, 'shape[0] (clips)',
           f'{videos.shape[0]} as in {video_path}', joints.shape[0])
    _check(joints.shape[1] == videos.shape[1], path, 'shape[1] (frames)',
           f'{videos.shape[1]} as in {video_path}', joints.shape[1])
    _check(joints.shape[2] == num_keypoints, path, 'shape[2] (joints)',
           f'{num_keypoints} (the metainfo\'s keypoints)', joints.shape[2])
    _check(joints.shape[3] == 3, path, 'shape[3] (xyz)', 3, joints.shape[3])


class _ClipFiles:
    """The two memory-mapped arrays of a split, opened lazily in each process.

    Pickling or deep-copying drops the open maps (only the paths travel), so DataLoader
    workers and dataset subsets reopen the files instead of copying their contents.
    """

    def __init__(self, video_path, joint_path, data_root, num_keypoints):
        self.video_path, self.joint_path, self.data_root = video_path, joint_path, data_root
        self.num_keypoints = num_keypoints
        self._videos = self._joints = None

    def _open(self, path):
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Human3.6M clip file not found: {path}. Expected the course split files '
                f'videoframes_clips_{{train,valid}}.npy and joint_3d_clips_{{train,valid}}'
                f'.npy there; make a small synthetic stand-in with: '
                f'{MAKE_SYNTHETIC_CMD.format(root=self.data_root or osp.dirname(path))}')
        try:
            array = np.load(path, mmap_mode='r', allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            # numpy's own text may suggest allow_pickle, which must not be followed
            reason = '' if 'pickle' in str(err) else f': {err}'
            raise ValueError(f'{path}: not a readable .npy array file (empty, truncated, '
                             f'pickled objects or another format){reason}') from None
        if not isinstance(array, np.ndarray):
            raise ValueError(f'{path}: expected one .npy array, found an archive '
                             f'({type(array).__name__})')
        if len(array) == 0:
            raise ValueError(f'{path}: holds 0 clips (shape {array.shape})')
        return array

    def open(self):
        """Map and validate both files (cheap: only the headers are read)."""
        if self._videos is None:
            videos, joints = self._open(self.video_path), self._open(self.joint_path)
            _validate_videos(self.video_path, videos)
            _validate_joints(self.joint_path, joints, videos, self.video_path,
                             self.num_keypoints)
            self._videos, self._joints = videos, joints
        return self._videos, self._joints

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_videos'] = state['_joints'] = None
        return state

    def __deepcopy__(self, memo):
        return _ClipFiles(self.video_path, self.joint_path, self.data_root,
                          self.num_keypoints)


# Joints are metres relative to the pelvis: anything farther is a unit or data error.
MAX_ABS_METRES = 20.0


def find_invalid_clips(joints: np.ndarray, chunk: int = 1024,
                       joint_names: Optional[Sequence[str]] = None) -> List[Tuple[int, str]]:
    """Clips whose joints are not finite metres: list of (clip index, problem text).

    Args:
        joints: float array [N, T, K, 3] in metres (a memmap is read ``chunk`` clips
            at a time).
        joint_names (sequence[str], optional): K names (the metainfo's keypoints) that
            the texts use for a joint; default its index.
    """
    problems = []
    for start in range(0, len(joints), chunk):
        block = np.asarray(joints[start:start + chunk], dtype=np.float64)
        finite = np.isfinite(block)
        size = np.abs(np.where(finite, block, 0.0)).max(axis=(1, 2, 3), initial=0.0)
        for k in np.flatnonzero(~finite.all(axis=(1, 2, 3)) | (size > MAX_ABS_METRES)):
            if not finite[k].all():
                frame, joint, _ = np.argwhere(~finite[k])[0]
                name = joint if joint_names is None else joint_names[joint]
                text = (f'expected finite values, found {block[k][frame, joint].tolist()} '
                        f'(frame {frame}, joint {name})')
            else:
                text = (f'expected metres relative to the pelvis (|value| <= '
                        f'{MAX_ABS_METRES:g}), found {size[k]:.6g} (millimetres?)')
            problems.append((start + int(k), text))
    return problems


def _resolve(data_root, name):
    """A file path: ``name`` if absolute, else joined to ``data_root``."""
    return name if osp.isabs(name) or not data_root else osp.join(data_root, name)


def release_pages(array: np.ndarray, index: int) -> None:
    """Drop the pages of ``array[index]`` from this process's resident memory.

    For a read-only ``np.memmap`` (as ``np.load(mmap_mode='r')`` returns): the pages
    stay in the OS page cache and are mapped again on the next access, but they no
    longer count in the process's RSS, which would otherwise grow with every clip read
    until it holds the whole file. A no-op for other arrays or without ``madvise``.
    """
    mapped = getattr(array, '_mmap', None)
    if mapped is None or not hasattr(mapped, 'madvise') or \
            not hasattr(mmap, 'MADV_DONTNEED'):
        return
    stride = array.strides[0]
    start = array.offset % mmap.ALLOCATIONGRANULARITY + index * stride
    first = start - start % mmap.PAGESIZE
    last = min(len(mapped), start + stride)
    if last > first:
        mapped.madvise(mmap.MADV_DONTNEED, first, last - first)


def _clip_info(sample_idx, frames, joints):
    """The data-info dict of one clip (copies, contiguous, fixed dtypes)."""
    # np.array copies: a slice of a read-only memmap must not travel on as a view.
    return {'sample_idx': int(sample_idx),
            'frames': np.array(frames, dtype=np.uint8, order='C'),
            'joints_3d': np.array(joints, dtype=np.float32, order='C')}


@DATASETS.register_module()
class H36MClipDataset(BasePoseDataset):
    """Human3.6M clips of T frames with 3D joints, from the course .npy files.

    Args:
        data_root (str): folder holding the split files.
        split (str): 'train' or 'valid'.
        pipeline (sequence): transform configs (hpekit TRANSFORMS) or callables.
        indices (int | sequence[int], optional): keep only these clips (mmengine).
        test_mode (bool): no re-fetching of failed samples (mmengine).
        lazy_init (bool): defer opening the files to first use.
        video_file / joint_file (str, optional): file names (or absolute paths)
            replacing ``videoframes_clips_{split}.npy`` / ``joint_3d_clips_{split}.npy``.
        skip_invalid (bool): drop clips whose joints are NaN/Inf or not plausible
            metres (``MAX_ABS_METRES``), each logged, with the count at the end,
            instead of raising.

    ``get_data_info(i)`` returns ``{'sample_idx': int, 'frames': uint8 [T, H, W, 3] RGB,
    'joints_3d': float32 [T, K, 3] metres}`` (copies of just that clip) plus the
    per-sample metainfo keys (``BasePoseDataset``). ``metainfo``: the parsed metainfo
    file (``configs/_base_/datasets/h36m.py`` unless ``metainfo`` names another).

    Raises:
        FileNotFoundError: a file is missing (the message says how to make a stand-in).
        ValueError: a file has the wrong rank, dtype or shape, or a clip's joints are
            NaN/Inf or far beyond metres (file, field or clip, expected and found are
            named).
    """

    sweep_example = dict(cfg=dict(split='valid', pipeline=[dict(type='PackClipInputs')]),
                         data='h36m')

    METAINFO = dict(from_file=H36M_METAINFO_FILE)

    def __init__(self, data_root: str, split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 indices: Optional[Union[int, Sequence[int]]] = None, test_mode: bool = False,
                 lazy_init: bool = False, video_file: Optional[str] = None,
                 joint_file: Optional[str] = None, skip_invalid: bool = False,
                 metainfo: Optional[dict] = None) -> None:
        if split not in ('train', 'valid'):
            raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
        self.split, self.skip_invalid = split, skip_invalid
        num_keypoints = self._load_metainfo(metainfo)['num_keypoints']
        self.files = _ClipFiles(
            _resolve(data_root, video_file or f'videoframes_clips_{split}.npy'),
            _resolve(data_root, joint_file or f'joint_3d_clips_{split}.npy'), data_root,
            num_keypoints)
        super().__init__(data_root=data_root, pipeline=build_pipeline(pipeline),
                         indices=indices, serialize_data=False, test_mode=test_mode,
                         lazy_init=lazy_init, metainfo=metainfo)

    @property
    def videos(self) -> np.ndarray:
        """The memory-mapped video array, uint8 [N, T, H, W, 3] (np.memmap)."""
        return self.files.open()[0]

    @property
    def joints(self) -> np.ndarray:
        """The memory-mapped joint array, float [N, T, 17, 3] metres (np.memmap)."""
        return self.files.open()[1]

    def clip_joints(self) -> np.ndarray:
        """Joints of this dataset's clips (subset order): float32 [n, T, 17, 3] metres."""
        if not self._fully_initialized:
            self.full_init()
        rows = [info['sample_idx'] for info in self.data_list]
        return np.asarray(self.joints[rows], dtype=np.float32)

    def load_data_list(self) -> List[dict]:
        """Validate the files and joint values; list the clips: [{'sample_idx': i}]."""
        path = self.files.joint_path
        problems = find_invalid_clips(self.joints,
                                      joint_names=keypoint_names(self._metainfo))
        if problems and not self.skip_invalid:
            clip, text = problems[0]
            more = f' ({len(problems) - 1} more clips are bad)' if len(problems) > 1 else ''
            raise ValueError(f'{path}: clip {clip}: bad joints: {text}{more}. Fix the '
                             f'file, or pass skip_invalid=True to skip such clips.')
        report_skipped(path, [f'{path}: clip {c}: bad joints: {t}' for c, t in problems],
                       len(self.videos))
        bad = {clip for clip, _ in problems}
        return [{'sample_idx': i} for i in range(len(self.videos)) if i not in bad]

    def get_data_info(self, idx: int) -> dict:
        """The clip at position idx of this (possibly subset) dataset; see class doc."""
        if not self._fully_initialized:
            self.full_init()
        clip = self.data_list[idx]['sample_idx']
        videos, joints = self.files.open()
        info = _clip_info(clip, videos[clip], joints[clip])
        release_pages(videos, clip)   # keep RSS flat over an epoch of a large file
        return add_metainfo_to_info(info, self._metainfo)


@DATASETS.register_module()
class SyntheticH36MClips(BasePoseDataset):
    """A small in-memory set of rendered synthetic clips (tests, smoke runs).

    The same output as ``H36MClipDataset``, generated at start-up by
    ``hpekit.datasets.synthetic.h36m`` (deterministic for a seed). Memory is
    num_samples × num_frames × image_size² × 3 bytes.

    Args:
        num_samples (int): number of clips N.
        num_frames (int): frames T per clip.
        image_size (int): frame height = width.
        seed (int): random seed of poses and backgrounds.
        pipeline (sequence): transform configs or callables.
        test_mode (bool): as mmengine's BaseDataset.
    """

    sweep_example = dict(cfg=dict(num_samples=2, num_frames=2, image_size=16,
                                  pipeline=[dict(type='PackClipInputs')]), data=None)

    METAINFO = dict(from_file=H36M_METAINFO_FILE)

    def __init__(self, num_samples: int, num_frames: int = 8, image_size: int = 224,
                 seed: int = 0, pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False, metainfo: Optional[dict] = None) -> None:
        self.num_samples, self.num_frames = num_samples, num_frames
        self.image_size, self.seed = image_size, seed
        super().__init__(pipeline=build_pipeline(pipeline), serialize_data=False,
                         test_mode=test_mode, metainfo=metainfo)

    def load_data_list(self) -> List[dict]:
        """Render all clips into ``self.frames`` / ``self.joints_3d``; list them."""
        rng = np.random.default_rng(self.seed)
        self.joints_3d = sample_h36m_poses(rng, self.num_samples, self.num_frames)
        self.frames = np.stack([render_h36m_clip(j, self.image_size, rng)
                                for j in self.joints_3d]) if self.num_samples else \
            np.zeros((0, self.num_frames, self.image_size, self.image_size, 3), np.uint8)
        return [{'sample_idx': i} for i in range(self.num_samples)]

    def clip_joints(self) -> np.ndarray:
        """Joints of this dataset's clips: float32 [n, T, 17, 3] metres."""
        if not self._fully_initialized:
            self.full_init()
        rows = [info['sample_idx'] for info in self.data_list]
        return self.joints_3d[rows].astype(np.float32)

    def get_data_info(self, idx: int) -> dict:
        """The clip at position idx; same dict as ``H36MClipDataset.get_data_info``."""
        if not self._fully_initialized:
            self.full_init()
        clip = self.data_list[idx]['sample_idx']
        return add_metainfo_to_info(_clip_info(clip, self.frames[clip], self.joints_3d[clip]),
                                    self._metainfo)
