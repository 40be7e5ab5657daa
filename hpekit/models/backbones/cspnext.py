"""CSPNeXt: the backbone of RTMDet and RTMPose, in plain torch.

The constructor takes mmdet's / MMPose's ``CSPNeXt`` arguments and the modules carry
their names (``stem.0.conv.weight``, ``stage1.0.bn.running_mean``,
``stage4.2.blocks.0.conv2.depthwise_conv.conv.weight`` …), so an RTMPose config's
``model.backbone`` dict (without its ``_scope_``) builds it and the published
checkpoints load strictly. Building blocks: ``hpekit.models.backbones.csp_layers``.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.models.backbones.csp_layers import (DEFAULT_ACT, DEFAULT_NORM, ConvNormAct,
                                                CSPLayer, SPPBottleneck, check_conv_cfg,
                                                conv_block)
from hpekit.models.backbones.freezing import FrozenStagesMixin
from hpekit.registry import MODELS

# One row per stage: in_channels, out_channels, num_blocks, add_identity, use_spp
# (before the width / depth factors).
ARCH_SETTINGS = {
    'P5': [[64, 128, 3, True, False], [128, 256, 6, True, False],
           [256, 512, 6, True, False], [512, 1024, 3, False, True]],
    'P6': [[64, 128, 3, True, False], [128, 256, 6, True, False],
           [256, 512, 6, True, False], [512, 768, 3, True, False],
           [768, 1024, 3, False, True]],
}

DEFAULT_INIT = dict(type='Kaiming', layer='Conv2d', a=math.sqrt(5), distribution='uniform',
                    mode='fan_in', nonlinearity='leaky_relu')


@MODELS.register_module()
class CSPNeXt(FrozenStagesMixin, BaseModule):
    """CSPNeXt backbone (RTMDet, RTMPose).

    A stem of three 3×3 convs (the first with stride 2), then one stage per row of the
    architecture: a stride-2 3×3 conv, in the last stage an ``SPPBottleneck``, and a
    ``CSPLayer`` of ``CSPNeXtBlock``\\ s with channel attention.

    Args:
        arch (str): ``'P5'`` (4 stages, stride 32) or ``'P6'`` (5 stages, stride 64).
        deepen_factor (float): blocks per stage = max(round(n · factor), 1).
        widen_factor (float): channels = int(c · factor) (the stem: int(64 · factor
            // 2) then int(64 · factor)). RTMPose-t/s/m/l: depth 0.167/0.33/0.67/1.0,
            width 0.375/0.5/0.75/1.0.
        out_indices (Sequence[int]): which outputs to return: 0 is the stem, i the
            i-th stage. Default (2, 3, 4); RTMPose uses (4,).
        frozen_stages (int): freeze the stem and stages 1..frozen_stages (eval mode, no
            gradients); -1 freezes nothing, 0 the stem only.
        use_depthwise (bool): depthwise-separable 3×3 convs in the stages.
        expand_ratio (float): channel ratio of the CSP layers' two paths.
        arch_ovewrite (list, optional): replaces the architecture's rows (the spelling
            is mmdet's).
        spp_kernel_sizes (Sequence[int]): max-pool kernels of the SPP bottleneck.
        channel_attention (bool): channel attention in each CSP layer.
        conv_cfg (dict, optional): None (plain ``nn.Conv2d``).
        norm_cfg (dict): ``dict(type='BN' | 'SyncBN', momentum=…, eps=…)``.
        act_cfg (dict): activation, e.g. ``dict(type='SiLU')``.
        norm_eval (bool): keep batch norms in eval mode while training.
        init_cfg (dict | list, optional): mmengine init config; default: Kaiming
            uniform on the convs (as mmdet).

    Shapes:
        forward([N, 3, H, W]) → tuple of the selected outputs; output i has stride
        2^(i+1) and int(c_i · widen_factor) channels (stem: 64, P5 stages: 128, 256,
        512, 1024 before the factor).
    """

    arch_settings = ARCH_SETTINGS

    sweep_example = dict(cfg=dict(deepen_factor=0.167, widen_factor=0.125,
                                  out_indices=(3, 4)),
                         inputs=[(2, 3, 64, 64)])

    def __init__(self, arch: str = 'P5', deepen_factor: float = 1.0,
                 widen_factor: float = 1.0, out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1, use_depthwise: bool = False,
                 expand_ratio: float = 0.5, arch_ovewrite: Optional[list] = None,
                 spp_kernel_sizes: Sequence[int] = (5, 9, 13),
                 channel_attention: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = DEFAULT_NORM, act_cfg: dict = DEFAULT_ACT,
                 norm_eval: bool = False, init_cfg: Optional[dict] = DEFAULT_INIT):
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'arch must be one of {sorted(ARCH_SETTINGS)}, got {arch!r}')
        rows = arch_ovewrite if arch_ovewrite else ARCH_SETTINGS[arch]
        out_indices = tuple(out_indices)
        if not out_indices or not set(out_indices) <= set(range(len(rows) + 1)):
            raise ValueError(f'out_indices must be a non-empty subset of 0..{len(rows)} '
                             f'(0: the stem, i: stage i), got {out_indices}')
        if frozen_stages not in range(-1, len(rows) + 1):
            raise ValueError(f'frozen_stages must be in -1..{len(rows)}, '
                             f'got {frozen_stages!r}')
        check_conv_cfg(conv_cfg)
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.use_depthwise = use_depthwise
        self.norm_eval = norm_eval

        common = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        stem_mid = int(rows[0][0] * widen_factor // 2)
        stem_out = int(rows[0][0] * widen_factor)
        self.stem = nn.Sequential(
            ConvNormAct(3, stem_mid, 3, stride=2, padding=1, **common),
            ConvNormAct(stem_mid, stem_mid, 3, stride=1, padding=1, **common),
            ConvNormAct(stem_mid, stem_out, 3, stride=1, padding=1, **common))
        self.layers = ['stem']

        common['conv_cfg'] = conv_cfg
        for i, (in_ch, out_ch, num_blocks, add_identity, use_spp) in enumerate(rows):
            in_ch, out_ch = int(in_ch * widen_factor), int(out_ch * widen_factor)
            num_blocks = max(round(num_blocks * deepen_factor), 1)
            stage = [conv_block(use_depthwise)(in_ch, out_ch, 3, stride=2, padding=1,
                                               **common)]
            if use_spp:
                stage.append(SPPBottleneck(out_ch, out_ch, kernel_sizes=spp_kernel_sizes,
                                           **common))
            stage.append(CSPLayer(out_ch, out_ch, expand_ratio=expand_ratio,
                                  num_blocks=num_blocks, add_identity=add_identity,
                                  use_depthwise=use_depthwise,
                                  channel_attention=channel_attention, **common))
            self.add_module(f'stage{i + 1}', nn.Sequential(*stage))
            self.layers.append(f'stage{i + 1}')

    def _frozen_modules(self) -> List[nn.Module]:
        return [getattr(self, name) for name in self.layers[:self.frozen_stages + 1]]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """[N, 3, H, W] → the outputs selected by ``out_indices`` (see class doc)."""
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
