"""Person detectors for top-down inference, registered in ``PERSON_DETECTORS``.

A detector is any callable ``detector(image, name) -> (boxes, scores)``: ``image``
uint8 [H, W, 3] RGB, ``name`` the image's file name (or a frame label, or None);
``boxes`` float [N, 4] xyxy image px (the image spans [0, W] × [0, H]), ``scores``
float [N]. Register your own (e.g. one running an ONNX model file you supply) with
``@PERSON_DETECTORS.register_module()`` and name it in ``PoseInferencer(detector=
dict(type='YourDetector', ...))``.
"""
import json
import os.path as osp
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from hpekit.core.boxes import to_xyxy
from hpekit.registry import PERSON_DETECTORS


@PERSON_DETECTORS.register_module()
class WholeImageDetector:
    """One person filling the whole image: box [0, 0, W, H], score 1."""

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        height, width = image.shape[:2]
        return np.array([[0.0, 0.0, width, height]]), np.ones(1)


@PERSON_DETECTORS.register_module()
class GivenBoxesDetector:
    """The same boxes for every image.

    Args:
        bboxes: [N, 4] boxes in ``bbox_format`` ('xyxy' or 'xywh').
    """

    def __init__(self, bboxes: Union[np.ndarray, Sequence[Sequence[float]]],
                 bbox_format: str = 'xyxy') -> None:
        self.boxes = to_xyxy(bboxes, bbox_format)

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        return self.boxes.copy(), np.ones(len(self.boxes))


@PERSON_DETECTORS.register_module()
class DetectionsFileDetector:
    """Boxes from a COCO-style detection results file, matched by image file name.

    Args:
        det_file (str): JSON list of ``{'image_id', 'category_id', 'bbox' [x, y, w, h],
            'score'}`` records; ``image_id`` is the image's file name (or, with
            ``ann_file``, a COCO image id resolved through the annotation file).
        score_thr (float): keep detections scoring at least this.
        category_id (int): the person category (COCO's 1).
        ann_file (str, optional): COCO annotation file mapping ids to file names.

    An image without detections gives no box (and so no pose).
    """

    def __init__(self, det_file: str, score_thr: float = 0.0, category_id: int = 1,
                 ann_file: Optional[str] = None) -> None:
        records = _read_json_list(det_file)
        names = _image_names(ann_file) if ann_file else {}
        self.boxes = {}
        for i, rec in enumerate(records):
            try:
                if rec.get('category_id', category_id) != category_id or \
                        float(rec.get('score', 1.0)) < score_thr:
                    continue
                x, y, w, h = (float(v) for v in rec['bbox'])
                key = names.get(rec['image_id'], rec['image_id'])
                score = float(rec.get('score', 1.0))
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f'{det_file}: record {i}: expected image_id, bbox [x, y, '
                                 f'w, h] and score, found {rec!r:.120} ({err})') from None
            self.boxes.setdefault(osp.basename(str(key)), []).append((x, y, x + w, y + h,
                                                                      score))

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        found = np.array(self.boxes.get(osp.basename(str(name)), []), np.float64)
        if found.size == 0:
            return np.zeros((0, 4)), np.zeros(0)
        return found[:, :4], found[:, 4]


def _read_json_list(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'detections file not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON: {err}') from None
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a JSON list of detections, found '
                         f'{type(data).__name__}')
    return data


def _image_names(ann_file):
    with open(ann_file, encoding='utf-8') as f:
        images = json.load(f).get('images', [])
    return {img['id']: img['file_name'] for img in images}


Detector = Callable[[np.ndarray, Optional[str]], Tuple[np.ndarray, np.ndarray]]


def build_detector(cfg: Union[None, Dict[str, Any], Detector]) -> Detector:
    """A detector from a PERSON_DETECTORS config, a callable as it is, or None →
    ``WholeImageDetector``."""
    if cfg is None:
        return WholeImageDetector()
    if callable(cfg) and not isinstance(cfg, dict):
        return cfg
    return PERSON_DETECTORS.build(dict(cfg))
