"""Person boxes: the formats (xyxy, xywh, center + size, MPII/Human3.6M "scale"), the
one padding constant, and the IoU of every pair of boxes (``pairwise_box_iou``).

Conventions: an xyxy box is in the detector convention, the image spanning
[0, W] × [0, H] (pixel i covers [i, i + 1]); a crop box is (center, size) with the
centre in 0-based pixels whose centres are at integers (as ``hpekit.core.affine``);
MPII and Human3.6M annotations give a box side as ``scale`` × ``PIXELS_PER_SCALE``.
Pure numpy; no torch.
"""
from typing import Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

#: The margin a tight person box gets before cropping: MMPose's
#: ``GetBBoxCenterScale(padding=1.25)`` and the MPII training boxes' (scale·200·1.25).
BOX_PADDING = 1.25
#: Pixels per unit of the MPII / Human3.6M ``scale`` annotation (box side = scale × 200).
PIXELS_PER_SCALE = 200.0


def scale_to_size(scale: ArrayLike, padding: float = 1.0) -> np.ndarray:
    """MPII / Human3.6M ``scale`` (any shape) → box side in px: scale × 200 × padding."""
    return np.asarray(scale) * PIXELS_PER_SCALE * padding


def size_to_scale(side: ArrayLike) -> np.ndarray:
    """Box side in px (any shape) → the ``scale`` annotation: side / 200."""
    return np.asarray(side) / PIXELS_PER_SCALE


def xywh_to_xyxy(box: Sequence[float]) -> np.ndarray:
    """One box [x, y, w, h] → [x1, y1, x2, y2] (float64 [4])."""
    x, y, w, h = (float(v) for v in box)
    return np.array([x, y, x + w, y + h])


def check_bboxes(bboxes: ArrayLike) -> np.ndarray:
    """Person boxes → float64 [N, 4] xyxy; ValueError unless finite with x2>x1, y2>y1."""
    boxes = np.asarray(bboxes, dtype=np.float64)
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'bboxes must have shape [N, 4] (x1, y1, x2, y2), got '
                         f'{list(np.shape(bboxes))}')
    bad = ~np.all(np.isfinite(boxes), axis=1) | (boxes[:, 2] <= boxes[:, 0]) | \
        (boxes[:, 3] <= boxes[:, 1])
    if bad.any():
        raise ValueError(f'bboxes must be finite with x2 > x1 and y2 > y1; bad boxes: '
                         f'{boxes[bad].tolist()}')
    return boxes


def boxes_to_center_size(boxes: ArrayLike, input_size: Sequence[float],
                         padding: float = BOX_PADDING) -> Tuple[np.ndarray, np.ndarray]:
    """xyxy boxes → the crop boxes ``TopdownAffine`` takes.

    Args:
        boxes: float [N, 4], detector convention (image spans [0, W]).
        input_size: (W, H) of the model input; each box is widened or heightened
            about its centre to this aspect ratio, then scaled by ``padding``.
        padding (float): margin factor (``BOX_PADDING`` by default).

    Returns:
        center float32 [N, 2] (0-based image px, pixel centres at integers),
        size float32 [N, 2] (w, h) image px.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2 - 0.5
    size = boxes[:, 2:] - boxes[:, :2]
    aspect = input_size[0] / input_size[1]
    size = np.maximum(size, size[:, ::-1] * np.array([aspect, 1 / aspect]))
    return center.astype(np.float32), (size * padding).astype(np.float32)


def to_xyxy(bboxes: ArrayLike, bbox_format: str = 'xyxy') -> np.ndarray:
    """Boxes [N, 4] in 'xyxy' or 'xywh' (COCO) → checked float64 xyxy [N, 4]."""
    if bbox_format not in ('xyxy', 'xywh'):
        raise ValueError(f"bbox_format must be 'xyxy' or 'xywh', got {bbox_format!r}")
    boxes = np.asarray(bboxes, dtype=np.float64)
    if bbox_format == 'xywh' and boxes.ndim >= 1 and boxes.shape[-1] == 4:
        boxes = np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=-1)
    return check_bboxes(boxes)


def crop_boxes(bboxes: Union[np.ndarray, Sequence[Sequence[float]]],
               input_size: Union[Tuple[int, int], None] = None,
               padding: float = BOX_PADDING) -> Tuple[np.ndarray, np.ndarray]:
    """xyxy boxes [N, 4] → (center float32 [N, 2], size float32 [N, 2]).

    With ``input_size`` (W, H): ``boxes_to_center_size`` (fit to W / H about the
    centre, then × padding). Without: the centre, and the size × padding (no
    aspect-ratio fit).
    """
    boxes = np.asarray(bboxes, np.float64).reshape(-1, 4)
    if input_size is not None:
        return boxes_to_center_size(boxes, input_size, padding)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2 - 0.5
    return center.astype(np.float32), ((boxes[:, 2:] - boxes[:, :2]) * padding).astype(
        np.float32)


def boxes_overlap_image(boxes: ArrayLike, width: float, height: float) -> np.ndarray:
    """Which xyxy boxes [N, 4] share some area with the image [0, W] × [0, H].

    A box wholly outside (including one touching the border only) gives False; a box
    partly outside gives True (the crop pads the rest, as MMPose's does).

    Returns:
        bool [N].
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return (boxes[:, 0] < width) & (boxes[:, 2] > 0) & (boxes[:, 1] < height) & \
        (boxes[:, 3] > 0)


def pairwise_box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair of xyxy boxes.

    Args:
        boxes_a: float [N, 4], boxes_b: float [M, 4] (x1, y1, x2, y2), px.
    Returns:
        float64 [N, M] in [0, 1] (0 for a pair whose union is empty).
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
