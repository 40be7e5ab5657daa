"""``PoseInferencer``: people in images, folders, videos or a webcam, as MMPose's."""
import json
import logging
import os
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log

from hpekit.apis.detectors import Detector, build_detector
from hpekit.apis.frames import (DEFAULT_CHANNEL_ORDER, as_rgb, check_channel_order,
                                is_image_file, iter_video, list_images, read_image)
from hpekit.apis.model import init_model
from hpekit.apis.topdown import inference_topdown, merge_data_samples
from hpekit.core.boxes import boxes_overlap_image
from hpekit.models.estimators import TASK_TOPDOWN
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


class PoseInferencer:
    """Detect people, estimate their 2D poses, draw and save, for any input.

    Args:
        config: config path or Config of a model whose spec's task is 'topdown2d'.
        checkpoint (str, optional): weights (hpekit's safe, strict loading).
        device (str): e.g. 'cpu' or 'cuda:0'.
        detector: a PERSON_DETECTORS config (``WholeImageDetector`` — the default —,
            ``GivenBoxesDetector``, ``DetectionsFileDetector``, or one you register),
            or any callable ``(image, name) -> (boxes xyxy [N, 4], scores [N])``.
        cfg_options (dict, optional): config overrides.
        kpt_thr (float): joints scoring below are not drawn.
        batch_size (int, optional): person crops per forward pass; default: the
            fastest per crop for the backend (``inference.default_batch_size``).
        backend (str): 'pytorch' or 'onnxruntime' (see ``init_model``).

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
    record layout) there.
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None,
                 device: str = 'cpu', detector: Union[None, dict, Detector] = None,
                 cfg_options: Optional[dict] = None, kpt_thr: float = 0.3,
                 batch_size: Optional[int] = None, backend: str = 'pytorch'):
        self.model = init_model(config, checkpoint, device, cfg_options, backend=backend)
        if self.model.spec.task != TASK_TOPDOWN:
            raise ValueError(f'PoseInferencer runs {TASK_TOPDOWN} models; this model\'s '
                             f'task is {self.model.spec.task!r} (see inference_video3d)')
        self.detector = build_detector(detector)
        self.kpt_thr, self.batch_size = kpt_thr, batch_size
        self.skipped_boxes = 0       # boxes wholly outside their picture, over all calls
        self._last_skipped = 0
        self.visualizer = PoseLocalVisualizer(name=f'pose_inferencer_{id(self)}',
                                              kpt_thr=kpt_thr)
        self.visualizer.set_dataset_meta(self.model.dataset_meta)

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
        boxes, scores = self.detector(image, name or path)
        boxes, scores = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores)
        keep = scores >= bbox_thr
        height, width = np.shape(image)[:2]
        outside = keep & ~boxes_overlap_image(boxes, width, height)
        self._last_skipped = int(outside.sum())
        if outside.any():
            self.skipped_boxes += self._last_skipped
            print_log(f'PoseInferencer: {name or path or "image"}: skipped '
                      f'{self._last_skipped} of {int(keep.sum())} person boxes that lie '
                      f'wholly outside the {width}×{height} image (xyxy): '
                      f'{boxes[outside].tolist()}', logger='current', level=logging.WARNING)
            keep &= ~outside
        samples = inference_topdown(self.model, path if path else image, boxes[keep],
                                    batch_size=self.batch_size, channel_order='rgb')
        for sample, score in zip(samples, scores[keep]):
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
