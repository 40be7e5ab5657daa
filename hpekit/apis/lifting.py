"""2D → 3D lifting at inference: a keypoint sequence → 3D joints per frame, and the
two-stage path (hpekit's 2D model on the frames, then the lifting network)."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike

from hpekit.apis.frames import DEFAULT_CHANNEL_ORDER, FrameSource, load_frames
from hpekit.apis.model import PoseModel
from hpekit.apis.topdown import inference_topdown
from hpekit.apis.video3d import pose3d_samples
from hpekit.codecs.pose_lifting import normalize_screen_coordinates
from hpekit.datasets.metainfo import keypoint_names
from hpekit.models.estimators import TASK_LIFTING, BasePoseEstimator
from hpekit.models.model_inputs import model_spec
from hpekit.structures import PoseDataSample


def inference_lifting(model: BasePoseEstimator, keypoints_2d: ArrayLike,
                      image_size: Sequence[int]) -> List[PoseDataSample]:
    """3D joints of every frame of a 2D keypoint sequence, with a lifting model.

    The sequence is padded by repeating its first and last frames (R − 1) / 2 times
    (R: the model's receptive field, ``model.spec.num_frames``), as in training, and
    lifted in one pass through ``model.export_forward`` (the spec's contract), so every
    frame gets a prediction.

    Args:
        model: a lifting model from ``init_model`` (spec task 'lifting').
        keypoints_2d: [T, K, 2] image px, in the keypoint order of the model's
            metainfo, or [T, K, 3] whose last column holds the 2D scores (not used by
            the network, passed on as ``keypoint_scores``).
        image_size: (w, h) of the frames the keypoints are in (the normalisation).

    Returns:
        list of T ``PoseDataSample``, one per frame, with ``pred_instances``:
        ``keypoints`` float32 [1, K, 3] (millimetres, camera frame, root-relative)
        and ``keypoint_scores`` float32 [1, K] (the 2D scores when given, else
        ones). Metainfo: ``frame_idx``, ``img_shape`` (h, w) of ``image_size``, the
        metainfo's per-sample keys (``flip_indices`` …). ``stack_keypoints`` turns
        the list into [T, K, 3].
    """
    spec = model_spec(model)
    if spec.task != TASK_LIFTING:
        raise ValueError(f'inference_lifting needs a lifting model, got task {spec.task!r}')
    points = np.asarray(keypoints_2d, np.float32)
    if points.ndim != 3 or points.shape[1] != spec.num_keypoints or \
            points.shape[2] not in (2, 3) or not len(points):
        raise ValueError(f'keypoints_2d must be [T, {spec.num_keypoints}, 2] px, got '
                         f'{list(points.shape)}')
    pad = (spec.num_frames - 1) // 2
    padded = np.concatenate([np.repeat(points[:1, :, :2], pad, axis=0), points[:, :, :2],
                             np.repeat(points[-1:, :, :2], pad, axis=0)])
    inputs = torch.from_numpy(normalize_screen_coordinates(padded, image_size))[None]
    with torch.no_grad():
        joints = model.export_forward(inputs.to(next(model.parameters()).device))
    width, height = (int(v) for v in image_size)
    return pose3d_samples(
        joints[0].float().cpu().numpy() * 1000.0,
        points[:, :, 2] if points.shape[2] == 3 else None,
        [dict(frame_idx=t, img_shape=(height, width)) for t in range(len(points))],
        getattr(model, 'dataset_meta', None) or {})


def inference_two_stage(pose2d_model: PoseModel, lifting_model: BasePoseEstimator,
                        frames: FrameSource, bboxes: Optional[ArrayLike] = None,
                        channel_order: str = DEFAULT_CHANNEL_ORDER) -> List[PoseDataSample]:
    """3D joints of the person in every frame: hpekit's 2D model, then lifting.

    The top-down 2D model (``inference_topdown``) finds the keypoints in each frame
    (in the person box of that frame, or the whole frame); the lifting model turns the
    sequence into 3D (``inference_lifting``). One call, frames in, 3D out.

    Args:
        pose2d_model: a top-down model from ``init_model`` whose keypoints are the
            lifting model's (same metainfo names, e.g. both Human3.6M's 17).
        lifting_model: a lifting model from ``init_model``.
        frames: a video file, a folder of images (both decoded to RGB), a uint8
            array [T, H, W, 3] or a list of image paths / [H, W, 3] arrays (see
            ``hpekit.apis.frames``).
        bboxes: None (whole frames), one [x1, y1, x2, y2] box for every frame, or
            [T, 4] boxes.
        channel_order (str): of arrays: 'bgr' (default, as MMPose; logged once per
            process when not given) or 'rgb'. Files ignore it.

    Returns:
        list of T ``PoseDataSample``, one per frame (see ``inference_lifting``), with
        ``pred_instances``: ``keypoints`` float32 [1, K, 3] mm (root-relative camera
        frame), ``keypoint_scores`` [1, K] (the 2D model's), ``keypoints_2d``
        float32 [1, K, 2] image px and ``bboxes`` [1, 4] (xyxy, the 2D model's box).

    Raises:
        ValueError: the two models' keypoints differ (names listed).
    """
    names_2d = keypoint_names(pose2d_model.dataset_meta)
    names_3d = keypoint_names(lifting_model.dataset_meta)
    if names_2d != names_3d:
        raise ValueError(f'the 2D model predicts {len(names_2d)} keypoints {names_2d[:4]}… '
                         f'but the lifting model takes {len(names_3d)} keypoints '
                         f'{names_3d[:4]}…: train the 2D model on the lifting model\'s '
                         'keypoints (the same metainfo)')
    video = load_frames(frames, channel_order=channel_order)
    height, width = video.shape[1:3]
    boxes = None if bboxes is None else np.asarray(bboxes, np.float32).reshape(-1, 4)
    if boxes is not None and len(boxes) not in (1, len(video)):
        raise ValueError(f'bboxes: one box or one per frame ({len(video)}), got {len(boxes)}')
    found = []
    for t, frame in enumerate(video):
        box = None if boxes is None else boxes[min(t, len(boxes) - 1)][None]
        found.append(inference_topdown(pose2d_model, frame, box,     # frames are RGB now
                                       channel_order='rgb')[0].pred_instances)
    keypoints = np.concatenate([inst.keypoints for inst in found])
    scores = np.concatenate([inst.keypoint_scores for inst in found])
    with_scores = np.concatenate([keypoints, scores[..., None]], axis=-1)
    samples = inference_lifting(lifting_model, with_scores, (width, height))
    for sample, inst in zip(samples, found):
        sample.pred_instances.keypoints_2d = inst.keypoints
        sample.pred_instances.bboxes = inst.bboxes
    return samples
