"""RTMDet's detection head (``RTMDetSepBNHead``) and its post-processing, in plain torch
and numpy.

The head is MMDetection 3.3.0's ``RTMDetSepBNHead`` for inference: per level a stack of
3×3 conv + BN + activation on a classification and a regression branch, the conv
weights shared across levels (``share_conv=True``) and the BNs separate, then 1×1
(``pred_kernel_size``) predictions ``rtm_cls`` (class logits) and ``rtm_reg`` (distances
to the box sides, ``exp``-ed with ``exp_on_reg``, times the level's stride). Module
names are MMDetection's (``cls_convs.1.0.conv.weight`` — the same tensor as
``cls_convs.0.0.conv.weight`` when shared —, ``cls_convs.1.0.bn.running_mean``,
``rtm_cls.2.bias``, ``rtm_reg.0.weight``), so its checkpoints load unchanged.

Post-processing (``rtmdet_postprocess``, numpy; the PyTorch ``predict_by_feat`` and the
ONNX Runtime path both call it) is MMDetection's ``BaseDenseHead._predict_by_feat_single``
for this head: one prior per location at (x·stride, y·stride) (``MlvlPointGenerator``
with ``offset=0``), sigmoid scores, per level the candidates above ``score_thr`` (every
class of a location is a candidate) cut to the ``nms_pre`` best, ``distance2bbox``
decoding clipped to the network input's ``img_shape``, rescaling to the original image
(÷ ``scale_factor``), boxes not wider and taller than ``min_bbox_size`` dropped,
class-aware NMS (``hpekit.core.nms.batched_nms``) and the ``max_per_img`` best kept.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.structures import InstanceData

from hpekit.core.nms import batched_nms
from hpekit.models.backbones.csp_layers import check_conv_cfg, conv_block
from hpekit.registry import MODELS

DEFAULT_NORM = dict(type='BN', momentum=0.03, eps=0.001)
DEFAULT_ACT = dict(type='SiLU')
DEFAULT_PRIORS = dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32])
#: MMDetection's RTMDet test_cfg (COCO models).
DEFAULT_TEST_CFG = dict(nms_pre=30000, min_bbox_size=0, score_thr=0.001,
                        nms=dict(type='nms', iou_threshold=0.65), max_per_img=300)

Stride = Union[int, Sequence[int]]


def _pair(stride: Stride) -> Tuple[float, float]:
    """A stride as (stride_w, stride_h)."""
    if isinstance(stride, (int, float)):
        return float(stride), float(stride)
    return float(stride[0]), float(stride[1])


def grid_points(height: int, width: int, stride: Stride, offset: float = 0.0) -> np.ndarray:
    """The priors of one level: float32 [height·width, 2] (x, y) in input px, row-major
    (x fastest), at ((i + offset)·stride_w, (j + offset)·stride_h) — MMDetection's
    ``MlvlPointGenerator.single_level_grid_priors``."""
    stride_w, stride_h = _pair(stride)
    xs = ((np.arange(width) + offset) * stride_w).astype(np.float32)
    ys = ((np.arange(height) + offset) * stride_h).astype(np.float32)
    yy, xx = np.meshgrid(ys, xs, indexing='ij')
    return np.stack([xx.reshape(-1), yy.reshape(-1)], axis=-1)


def distance2bbox(points: np.ndarray, distances: np.ndarray,
                  max_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """Points [N, 2] (x, y) and distances [N, 4] (left, top, right, bottom) → boxes
    [N, 4] xyxy, clipped to [0, W] × [0, H] when ``max_shape`` = (H, W, …) is given."""
    boxes = np.stack([points[:, 0] - distances[:, 0], points[:, 1] - distances[:, 1],
                      points[:, 0] + distances[:, 2], points[:, 1] + distances[:, 3]],
                     axis=-1)
    if max_shape is not None:
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, max_shape[1])
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, max_shape[0])
    return boxes


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over='ignore'):
        return (1 / (1 + np.exp(-x))).astype(x.dtype)


def _level_candidates(cls_score, bbox_pred, priors, score_thr, nms_pre):
    """One level: ([C, H, W] logits, [4, H, W] distances, priors [H·W, 2]) → the
    candidates above ``score_thr``, best ``nms_pre`` first: (scores, labels, distances,
    priors)."""
    num_classes = cls_score.shape[0]
    scores = _sigmoid(cls_score.reshape(num_classes, -1).T)
    distances = bbox_pred.reshape(4, -1).T
    rows, labels = np.nonzero(scores > score_thr)
    picked = scores[rows, labels]
    order = np.argsort(-picked, kind='stable')
    if nms_pre > 0:
        order = order[:nms_pre]
    rows = rows[order]
    return picked[order], labels[order], distances[rows], priors[rows]


def rtmdet_postprocess(cls_scores: Sequence[np.ndarray], bbox_preds: Sequence[np.ndarray],
                       strides: Sequence[Stride], img_shape: Sequence[int],
                       test_cfg: dict, scale_factor: Optional[Sequence[float]] = None,
                       offset: float = 0.0, clip_border: bool = True
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's detections from the head's outputs (MMDetection's post-processing).

    Args:
        cls_scores: per level float32 [C, H_l, W_l] class logits.
        bbox_preds: per level float32 [4, H_l, W_l] distances (left, top, right,
            bottom) in input px.
        strides: per level the stride (int or (w, h)).
        img_shape: (H, W) of the network input the boxes are clipped to (after
            MMDetection's ``Pad`` this is the padded size).
        test_cfg: ``score_thr``, ``nms_pre`` (per level; ≤ 0 keeps all, where
            MMDetection's ``-1`` drops a level's last candidate, a slicing slip),
            ``min_bbox_size`` (< 0: no filter), ``nms=dict(type='nms', iou_threshold,
            class_agnostic=False)``, ``max_per_img``.
        scale_factor: (w, h) input px per original px; boxes are divided by it.
            None: boxes stay in input px.
        offset: the priors' offset in strides (RTMDet: 0).
        clip_border: clip the decoded boxes to ``img_shape``.

    Returns:
        (bboxes float32 [N, 4] xyxy, scores float32 [N], labels int64 [N]), best first.
    """
    if len(cls_scores) != len(bbox_preds) or len(cls_scores) != len(strides):
        raise ValueError(f'expected one class map, box map and stride per level, got '
                         f'{len(cls_scores)}, {len(bbox_preds)} and {len(strides)}')
    score_thr = float(test_cfg.get('score_thr', 0))
    nms_pre = int(test_cfg.get('nms_pre', -1))
    parts = []
    for cls_score, bbox_pred, stride in zip(cls_scores, bbox_preds, strides):
        cls_score, bbox_pred = np.asarray(cls_score), np.asarray(bbox_pred)
        if cls_score.shape[1:] != bbox_pred.shape[1:] or bbox_pred.shape[0] != 4:
            raise ValueError(f'class map {cls_score.shape} and box map {bbox_pred.shape} '
                             'must be [C, H, W] and [4, H, W]')
        priors = grid_points(*cls_score.shape[1:], stride, offset)
        parts.append(_level_candidates(cls_score, bbox_pred, priors, score_thr, nms_pre))
    scores, labels, distances, priors = (np.concatenate(p) for p in zip(*parts))
    bboxes = distance2bbox(priors, distances, img_shape if clip_border else None)
    if scale_factor is not None:
        inverse = np.array([1 / s for s in scale_factor], np.float32)
        bboxes = bboxes * np.tile(inverse, 2)
    min_size = test_cfg.get('min_bbox_size', -1)
    if min_size >= 0:
        valid = ((bboxes[:, 2] - bboxes[:, 0]) > min_size) & \
            ((bboxes[:, 3] - bboxes[:, 1]) > min_size)
        bboxes, scores, labels = bboxes[valid], scores[valid], labels[valid]
    if len(bboxes):
        nms = test_cfg['nms']
        keep = batched_nms(bboxes, scores, labels, nms['iou_threshold'],
                           class_agnostic=nms.get('class_agnostic', False),
                           max_num=test_cfg.get('max_per_img'))
        bboxes, scores, labels = bboxes[keep], scores[keep], labels[keep]
    return (bboxes.astype(np.float32), scores.astype(np.float32),
            labels.astype(np.int64))


def check_test_cfg(test_cfg: dict) -> dict:
    """``test_cfg`` with its keys checked (see ``rtmdet_postprocess``); raises
    ValueError naming a bad key."""
    test_cfg = dict(test_cfg)
    unknown = sorted(set(test_cfg) - {'nms_pre', 'min_bbox_size', 'score_thr', 'nms',
                                      'max_per_img'})
    if unknown:
        raise ValueError(f'test_cfg: unknown keys {unknown} (known: nms_pre, '
                         'min_bbox_size, score_thr, nms, max_per_img)')
    nms = dict(test_cfg.get('nms') or {})
    if nms.get('type', 'nms') != 'nms' or 'iou_threshold' not in nms or \
            set(nms) - {'type', 'iou_threshold', 'class_agnostic'}:
        raise ValueError(f"test_cfg.nms must be dict(type='nms', iou_threshold=…"
                         f"[, class_agnostic=…]), got {test_cfg.get('nms')!r}")
    test_cfg['nms'] = nms
    return test_cfg


@MODELS.register_module()
class RTMDetSepBNHead(BaseModule):
    """RTMDet's head: shared convs, separate BNs per level (MMDetection 3.x).

    Args:
        num_classes (int): object classes (COCO: 80; MMPose's person detector: 1).
        in_channels (int): channels of every input level.
        feat_channels (int): channels of the stacked convs. Default 256.
        stacked_convs (int): 3×3 conv + BN + activation per branch. Default 4
            (MMDetection's; RTMDet's configs use 2).
        share_conv (bool): the levels share the stacked convs' weights (each keeps
            its own BN). Default True.
        use_depthwise (bool): depthwise-separable stacked convs.
        pred_kernel_size (int): kernel of ``rtm_cls`` / ``rtm_reg``. Default 1.
        exp_on_reg (bool): distances = exp(rtm_reg) · stride (else rtm_reg · stride).
        with_objectness (bool): only False (RTMDet's configs); MMDetection's
            objectness branch is not built.
        anchor_generator (dict): ``dict(type='MlvlPointGenerator', strides=[8, 16,
            32], offset=0)``: one prior per location and level.
        bbox_coder (dict): ``dict(type='DistancePointBBoxCoder', clip_border=True)``.
        conv_cfg (dict, optional): None (plain convs).
        norm_cfg (dict): batch norm config. act_cfg (dict): activation config.
        test_cfg (dict, optional): post-processing (``rtmdet_postprocess``); default
            MMDetection's RTMDet COCO setting.
        init_cfg (dict, optional): mmengine init config; None: ``init_weights``
            draws MMDetection's init (normal std 0.01, class bias for prior 0.01).

    Shapes:
        forward(tuple of L maps [N, in_channels, H_l, W_l]) → (cls_scores, bbox_preds):
        tuples of L tensors [N, num_classes, H_l, W_l] (logits) and [N, 4, H_l, W_l]
        (left, top, right, bottom distances in input px).
    """

    sweep_example = dict(cfg=dict(num_classes=3, in_channels=8, feat_channels=8,
                                  stacked_convs=2, exp_on_reg=True),
                         inputs=[[(2, 8, 8, 8), (2, 8, 4, 4), (2, 8, 2, 2)]])

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 stacked_convs: int = 4, share_conv: bool = True,
                 use_depthwise: bool = False, pred_kernel_size: int = 1,
                 exp_on_reg: bool = False, with_objectness: bool = False,
                 anchor_generator: dict = DEFAULT_PRIORS,
                 bbox_coder: dict = dict(type='DistancePointBBoxCoder'),
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = DEFAULT_NORM,
                 act_cfg: dict = DEFAULT_ACT, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'num_classes must be at least 1, got {num_classes}')
        if with_objectness:
            raise ValueError('with_objectness=True (an objectness branch) is not built by '
                             "hpekit's RTMDetSepBNHead; RTMDet's configs set it False")
        self.strides, self.prior_offset = self._priors(anchor_generator)
        self.clip_border = self._coder(bbox_coder)
        check_conv_cfg(conv_cfg)
        if use_depthwise and share_conv:
            raise ValueError('use_depthwise=True needs share_conv=False (MMDetection shares '
                             'only plain convs; RTMDet-nano sets share_conv=False)')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.share_conv = share_conv
        self.exp_on_reg = exp_on_reg
        self.test_cfg = check_test_cfg(DEFAULT_TEST_CFG if test_cfg is None else test_cfg)
        conv = conv_block(use_depthwise)
        common = dict(stride=1, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                      act_cfg=act_cfg)
        self.cls_convs, self.reg_convs = nn.ModuleList(), nn.ModuleList()
        self.rtm_cls, self.rtm_reg = nn.ModuleList(), nn.ModuleList()
        for _ in self.strides:
            for branch in (self.cls_convs, self.reg_convs):
                branch.append(nn.ModuleList([
                    conv(in_channels if i == 0 else feat_channels, feat_channels, 3,
                         **common) for i in range(stacked_convs)]))
            pad = pred_kernel_size // 2
            self.rtm_cls.append(nn.Conv2d(feat_channels, num_classes, pred_kernel_size,
                                          padding=pad))
            self.rtm_reg.append(nn.Conv2d(feat_channels, 4, pred_kernel_size, padding=pad))
        if share_conv:
            for level in range(1, len(self.strides)):
                for i in range(stacked_convs):
                    self.cls_convs[level][i].conv = self.cls_convs[0][i].conv
                    self.reg_convs[level][i].conv = self.reg_convs[0][i].conv

    @staticmethod
    def _priors(cfg: dict) -> Tuple[List[Tuple[float, float]], float]:
        cfg = dict(cfg)
        if cfg.pop('type', None) != 'MlvlPointGenerator' or 'strides' not in cfg or \
                set(cfg) - {'strides', 'offset'}:
            raise ValueError("anchor_generator must be dict(type='MlvlPointGenerator', "
                             f'strides=[…], offset=0), got {cfg!r}')
        return [_pair(s) for s in cfg['strides']], float(cfg.get('offset', 0.5))

    @staticmethod
    def _coder(cfg: dict) -> bool:
        cfg = dict(cfg)
        if cfg.pop('type', None) != 'DistancePointBBoxCoder' or set(cfg) - {'clip_border'}:
            raise ValueError("bbox_coder must be dict(type='DistancePointBBoxCoder'"
                             f'[, clip_border=True]), got {cfg!r}')
        return bool(cfg.get('clip_border', True))

    def init_weights(self) -> None:
        """MMDetection's init (without an ``init_cfg``): convs normal(0, 0.01), norms
        weight 1, the class biases −log(99) (prior probability 0.01)."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0, 0.01)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for rtm_cls in self.rtm_cls:
            nn.init.constant_(rtm_cls.bias, -math.log((1 - 0.01) / 0.01))

    def forward(self, feats: Sequence[torch.Tensor]
                ) -> Tuple[Tuple[torch.Tensor, ...], Tuple[torch.Tensor, ...]]:
        """L maps → (cls_scores, bbox_preds); see the class doc."""
        if len(feats) != len(self.strides):
            raise ValueError(f'expected {len(self.strides)} feature maps (one per stride '
                             f'{[s[0] for s in self.strides]}), got {len(feats)}')
        cls_scores, bbox_preds = [], []
        for level, x in enumerate(feats):
            cls_feat, reg_feat = x, x
            for layer in self.cls_convs[level]:
                cls_feat = layer(cls_feat)
            for layer in self.reg_convs[level]:
                reg_feat = layer(reg_feat)
            reg = self.rtm_reg[level](reg_feat)
            if self.exp_on_reg:
                reg = reg.exp()
            cls_scores.append(self.rtm_cls[level](cls_feat))
            bbox_preds.append(reg * self.strides[level][0])
        return tuple(cls_scores), tuple(bbox_preds)

    def postprocess(self, cls_scores: Sequence[np.ndarray], bbox_preds: Sequence[np.ndarray],
                    img_meta: dict, rescale: bool = True,
                    test_cfg: Optional[dict] = None
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One image's numpy outputs (per level [C, H, W] and [4, H, W]) → (bboxes,
        scores, labels) with this head's priors and ``test_cfg``; ``img_meta`` holds
        ``img_shape`` (H, W) and, with ``rescale``, ``scale_factor`` (w, h)."""
        cfg = self.test_cfg if test_cfg is None else check_test_cfg(test_cfg)
        return rtmdet_postprocess(cls_scores, bbox_preds, self.strides, img_meta['img_shape'],
                                  cfg, img_meta['scale_factor'] if rescale else None,
                                  self.prior_offset, self.clip_border)

    def predict_by_feat(self, cls_scores: Sequence[torch.Tensor],
                        bbox_preds: Sequence[torch.Tensor], batch_img_metas: List[dict],
                        rescale: bool = True,
                        test_cfg: Optional[dict] = None) -> List[InstanceData]:
        """The head's outputs for a batch → per image ``InstanceData(bboxes [N, 4] xyxy,
        scores [N], labels [N])`` (tensors on the outputs' device), best first; boxes in
        original image px with ``rescale`` (else in network-input px)."""
        results = []
        for i, meta in enumerate(batch_img_metas):
            level_cls = [c[i].detach().float().cpu().numpy() for c in cls_scores]
            level_reg = [b[i].detach().float().cpu().numpy() for b in bbox_preds]
            bboxes, scores, labels = self.postprocess(level_cls, level_reg, meta, rescale,
                                                      test_cfg)
            device = cls_scores[0].device
            results.append(InstanceData(bboxes=torch.from_numpy(bboxes).to(device),
                                        scores=torch.from_numpy(scores).to(device),
                                        labels=torch.from_numpy(labels).to(device)))
        return results

