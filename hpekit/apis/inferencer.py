"""``PoseInferencer``: people in images, folders, videos or a webcam, as MMPose's;
``PoseInferencer.track_video``: detected, tracked, smoothed 2D poses and their 3D lift
on a video in the wild (docs/inference.md, "Video in the wild")."""
import json
import logging
import os
import os.path as osp
from collections import deque
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log

from hpekit.apis.detectors import Detector, build_detector
from hpekit.apis.frames import (DEFAULT_CHANNEL_ORDER, as_rgb, check_channel_order,
                                is_image_file, iter_video, list_images, read_image)
from hpekit.apis.lifting import inference_lifting
from hpekit.apis.model import init_model
from hpekit.apis.topdown import inference_topdown, merge_data_samples
from hpekit.apis.tracking import boxes_from_keypoints
from hpekit.config.files import find_config_file
from hpekit.core.boxes import boxes_overlap_image
from hpekit.core.keypoint_mapping import load_keypoint_mapping, map_keypoints
from hpekit.core.smoothing import build_pose_filter
from hpekit.datasets.metainfo import keypoint_names
from hpekit.models.estimators import TASK_LIFTING, TASK_TOPDOWN
from hpekit.models.model_inputs import model_spec
from hpekit.registry import TRACKERS
from hpekit.structures import PoseDataSample
from hpekit.visualization import PoseLocalVisualizer


def _webcam_frames(index, max_frames=None):
    """(label, RGB frame) from camera ``index`` until it stops or ``max_frames``
    (OpenCV's BGR frames converted here)."""
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise OSError(f'cannot open webcam {index}')
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            yield f'webcam{index}_{count:06d}', cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            count += 1
    finally:
        capture.release()


#: What ``PoseInferencer`` and ``iter_inputs`` take: a path (image, folder, video), a
#: webcam index, a uint8 array [H, W, 3] (BGR unless ``channel_order='rgb'``) or a
#: sequence of any of these but webcams.
Inputs = Union[str, os.PathLike, int, np.ndarray, Sequence[Union[str, os.PathLike, np.ndarray]]]


def iter_inputs(inputs: Inputs, max_frames: Optional[int] = None,
                channel_order: str = DEFAULT_CHANNEL_ORDER
                ) -> Iterator[Tuple[str, Optional[str], np.ndarray]]:
    """(name, path or None, RGB frame) for every picture an input stands for.

    ``inputs``: an image file, a folder of images, a video file, a webcam index (int),
    a uint8 array [H, W, 3] or a list of any of these but webcams. Files and webcam
    frames are decoded to RGB here; arrays are in ``channel_order``: 'bgr' (default,
    as MMPose's inferencer; logged once per process when not given, see
    ``hpekit.apis.frames.note_bgr_default``) or 'rgb'.
    """
    check_channel_order(channel_order)
    if isinstance(inputs, bool):
        raise TypeError('inputs must be a path, a webcam index, an array or a list')
    if isinstance(inputs, int):
        for name, frame in _webcam_frames(inputs, max_frames):
            yield name, None, frame
    elif isinstance(inputs, (str, os.PathLike)):
        path = os.fspath(inputs)
        if osp.isdir(path):
            for image in list_images(path):
                yield osp.basename(image), image, read_image(image)
        elif is_image_file(path):
            yield osp.basename(path), path, read_image(path)
        else:
            stem = osp.splitext(osp.basename(path))[0]
            for t, frame in enumerate(iter_video(path)):
                if max_frames is not None and t >= max_frames:
                    break
                yield f'{stem}_{t:06d}.jpg', None, frame
    elif isinstance(inputs, np.ndarray):
        yield 'image.jpg', None, as_rgb(inputs, channel_order)
    elif isinstance(inputs, (list, tuple)):
        for i, item in enumerate(inputs):
            for name, path, frame in iter_inputs(item, max_frames, channel_order):
                yield (name if path else f'{i:06d}_{name}'), path, frame
    else:
        raise TypeError(f'inputs must be a path, a webcam index, an array or a list, got '
                        f'{type(inputs).__name__}')


def instances_to_json(merged: PoseDataSample) -> List[Dict[str, Any]]:
    """A merged sample's instances as MMPose's prediction records (lists, JSON-ready)."""
    inst = merged.pred_instances
    if 'keypoints' not in inst:
        return []
    return [dict(keypoints=inst.keypoints[i].tolist(),
                 keypoint_scores=inst.keypoint_scores[i].tolist(),
                 bbox=inst.bboxes[i].tolist(),
                 bbox_score=float(inst.bbox_scores[i]) if 'bbox_scores' in inst else 1.0)
            for i in range(len(inst.keypoints))]


#: The shipped keypoint mapping tried when the 2D and 3D models name different keypoints.
DEFAULT_KEYPOINT_MAPPING = '_base_/datasets/coco_to_h36m.py'
#: Units and frame of ``keypoints_3d`` in every result (``inference_lifting``'s output).
KEYPOINTS_3D_UNIT = 'mm'
KEYPOINTS_3D_FRAME = 'camera frame (x right, y down, z away from the camera), root-relative'


def _detector_config(detector, det_model, det_weights, det_cat_ids, bbox_thr, nms_thr,
                     device):
    """The detector config from MMPose's ``det_model`` arguments, or ``detector``.

    ``det_model``: an MMDetection RTMDet config (→ ``RTMDetPersonDetector``) or a COCO
    detection results JSON (→ ``DetectionsFileDetector``, boxes matched by frame name).
    """
    if det_model is None:
        return detector
    if detector is not None:
        raise ValueError('give either detector or det_model (MMPose\'s name), not both')
    cat_ids = [det_cat_ids] if isinstance(det_cat_ids, int) else list(det_cat_ids)
    if len(cat_ids) != 1:
        raise ValueError(f'det_cat_ids: one person class is used, got {cat_ids}')
    det_model = os.fspath(det_model)
    if det_model.lower().endswith('.json'):
        if det_weights is not None:
            raise ValueError(f'det_model {det_model} is a detection results file; it '
                             f'takes no det_weights (got {det_weights})')
        return dict(type='DetectionsFileDetector', det_file=det_model, score_thr=bbox_thr)
    return dict(type='RTMDetPersonDetector', config=det_model, checkpoint=det_weights,
                score_thr=bbox_thr, nms_thr=nms_thr, person_class=int(cat_ids[0]),
                device=device)


class PoseInferencer:
    """Detect people, estimate their 2D poses, draw and save, for any input; on a video,
    also track, smooth and lift them to 3D (``track_video``).

    Args:
        config: config path or Config of a model whose spec's task is 'topdown2d'
            (MMPose's name ``pose2d`` is accepted too; give one of the two).
        checkpoint (str, optional): weights (hpekit's safe, strict loading); MMPose's
            name ``pose2d_weights`` is accepted too.
        device (str): e.g. 'cpu' or 'cuda:0'.
        detector: a PERSON_DETECTORS config (``WholeImageDetector`` — the default —,
            ``GivenBoxesDetector``, ``DetectionsFileDetector``, ``RTMDetPersonDetector``,
            or one you register), or any callable ``(image, name) -> (boxes xyxy
            [N, 4], scores [N])``.
        cfg_options (dict, optional): config overrides.
        kpt_thr (float): joints scoring below are not drawn (and do not make the
            boxes proposed from poses between detector runs).
        batch_size (int, optional): person crops per forward pass; default: the
            fastest per crop for the backend (``inference.default_batch_size``).
        backend (str): 'pytorch', 'onnxruntime' or 'openvino' (see ``init_model``).
        precision (str): the 2D model's precision, 'float32' (default) or 'bfloat16'
            (see ``init_model``); the lifter and the detector run in float32.
        pose3d, pose3d_weights: a lifting model (spec task 'lifting') and its weights:
            ``track_video`` then lifts every track to 3D.
        det_model, det_weights: MMPose's detector arguments: an MMDetection RTMDet
            config and checkpoint (→ ``RTMDetPersonDetector``), or a COCO detection
            results JSON whose ``image_id`` are the frame names (no weights).
        det_cat_ids (int | list[int]): the detector's person class (MMPose's default 0).
        bbox_thr, nms_thr (float): the RTMDet detector's score and NMS thresholds
            (MMPose demo's ``--bbox-thr``, ``--nms-thr``).
        tracker (dict, optional): a ``TRACKERS`` config; default
            ``dict(type='PoseTracker')`` with the 2D metainfo's OKS sigmas.
        smooth: None, a filter short name ('one_euro', 'savgol', 'gaussian') or a
            ``POSE_FILTERS`` config, applied per track to the 2D keypoints before
            lifting (see ``track_video``).
        smooth3d: the same for the lifter's 3D joints (mm) of each track, after
            lifting; None (default): not smoothed. A One-Euro filter's ``beta`` is per
            unit of speed, so 2D (px) and 3D (mm) take their own settings.
        det_interval (int): run the detector every this many frames of a video; the
            frames between take the boxes of the previous frame's tracked poses.
        keypoint_mapping: a mapping file or dict ``{target: {source: weight}}`` forming
            the lifter's keypoints from the 2D model's when their names differ; default
            ``configs/_base_/datasets/coco_to_h36m.py``.

    Raises (before any frame is read):
        ValueError: a 3D model whose keypoints cannot be formed from the 2D model's
            (the keypoints named), a model of the wrong task, bad arguments.

    ``inferencer(inputs, out_dir=None, bbox_thr=0.0, max_frames=None, return_vis=False,
    channel_order='bgr')`` yields one dict per picture (``inputs``: see ``iter_inputs``;
    image and video files are decoded to RGB, arrays are BGR unless
    ``channel_order='rgb'``, as MMPose's inferencer takes them): ``name``,
    ``predictions`` (one ``PoseDataSample`` per person, see ``inference_topdown``)
    and, with ``return_vis``, ``visualization`` (uint8 RGB), and ``skipped_boxes``: the
    number of the detector's boxes (at or above ``bbox_thr``) left out because they lie
    wholly outside the picture (each such picture logs a warning;
    ``self.skipped_boxes`` keeps the total). With ``out_dir``
    it writes ``visualizations/<name>`` and ``predictions/<name>.json`` (MMPose's
    record layout) there. It neither tracks nor lifts: ``track_video`` does.
    """

    def __init__(self, config: Union[None, str, Config] = None,
                 checkpoint: Optional[str] = None, device: str = 'cpu',
                 detector: Union[None, dict, Detector] = None,
                 cfg_options: Optional[dict] = None, kpt_thr: float = 0.3,
                 batch_size: Optional[int] = None, backend: str = 'pytorch', *,
                 pose2d: Union[None, str, Config] = None, pose2d_weights: Optional[str] = None,
                 pose3d: Union[None, str, Config] = None, pose3d_weights: Optional[str] = None,
                 det_model: Optional[str] = None, det_weights: Optional[str] = None,
                 det_cat_ids: Union[int, Sequence[int]] = 0, bbox_thr: float = 0.3,
                 nms_thr: float = 0.3, tracker: Optional[dict] = None,
                 smooth: Union[None, str, dict] = None,
                 smooth3d: Union[None, str, dict] = None, det_interval: int = 1,
                 keypoint_mapping: Union[None, str, dict] = None,
                 precision: str = 'float32'):
        if (config is None) == (pose2d is None):
            raise ValueError('give the 2D model as config or pose2d (MMPose\'s name), '
                             'exactly one of them')
        if checkpoint is not None and pose2d_weights is not None:
            raise ValueError('give the 2D weights as checkpoint or pose2d_weights, not both')
        if isinstance(det_interval, bool) or not isinstance(det_interval, int) \
                or det_interval < 1:
            raise ValueError(f'det_interval must be an int >= 1, got {det_interval!r}')
        self.model = init_model(config if pose2d is None else pose2d,
                                checkpoint or pose2d_weights, device, cfg_options,
                                backend=backend, precision=precision)
        if self.model.spec.task != TASK_TOPDOWN:
            raise ValueError(f'PoseInferencer runs {TASK_TOPDOWN} models; this model\'s '
                             f'task is {self.model.spec.task!r} (see inference_video3d)')
        self.lifter, self._mapping = None, None
        if pose3d is not None:
            self.lifter = init_model(pose3d, pose3d_weights, device)
            self._mapping = self._lifter_mapping(keypoint_mapping)
        self.detector = build_detector(_detector_config(
            detector, det_model, det_weights, det_cat_ids, bbox_thr, nms_thr, device))
        self.kpt_thr, self.batch_size = kpt_thr, batch_size
        self.smooth, self.smooth3d, self.det_interval = smooth, smooth3d, det_interval
        for filt in (smooth, smooth3d):
            if filt is not None:
                build_pose_filter(filt)        # a bad filter config fails here
        self.tracker_cfg = dict(type='PoseTracker')
        self.tracker_cfg.update(tracker or {})
        sigmas = self.model.dataset_meta.get('sigmas')
        if self.tracker_cfg['type'] == 'PoseTracker' and sigmas is not None:
            self.tracker_cfg.setdefault('sigmas', [float(v) for v in sigmas])
        TRACKERS.build(dict(self.tracker_cfg))     # a bad tracker config fails here
        self.skipped_boxes = 0       # boxes wholly outside their picture, over all calls
        self._last_skipped = 0
        self.video_counts: Dict[str, int] = {}
        self.visualizer = PoseLocalVisualizer(name=f'pose_inferencer_{id(self)}',
                                              kpt_thr=kpt_thr)
        self.visualizer.set_dataset_meta(self.model.dataset_meta)

    # ------------------------------------------------------------------ 2D → 3D set-up
    def _lifter_mapping(self, mapping):
        """Check the lifter and that its keypoints can be formed from the 2D model's;
        return None (same names) or the mapping {target: {source: weight}}."""
        spec = model_spec(self.lifter)
        if spec.task != TASK_LIFTING:
            raise ValueError(f'pose3d must be a lifting model (spec task '
                             f'{TASK_LIFTING!r}), got task {spec.task!r}')
        names_2d = keypoint_names(self.model.dataset_meta)
        names_3d = keypoint_names(self.lifter.dataset_meta)
        if names_2d == names_3d:
            return None
        if mapping is None:
            mapping = find_config_file(DEFAULT_KEYPOINT_MAPPING)
        source = mapping if isinstance(mapping, str) else 'keypoint_mapping'
        if isinstance(mapping, str):
            mapping = load_keypoint_mapping(mapping)
        try:
            map_keypoints(np.zeros((len(names_2d), 2)), None, names_2d, names_3d, mapping)
        except ValueError as err:
            raise ValueError(f'the 3D model\'s keypoints cannot be formed from the 2D '
                             f'model\'s with {source}: {err}') from None
        return mapping

    def lift_keypoints(self, keypoints: np.ndarray, scores: np.ndarray
                       ) -> Tuple[np.ndarray, np.ndarray]:
        """2D keypoints [..., K2, 2] px and scores [..., K2] in the 2D model's order →
        the lifter's [..., K3, 2] and [..., K3] (mapped by names; unchanged when both
        models name the same keypoints)."""
        if self._mapping is None:
            return keypoints, scores
        out, out_scores = map_keypoints(keypoints, scores,
                                        keypoint_names(self.model.dataset_meta),
                                        keypoint_names(self.lifter.dataset_meta),
                                        self._mapping)
        return out, out_scores

    # ------------------------------------------------------------------ one picture
    def _detect(self, image: np.ndarray, name: Optional[str], bbox_thr: float
                ) -> Tuple[np.ndarray, np.ndarray]:
        """The detector's person boxes of an RGB image scoring >= ``bbox_thr``, those
        wholly outside the image skipped (counted, logged): (boxes [N, 4], scores [N])."""
        boxes, scores = self.detector(image, name)
        boxes, scores = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores)
        keep = scores >= bbox_thr
        height, width = np.shape(image)[:2]
        outside = keep & ~boxes_overlap_image(boxes, width, height)
        self._last_skipped = int(outside.sum())
        if outside.any():
            self.skipped_boxes += self._last_skipped
            print_log(f'PoseInferencer: {name or "image"}: skipped '
                      f'{self._last_skipped} of {int(keep.sum())} person boxes that lie '
                      f'wholly outside the {width}×{height} image (xyxy): '
                      f'{boxes[outside].tolist()}', logger='current', level=logging.WARNING)
            keep &= ~outside
        return boxes[keep], scores[keep]

    def predict(self, image: np.ndarray, path: Optional[str] = None, name: Optional[str] = None,
                bbox_thr: float = 0.0,
                channel_order: str = DEFAULT_CHANNEL_ORDER) -> List[PoseDataSample]:
        """One picture → one ``PoseDataSample`` per detected person.

        ``image``: uint8 [H, W, 3] in ``channel_order`` ('bgr' by default, as
        ``inference_topdown``; the detector is given it in RGB); with ``path`` the
        file is what the pose model reads. Boxes scoring below ``bbox_thr`` are
        dropped; boxes with no overlap with the picture are skipped with a logged
        warning that counts them (a box partly outside is kept: the crop pads the
        rest).
        """
        image = as_rgb(image, channel_order)
        boxes, scores = self._detect(image, name or path, bbox_thr)
        return self._topdown(path if path else image, boxes, scores)

    def _topdown(self, image, boxes, scores) -> List[PoseDataSample]:
        """``inference_topdown`` of an RGB image (or its path) in ``boxes``; each sample
        gets its ``bbox_scores``. No boxes → []."""
        if not len(boxes):
            return []
        samples = inference_topdown(self.model, image, boxes, batch_size=self.batch_size,
                                    channel_order='rgb')
        for sample, score in zip(samples, scores):
            sample.pred_instances.bbox_scores = np.array([score], np.float32)
        return samples

    def __call__(self, inputs: Inputs, out_dir: Optional[str] = None, bbox_thr: float = 0.0,
                 max_frames: Optional[int] = None, return_vis: bool = False,
                 channel_order: str = DEFAULT_CHANNEL_ORDER) -> Iterator[dict]:
        for name, path, frame in iter_inputs(inputs, max_frames, channel_order):
            samples = self.predict(frame, path, name, bbox_thr, channel_order='rgb')
            merged = merge_data_samples(samples)
            result = dict(name=name, predictions=samples, skipped_boxes=self._last_skipped)
            if out_dir or return_vis:
                vis_file = None
                if out_dir:
                    os.makedirs(osp.join(out_dir, 'visualizations'), exist_ok=True)
                    os.makedirs(osp.join(out_dir, 'predictions'), exist_ok=True)
                    vis_file = osp.join(out_dir, 'visualizations', name)
                    with open(osp.join(out_dir, 'predictions',
                                       osp.splitext(name)[0] + '.json'), 'w') as f:
                        json.dump(instances_to_json(merged), f)
                drawn = self.visualizer.add_datasample(name, frame, merged, draw_gt=False,
                                                       out_file=vis_file, draw_bbox=True)
                if return_vis:
                    result['visualization'] = drawn
            yield result

    # ------------------------------------------------------------------ video in the wild
    def track_video(self, inputs: Inputs, online: Optional[bool] = None,
                    max_frames: Optional[int] = None, bbox_thr: float = 0.0,
                    channel_order: str = DEFAULT_CHANNEL_ORDER,
                    on_frame: Optional[Callable[[], None]] = None) -> Iterator[dict]:
        """Detect, pose, track, smooth and lift the people of a frame stream.

        Per frame: person boxes from the detector every ``det_interval`` frames (and on
        any frame after one without people), else from the previous frame's tracked
        poses (``boxes_from_keypoints``); the top-down 2D model in each box; track ids
        from the tracker; then per track smoothing (``smooth``) of the 2D keypoints and,
        with a lifter, 2D → 3D over the track's frames (``inference_lifting``: the
        receptive field padded by repeating the ends; keypoints mapped by names when
        the models differ).

        Args:
            inputs: a video file, a folder of frames, a webcam index, … (see
                ``iter_inputs``).
            online (bool, optional): None: True for a webcam index, else False.
                Offline, every frame is posed and tracked first (nothing is yielded
                until the stream ends), then each whole track is smoothed and lifted,
                so non-causal filters (Savitzky–Golay, Gaussian) see both sides of every
                frame and add no delay; the frames themselves are not kept. Online, a
                result is yielded as each frame is read: smoothing by ``step`` (causal
                filters only: a filter with ``latency_frames`` > 0 is refused) and the
                lifter over the track's last (R + 1) / 2 frames, the future edge
                padded by repeating the newest frame.
            max_frames, channel_order: as ``iter_inputs``. bbox_thr: as ``predict``.
            on_frame: called with no argument after each frame is read and posed (a
                progress bar's ``update``).

        Yields:
            one dict per frame: ``index`` (in the stream), ``name``, ``image_size``
            (W, H), ``frame`` (RGB uint8, online only; else None), ``skipped`` (None,
            or why the frame was skipped: a frame whose size differs from the first
            frame's is skipped, logged and counted, not resized) and ``instances``: one
            dict per person with ``track_id`` (int), ``bbox`` [4] xyxy px,
            ``bbox_score``, ``keypoints`` [K, 2] px (smoothed when ``smooth``),
            ``keypoints_raw`` [K, 2] (as the 2D model gave them), ``keypoint_scores``
            [K] and, with a lifter, ``keypoints_3d`` [K3, 3] in ``KEYPOINTS_3D_UNIT``
            (mm), ``KEYPOINTS_3D_FRAME`` (camera frame, root-relative). A frame with
            no person has no instances (logged, counted). ``self.video_counts``
            keeps ``frames``, ``skipped_frames``, ``empty_frames``, ``detector_runs``.

        Raises:
            ValueError: online with a non-causal filter.
            FileNotFoundError / OSError: a missing or unreadable input (path named).
        """
        if online is None:
            online = isinstance(inputs, int) and not isinstance(inputs, bool)
        for name, filt in (('smooth', self.smooth), ('smooth3d', self.smooth3d)):
            latency = build_pose_filter(filt).latency_frames if online and filt else 0
            if latency:
                raise ValueError(f'{name}={filt!r} is non-causal (latency {latency} '
                                 "frames) and cannot run online (webcam): use 'one_euro' "
                                 '(latency 0)')
        raw = self._raw_frames(inputs, max_frames, bbox_thr, channel_order, on_frame)
        return self._online(raw) if online else self._offline(raw)

    def _raw_frames(self, inputs, max_frames, bbox_thr, channel_order, on_frame
                    ) -> Iterator[dict]:
        """Per frame: detected (or proposed) boxes, 2D poses and track ids; no smoothing."""
        tracker = TRACKERS.build(dict(self.tracker_cfg))
        counts = self.video_counts = dict(frames=0, skipped_frames=0, empty_frames=0,
                                          detector_runs=0)
        size, previous, posed = None, [], 0
        for index, (name, _, frame) in enumerate(iter_inputs(inputs, max_frames,
                                                              channel_order)):
            counts['frames'] += 1
            here = (int(frame.shape[1]), int(frame.shape[0]))
            size = size or here
            result = dict(index=index, name=name, image_size=here, frame=frame,
                          skipped=None, instances=[])
            if here != size:
                counts['skipped_frames'] += 1
                result['skipped'] = (f'frame size {here[0]}×{here[1]} differs from the '
                                     f'first frame\'s {size[0]}×{size[1]} (W×H)')
                print_log(f'PoseInferencer: {name}: skipped ({result["skipped"]}); '
                          f'{counts["skipped_frames"]} frames skipped so far',
                          logger='current', level=logging.WARNING)
                on_frame and on_frame()
                yield result
                continue
            boxes, scores = self._video_boxes(posed, frame, name, previous, bbox_thr, size)
            posed += 1
            result['instances'] = previous = self._track(
                tracker, self._topdown(frame, boxes, scores), boxes, scores)
            if not previous:
                counts['empty_frames'] += 1
                print_log(f'PoseInferencer: {name}: no person found; {counts["empty_frames"]}'
                          ' frames without people so far', logger='current',
                          level=logging.WARNING)
            on_frame and on_frame()
            yield result

    def _video_boxes(self, posed, frame, name, previous, bbox_thr, size):
        """(boxes [N, 4], scores [N]) of a frame: the detector's on every
        ``det_interval``-th posed frame or after a frame without people, else those of
        the previous frame's poses."""
        if posed % self.det_interval and previous:
            keypoints = np.stack([p['keypoints_raw'] for p in previous])
            scores = np.stack([p['keypoint_scores'] for p in previous])
            boxes, valid = boxes_from_keypoints(keypoints, scores, score_thr=self.kpt_thr,
                                                image_size=size)
            if valid.any():
                return boxes[valid], np.array([p['bbox_score'] for p in previous])[valid]
        self.video_counts['detector_runs'] += 1
        return self._detect(frame, name, bbox_thr)

    @staticmethod
    def _track(tracker, samples, boxes, scores) -> List[dict]:
        """Track ids for one frame's poses (the tracker is updated even with none)."""
        if not samples:
            tracker.update(np.zeros((0, 4)), np.zeros(0))
            return []
        keypoints = np.concatenate([s.pred_instances.keypoints for s in samples])
        keypoint_scores = np.concatenate([s.pred_instances.keypoint_scores for s in samples])
        ids = tracker.update(boxes, scores, keypoints, keypoint_scores)
        return [dict(track_id=int(ids[n]), bbox=np.asarray(boxes[n], np.float64),
                     bbox_score=float(scores[n]),
                     keypoints=keypoints[n].astype(np.float64),
                     keypoints_raw=keypoints[n].astype(np.float64),
                     keypoint_scores=keypoint_scores[n].astype(np.float64))
                for n in range(len(samples))]

    def _smoothed(self, filt, keypoints, scores, online):
        """Smoothed keypoints; a keypoint the filter leaves NaN (never scored above its
        ``score_thr`` in the track) keeps its raw values."""
        out = filt.step(keypoints, scores) if online else filt.filter(keypoints, scores)
        return np.where(np.isfinite(out), out, keypoints)

    def _lift(self, keypoints, scores, size) -> np.ndarray:
        """The lifter's 3D joints [T, K3, 3] mm of one track's 2D keypoints [T, K, 2]."""
        mapped, mapped_scores = self.lift_keypoints(keypoints, scores)
        samples = inference_lifting(self.lifter, np.concatenate(
            [mapped, mapped_scores[..., None]], axis=-1), size)
        return np.stack([s.pred_instances.keypoints[0] for s in samples]).astype(np.float64)

    def _offline(self, raw) -> Iterator[dict]:
        """Whole-track smoothing and lifting after every frame was posed."""
        results, tracks, size = [], {}, None
        for result in raw:
            result['frame'] = None
            results.append(result)
            if result['skipped'] is None:
                size = size or result['image_size']
            for person in result['instances']:
                tracks.setdefault(person['track_id'], []).append(person)
        for people in tracks.values():
            keypoints = np.stack([p['keypoints_raw'] for p in people])
            scores = np.stack([p['keypoint_scores'] for p in people])
            if self.smooth is not None:
                keypoints = self._smoothed(build_pose_filter(self.smooth), keypoints,
                                           scores, online=False)
            lifted = self._lift(keypoints, scores, size) if self.lifter else None
            if lifted is not None and self.smooth3d is not None:
                lifted = self._smoothed(build_pose_filter(self.smooth3d), lifted, None,
                                        online=False)
            for t, person in enumerate(people):
                person['keypoints'] = keypoints[t]
                if lifted is not None:
                    person['keypoints_3d'] = lifted[t]
        yield from results

    def _online(self, raw) -> Iterator[dict]:
        """Frame-by-frame smoothing (one causal filter per track) and lifting."""
        filters, filters3d, windows = {}, {}, {}
        pad = (model_spec(self.lifter).num_frames - 1) // 2 if self.lifter else 0
        for result in raw:
            for person in result['instances']:
                track = person['track_id']
                if self.smooth is not None:
                    filt = filters.setdefault(track, build_pose_filter(self.smooth))
                    person['keypoints'] = self._smoothed(filt, person['keypoints_raw'],
                                                         person['keypoint_scores'], True)
                if self.lifter is not None:
                    window = windows.setdefault(track, deque(maxlen=pad + 1))
                    window.append((person['keypoints'], person['keypoint_scores']))
                    keypoints, scores = (np.stack(v) for v in zip(*window))
                    lifted = self._lift(keypoints, scores, result['image_size'])[-1]
                    if self.smooth3d is not None:
                        filt = filters3d.setdefault(track, build_pose_filter(self.smooth3d))
                        lifted = self._smoothed(filt, lifted, None, True)
                    person['keypoints_3d'] = lifted
            yield result


def video_result_to_json(result: dict) -> Dict[str, Any]:
    """One ``track_video`` result as a JSON-ready dict: ``frame_index``, ``name``,
    ``image_size`` [W, H], ``skipped`` (null or the reason), ``keypoints_3d_unit``,
    ``keypoints_3d_frame`` and ``instances`` (lists: ``track_id``, ``bbox`` xyxy px,
    ``bbox_score``, ``keypoints`` [K, 2] px, ``keypoint_scores`` [K], ``keypoints_raw``,
    and ``keypoints_3d`` [K3, 3] when lifted)."""
    keys = ('track_id', 'bbox', 'bbox_score', 'keypoints', 'keypoint_scores',
            'keypoints_raw', 'keypoints_3d')
    return dict(frame_index=result['index'], name=result['name'],
                image_size=list(result['image_size']), skipped=result['skipped'],
                keypoints_3d_unit=KEYPOINTS_3D_UNIT, keypoints_3d_frame=KEYPOINTS_3D_FRAME,
                instances=[{k: np.asarray(p[k]).tolist() for k in keys if k in p}
                           for p in result['instances']])
