"""Video → 3D inference: a clip's frames through a video 3D model window by window.

3D joints are millimetres in camera coordinates (x right, y down, z away),
pelvis-relative as in training, in the keypoint order of the dataset metainfo.
"""
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData

from hpekit.apis.frames import DEFAULT_CHANNEL_ORDER, FrameSource, load_frames
from hpekit.apis.model import PoseModel, predict_items, task_meta
from hpekit.datasets.metainfo import add_metainfo_to_info
from hpekit.models.estimators import TASK_VIDEO3D
from hpekit.structures import PoseDataSample


def window_starts(num_frames: int, clip_len: int) -> List[int]:
    """First frames of the windows covering ``num_frames`` frames with ``clip_len``.

    Windows of ``clip_len`` frames start at 0, clip_len, 2·clip_len, …; when the
    frames do not divide evenly, one more window ends at the last frame (it overlaps
    the one before). Fewer frames than ``clip_len``: one window at 0.
    """
    if num_frames <= clip_len:
        return [0]
    starts = list(range(0, num_frames - clip_len + 1, clip_len))
    if starts[-1] + clip_len < num_frames:
        starts.append(num_frames - clip_len)
    return starts


def _window(frames, start, clip_len):
    """frames[start:start + clip_len] as uint8 tensor [L, 3, H, W]; a short clip is
    padded by repeating its last frame."""
    window = frames[start:start + clip_len]
    if len(window) < clip_len:
        pad = np.repeat(window[-1:], clip_len - len(window), axis=0)
        window = np.concatenate([window, pad])
    return torch.from_numpy(np.ascontiguousarray(window.transpose(0, 3, 1, 2)))


def inference_video3d(model: PoseModel, frames: FrameSource, batch_size: int = 4,
                      clip_len: Optional[int] = None,
                      channel_order: str = DEFAULT_CHANNEL_ORDER) -> List[PoseDataSample]:
    """3D joints of the person in every frame of a clip, as MMPose's lifter API.

    Frames are resized to the model's input size (``model.spec.input_size``,
    no crop: give person-centred frames, as in training). The model runs on windows
    of ``clip_len`` frames (see ``window_starts``); a frame covered by two windows
    gets the mean of their predictions; a clip shorter than ``clip_len`` is padded by
    repeating its last frame and the padding's predictions are dropped.

    Args:
        model: a video 3D model from ``init_model``.
        frames: a video file, a folder of images (sorted by name) — both decoded
            to RGB —, a uint8 array [T, H, W, 3], or a list of image paths /
            [H, W, 3] arrays.
        batch_size (int): windows per forward pass.
        clip_len (int, optional): frames per window; default
            ``model.spec.num_frames`` (the training clip length).
        channel_order (str): of arrays: 'bgr' (default, as MMPose's
            ``cv2.imread``/``cv2.VideoCapture`` output; logged once per process when
            not given) or 'rgb'. Files ignore it.

    Returns:
        list of T ``PoseDataSample``, one per input frame, with ``pred_instances``:
        ``keypoints`` float32 [1, K, 3] — millimetres, camera coordinates (x right,
        y down, z away), pelvis-relative as in training — and ``keypoint_scores``
        float32 [1, K] (ones: video models give no scores). Metainfo: ``frame_idx``,
        ``img_shape`` (H, W) of the frame as read, ``input_size`` (W, H) it was
        resized to, ``clip_len`` and the metainfo's per-sample keys
        (``flip_indices`` …). ``stack_keypoints`` turns the list into [T, K, 3].
    """
    meta, spec = task_meta(model, TASK_VIDEO3D)
    clip_len = int(clip_len or spec.num_frames)
    if clip_len < 1 or batch_size < 1:
        raise ValueError(f'clip_len and batch_size must be >= 1, got {clip_len}, '
                         f'{batch_size}')
    clip, shapes = load_frames(frames, spec.input_size, channel_order, return_shapes=True)
    starts = window_starts(len(clip), clip_len)
    total = count = None
    for first in range(0, len(starts), batch_size):
        batch = starts[first:first + batch_size]
        items = [dict(inputs=_window(clip, s, clip_len)) for s in batch]
        for start, sample in zip(batch, predict_items(model, items)):
            pred = sample.pred_joints_3d.cpu().numpy().astype(np.float64)
            if total is None:
                total = np.zeros((len(clip), *pred.shape[1:]))
                count = np.zeros(len(clip))
            end = min(start + clip_len, len(clip))
            total[start:end] += pred[:end - start]
            count[start:end] += 1
    joints = total / count[:, None, None] * 1000.0
    return pose3d_samples(joints, None, [
        dict(frame_idx=t, img_shape=shapes[t], input_size=tuple(spec.input_size),
             clip_len=clip_len) for t in range(len(clip))], meta)


def pose3d_samples(joints_mm: np.ndarray, scores: Optional[np.ndarray],
                   frame_meta: Sequence[dict], dataset_meta: dict,
                   **fields: np.ndarray) -> List[PoseDataSample]:
    """One ``PoseDataSample`` per frame from 3D joints of one person per frame.

    Args:
        joints_mm: [T, K, 3] millimetres.
        scores: [T, K] per-joint scores, or None (ones).
        frame_meta: T dicts, each frame's metainfo.
        dataset_meta: parsed metainfo; its per-sample keys (``flip_indices`` …) are
            added to every frame's metainfo, as ``inference_topdown`` does.
        **fields: more per-frame instance fields, arrays [T, ...] (e.g.
            ``keypoints_2d`` [T, K, 2]).

    Returns:
        list of T samples; ``pred_instances.keypoints`` float32 [1, K, 3],
        ``keypoint_scores`` float32 [1, K] and each of ``fields`` as [1, ...].
    """
    joints = np.asarray(joints_mm, np.float32)
    if scores is None:
        scores = np.ones(joints.shape[:2], np.float32)
    samples = []
    for t, info in enumerate(frame_meta):
        sample = PoseDataSample(metainfo=add_metainfo_to_info(dict(info), dataset_meta))
        sample.pred_instances = InstanceData(
            keypoints=joints[t:t + 1],
            keypoint_scores=np.asarray(scores[t:t + 1], np.float32),
            **{key: value[t:t + 1] for key, value in fields.items()})
        samples.append(sample)
    return samples


def stack_keypoints(samples: Sequence[PoseDataSample],
                    field: str = 'keypoints') -> np.ndarray:
    """Per-frame samples of one person each (``inference_video3d``,
    ``inference_lifting``, ``inference_two_stage``) → one array over frames.

    Args:
        samples: T samples, each with exactly one instance in ``pred_instances``.
        field (str): the instance field to stack ('keypoints', 'keypoint_scores',
            'keypoints_2d' …).

    Returns:
        np.ndarray [T, ...]: e.g. [T, K, 3] mm for 'keypoints' of 3D samples.
        (``merge_data_samples`` is for the people of one image: N instances in one
        sample.)

    Raises:
        ValueError: no samples, or a sample without ``field`` or with other than
            one instance (its index named).
    """
    if not len(samples):
        raise ValueError('stack_keypoints needs at least one sample')
    rows = []
    for t, sample in enumerate(samples):
        instances = sample.get('pred_instances')
        if instances is None or field not in instances or len(instances) != 1:
            have = 'no pred_instances' if instances is None else \
                f'{len(instances)} instances with fields {sorted(instances.keys())}'
            raise ValueError(f'stack_keypoints: sample {t} needs one instance with '
                             f'pred_instances.{field}; it has {have}')
        rows.append(np.asarray(instances.get(field)))
    return np.concatenate(rows)
