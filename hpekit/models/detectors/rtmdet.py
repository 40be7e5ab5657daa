"""``RTMDet``: MMDetection 3.x's real-time object detector, for inference in hpekit.

Backbone (``CSPNeXt``) → neck (``CSPNeXtPAFPN``) → head (``RTMDetSepBNHead``), built
from MMDetection's config dicts (``hpekit.config.mmdet.translate_mmdet_config``) with
MMDetection's parameter names, so its checkpoints load unchanged. Training (losses,
label assignment) is not built: ``mode='loss'`` raises.

Channel order: MMDetection's pipelines load images as BGR and RTMDet's configs keep them
so (``bgr_to_rgb=False``, BGR mean/std): the model's input is BGR pixels, which
``DetDataPreprocessor`` normalises. ``hpekit.apis.detectors`` takes RGB images and
reverses them before the pipeline.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from hpekit.registry import MODELS

Outputs = Tuple[Tuple[torch.Tensor, ...], Tuple[torch.Tensor, ...]]


def _build(cfg: Union[dict, torch.nn.Module]) -> torch.nn.Module:
    return cfg if isinstance(cfg, torch.nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class RTMDet(BaseModel):
    """RTMDet (single-stage, anchor-free) with MMDetection's interface.

    Args:
        backbone, neck, bbox_head (dict): part configs (``CSPNeXt``,
            ``CSPNeXtPAFPN``, ``RTMDetSepBNHead``).
        test_cfg (dict, optional): post-processing, given to the head (see
            ``hpekit.models.heads.rtmdet_head.rtmdet_postprocess``).
        data_preprocessor (dict, optional): default ``DetDataPreprocessor`` with
            RTMDet's BGR mean/std.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward(inputs [B, 3, H, W] normalised, mode='tensor') → (cls_scores,
        bbox_preds), per level [B, C, H/s, W/s] logits and [B, 4, H/s, W/s] distances
        (px) — MMDetection's ``mode='tensor'`` output. ``mode='predict'`` (with data
        samples whose metainfo has ``img_shape`` and ``scale_factor``) → the samples
        with ``pred_instances`` (bboxes [N, 4] xyxy in original image px, scores [N],
        labels [N]).
    """

    sweep_example = dict(
        cfg=dict(backbone=dict(type='CSPNeXt', deepen_factor=0.167, widen_factor=0.0625),
                 neck=dict(type='CSPNeXtPAFPN', in_channels=(16, 32, 64), out_channels=8,
                           num_csp_blocks=1),
                 bbox_head=dict(type='RTMDetSepBNHead', num_classes=2, in_channels=8,
                                feat_channels=8, stacked_convs=1)),
        inputs=[(1, 3, 64, 64)])

    #: The pixels ``inference_detector`` and the person detector feed (before
    #: ``DetDataPreprocessor``'s conversion), as MMDetection's image loading.
    input_channel_order = 'bgr'

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict,
                 test_cfg: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675],
                                     std=[57.375, 57.12, 58.395], bgr_to_rgb=False)
        super().__init__(data_preprocessor=_build(data_preprocessor), init_cfg=init_cfg)
        self.backbone = _build(backbone)
        self.neck = _build(neck)
        if test_cfg is not None and not isinstance(bbox_head, torch.nn.Module):
            bbox_head = dict(bbox_head, test_cfg=test_cfg)
        self.bbox_head = _build(bbox_head)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """[B, 3, H, W] → the neck's levels."""
        return self.neck(self.backbone(inputs))

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[Outputs, List[BaseDataElement]]:
        """``mode='tensor'``: the head's raw outputs; ``'predict'``: detections (see the
        class doc); ``'loss'``: not available (inference only)."""
        if mode == 'tensor':
            return self.bbox_head(self.extract_feat(inputs))
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'loss':
            raise NotImplementedError("hpekit builds RTMDet for inference only; train it "
                                      'with MMDetection')
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")

    def predict(self, inputs: torch.Tensor, data_samples: Sequence[BaseDataElement],
                rescale: bool = True) -> List[BaseDataElement]:
        """Normalised inputs and their samples → the samples with ``pred_instances``."""
        if data_samples is None or len(data_samples) != len(inputs):
            raise ValueError('predict needs one data sample per image, with metainfo '
                             'img_shape (and scale_factor to rescale)')
        cls_scores, bbox_preds = self.bbox_head(self.extract_feat(inputs))
        results = self.bbox_head.predict_by_feat(
            cls_scores, bbox_preds, [s.metainfo for s in data_samples], rescale=rescale)
        for sample, result in zip(data_samples, results):
            sample.pred_instances = result
        return list(data_samples)

    def export_forward(self, pixels: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """What the ONNX graph computes: pixels float32 [B, 3, H, W] (0..255, in
        ``input_channel_order``) → the per-level class logits then the per-level box
        distances, as one flat tuple."""
        cls_scores, bbox_preds = self(self.data_preprocessor.normalize_pixels(pixels))
        return tuple(cls_scores) + tuple(bbox_preds)
