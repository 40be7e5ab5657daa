"""CSPNeXtPAFPN: RTMDet's path-aggregation neck, in plain torch.

The constructor takes MMDetection 3.x's ``CSPNeXtPAFPN`` arguments and the modules carry
its names (``reduce_layers.0.conv.weight``, ``top_down_blocks.0.main_conv.bn.weight``,
``downsamples.1.conv.weight``, ``bottom_up_blocks.0.blocks.0.conv2.depthwise_conv``…,
``out_convs.2.bn.running_var``), so RTMDet's checkpoints load unchanged. The building
blocks are CSPNeXt's (``hpekit.models.backbones.csp_layers``).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.models.backbones.csp_layers import (ConvNormAct, CSPLayer, check_conv_cfg,
                                                conv_block)
from hpekit.registry import MODELS

DEFAULT_NORM = dict(type='BN', momentum=0.03, eps=0.001)
DEFAULT_ACT = dict(type='Swish')
DEFAULT_INIT = dict(type='Kaiming', layer='Conv2d', a=math.sqrt(5), distribution='uniform',
                    mode='fan_in', nonlinearity='leaky_relu')


@MODELS.register_module()
class CSPNeXtPAFPN(BaseModule):
    """Path aggregation network with CSPNeXt blocks (RTMDet's neck).

    Top-down: the coarsest map is reduced (1×1 conv) to the next level's channels,
    upsampled ×2 and fused with that level by a ``CSPLayer``; bottom-up: each fused
    map is downsampled (3×3 stride-2 conv) and fused with the next coarser one; a 3×3
    conv then brings every level to ``out_channels``.

    Args:
        in_channels (Sequence[int]): channels of the input levels, finest first
            (RTMDet-tiny: (96, 192, 384)).
        out_channels (int): channels of every output level.
        num_csp_blocks (int): ``CSPNeXtBlock``\\ s per CSP layer. Default 3.
        use_depthwise (bool): depthwise-separable 3×3 convs (downsamples, output
            convs and the blocks' first convs).
        expand_ratio (float): channel ratio of the CSP layers' two paths.
        upsample_cfg (dict): ``nn.Upsample`` arguments. Default ×2 nearest.
        conv_cfg (dict, optional): None (plain ``nn.Conv2d``).
        norm_cfg (dict): batch norm config (``csp_layers.build_norm``).
        act_cfg (dict): activation config (``csp_layers.build_activation``).
        init_cfg (dict | list, optional): mmengine init config; default Kaiming
            uniform on the convs (as MMDetection).

    Shapes:
        forward(tuple of L maps [N, in_channels[i], H_i, W_i], each half the size of
        the one before) → tuple of L maps [N, out_channels, H_i, W_i].
    """

    sweep_example = dict(cfg=dict(in_channels=(8, 16, 32), out_channels=8,
                                  num_csp_blocks=1),
                         inputs=[[(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4)]])

    def __init__(self, in_channels: Sequence[int], out_channels: int,
                 num_csp_blocks: int = 3, use_depthwise: bool = False,
                 expand_ratio: float = 0.5,
                 upsample_cfg: dict = dict(scale_factor=2, mode='nearest'),
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = DEFAULT_NORM,
                 act_cfg: dict = DEFAULT_ACT,
                 init_cfg: Optional[dict] = DEFAULT_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = tuple(in_channels)
        if len(in_channels) < 2:
            raise ValueError(f'in_channels must name at least 2 levels, got {in_channels}')
        check_conv_cfg(conv_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        csp = dict(num_blocks=num_csp_blocks, add_identity=False,
                   use_depthwise=use_depthwise, expand_ratio=expand_ratio, **common)
        conv = conv_block(use_depthwise)
        self.upsample = nn.Upsample(**upsample_cfg)
        self.reduce_layers = nn.ModuleList()
        self.top_down_blocks = nn.ModuleList()
        for idx in range(len(in_channels) - 1, 0, -1):
            self.reduce_layers.append(ConvNormAct(in_channels[idx], in_channels[idx - 1], 1,
                                                  **common))
            self.top_down_blocks.append(CSPLayer(in_channels[idx - 1] * 2,
                                                 in_channels[idx - 1], **csp))
        self.downsamples = nn.ModuleList()
        self.bottom_up_blocks = nn.ModuleList()
        for idx in range(len(in_channels) - 1):
            self.downsamples.append(conv(in_channels[idx], in_channels[idx], 3, stride=2,
                                         padding=1, **common))
            self.bottom_up_blocks.append(CSPLayer(in_channels[idx] * 2,
                                                  in_channels[idx + 1], **csp))
        self.out_convs = nn.ModuleList([conv(c, out_channels, 3, padding=1, **common)
                                        for c in in_channels])

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """L input maps (finest first) → L output maps; see the class doc."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature maps, '
                             f'got {len(inputs)}')
        levels = len(self.in_channels)
        inner = [inputs[-1]]
        for step, idx in enumerate(range(levels - 1, 0, -1)):
            coarse = self.reduce_layers[step](inner[0])
            inner[0] = coarse
            fused = self.top_down_blocks[step](
                torch.cat([self.upsample(coarse), inputs[idx - 1]], 1))
            inner.insert(0, fused)
        outs = [inner[0]]
        for idx in range(levels - 1):
            down = self.downsamples[idx](outs[-1])
            outs.append(self.bottom_up_blocks[idx](torch.cat([down, inner[idx + 1]], 1)))
        return tuple(conv(out) for conv, out in zip(self.out_convs, outs))
