"""Top-down 2D inference: the people of one image, each through the config's test
pipeline (the crop, flip test and decoding validation uses), as MMPose's
``inference_topdown``.

Images are uint8: a path is decoded to RGB; an array is taken as BGR, as MMPose
takes it (``cv2.imread``'s order), unless ``channel_order='rgb'``. Keypoints are
0-based image pixels with pixel centres at integers (``hpekit.core.affine``); person
boxes are ``[x1, y1, x2, y2]`` with the image spanning [0, W] × [0, H]
(``hpekit.core.boxes``).
"""
import os
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.structures import InstanceData
from numpy.typing import ArrayLike

from hpekit.apis.frames import DEFAULT_CHANNEL_ORDER, load_image
from hpekit.apis.model import PoseModel, default_batch_size, predict_items, task_meta
from hpekit.core.boxes import BOX_PADDING, boxes_overlap_image, boxes_to_center_size, to_xyxy
from hpekit.datasets.metainfo import add_metainfo_to_info
from hpekit.models.estimators import TASK_TOPDOWN
from hpekit.registry import TRANSFORMS
from hpekit.structures import PoseDataSample


def _topdown_pipeline(model, spec):
    """The config's test pipeline (the one validation runs), built; for a model
    without a config, LoadImage → TopdownAffine → PackPoseInputs at the spec's size."""
    cfg = getattr(model, 'cfg', None)
    steps = None
    if cfg is not None:
        steps = ((cfg.get('test_dataloader') or cfg.get('val_dataloader') or {})
                 .get('dataset', {}).get('pipeline'))
    if not steps:
        steps = [dict(type='LoadImage', input_size=spec.input_size, min_box_scale=1.0),
                 dict(type='TopdownAffine', input_size=spec.input_size, augment=False),
                 dict(type='PackPoseInputs')]
    return [TRANSFORMS.build(dict(step)) for step in steps]


def _data_info(image, path, center, size, box, index, meta):
    """The data info of one person as a dataset would give it to the test pipeline."""
    info = dict(img=None if path else image, img_path=path, center=center,
                bbox_size=size, bbox=box[None].astype(np.float32), sample_idx=index)
    return add_metainfo_to_info(info, meta)


def inference_topdown(model: PoseModel, img: Union[str, os.PathLike, np.ndarray],
                      bboxes: Optional[ArrayLike] = None, bbox_format: str = 'xyxy',
                      batch_size: Optional[int] = None,
                      channel_order: str = DEFAULT_CHANNEL_ORDER,
                      padding: float = BOX_PADDING) -> List[PoseDataSample]:
    """2D keypoints of the people in one image, as MMPose's ``inference_topdown``.

    Each person goes through the config's test pipeline — the one validation runs, so
    an image file gives the same crop (reduced JPEG decoding included) and the same
    numbers as validation for the same box — then ``model.test_step``.

    Args:
        model: a model whose ``spec.task`` is 'topdown2d', from ``init_model``.
        img: image file path (decoded to RGB), or uint8 array [H, W, 3] in the
            order ``channel_order`` says (BGR by default, as MMPose and
            ``cv2.imread``; an array is used as it is, not decoded).
        bboxes: person boxes [N, 4] (or one [4]), image spanning [0, W] × [0, H];
            each is fitted to the input's aspect ratio and padded by ``padding``.
            None: one person filling the whole image (box [0, 0, W, H], fitted to the
            aspect ratio, no padding).
        bbox_format (str): 'xyxy' (default) or 'xywh' (COCO).
        batch_size (int, optional): crops per forward pass; default
            ``default_batch_size(model)``, the fastest per crop for the backend.
        channel_order (str): of an array: 'bgr' (default; the first array taken so
            without this argument logs one warning per process, see
            ``hpekit.apis.frames.note_bgr_default``) or 'rgb'. Paths ignore it.
        padding (float): margin factor for given boxes (default 1.25).

    Returns:
        list of N ``PoseDataSample``, one per box, with ``pred_instances``:
        ``keypoints`` float32 [1, K, 2] (0-based image px), ``keypoint_scores``
        float32 [1, K] and ``bboxes`` float32 [1, 4] (xyxy, the box used); also
        ``pred_keypoints`` [K, 2] / ``keypoint_scores`` [K] as the metrics read them.
        ``merge_data_samples`` joins them into one sample of N instances. The
        config's test_cfg applies (e.g. flip test).

    Raises:
        ValueError: a box with no overlap with the image (it names the boxes and the
            image size); a box partly outside is kept, the crop padding the rest.
            ``PoseInferencer`` and the demo skip such boxes and log the count instead.
    """
    meta, spec = task_meta(model, TASK_TOPDOWN)
    if batch_size is None:
        batch_size = default_batch_size(model)
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    path = os.fspath(img) if isinstance(img, (str, os.PathLike)) else None
    image = load_image(img, channel_order)
    height, width = image.shape[:2]
    if bboxes is None:
        boxes, padding = np.array([[0.0, 0.0, width, height]]), 1.0
    else:
        boxes = to_xyxy(bboxes, bbox_format)
        outside = ~boxes_overlap_image(boxes, width, height)
        if outside.any():
            raise ValueError(f'{int(outside.sum())} of {len(boxes)} person boxes lie wholly '
                             f'outside the {width}×{height} image (W×H; boxes xyxy, image '
                             f'[0, {width}] × [0, {height}]): {boxes[outside].tolist()}; '
                             'a pose there would be predicted on padding')
    centers, sizes = boxes_to_center_size(boxes, spec.input_size, padding)
    pipeline = _topdown_pipeline(model, spec)
    samples = []
    for start in range(0, len(boxes), batch_size):
        items = []
        for i in range(start, min(start + batch_size, len(boxes))):
            results = _data_info(image, path, centers[i], sizes[i], boxes[i], i, meta)
            for transform in pipeline:
                results = transform(results)
            items.append(results)
        samples += predict_items(model, items)
    for sample, box in zip(samples, boxes):
        sample.pred_instances = InstanceData(
            keypoints=np.asarray(sample.pred_keypoints, np.float32)[None],
            keypoint_scores=np.asarray(sample.keypoint_scores, np.float32)[None],
            bboxes=box[None].astype(np.float32))
    return samples


def merge_data_samples(samples: Sequence[PoseDataSample]) -> PoseDataSample:
    """N one-person ``PoseDataSample`` → one sample whose ``pred_instances`` hold all
    N people (``keypoints`` [N, K, 2], ``keypoint_scores`` [N, K], ``bboxes``
    [N, 4]); an empty list gives N = 0 (MMPose's function of the same name)."""
    merged = PoseDataSample()
    if not samples:
        merged.pred_instances = InstanceData()
        return merged
    merged.set_metainfo({k: v for k, v in samples[0].metainfo.items()
                         if k not in ('center', 'bbox_size', 'sample_idx')})
    merged.pred_instances = InstanceData.cat([s.pred_instances for s in samples])
    return merged
