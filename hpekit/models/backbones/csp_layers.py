"""Building blocks of the CSPNeXt backbone (RTMDet / RTMPose), in plain torch.

Module and parameter names are those of mmcv's ``ConvModule`` /
``DepthwiseSeparableConvModule`` and mmdet's CSP layers, so that the published
RTMDet / RTMPose checkpoints load into hpekit's ``CSPNeXt`` without renaming:

- ``ConvNormAct``: ``conv`` (+ ``bn``) (+ ``activate``), the conv biased only when no
  norm follows it;
- ``DepthwiseSeparableConv``: ``depthwise_conv`` and ``pointwise_conv``, each a
  ``ConvNormAct``;
- ``ChannelAttention``: ``fc`` (1×1 conv with bias) gating the channels;
- ``CSPNeXtBlock``: ``conv1`` (3×3), ``conv2`` (depthwise-separable, 5×5);
- ``CSPLayer``: ``main_conv``, ``short_conv``, ``blocks``, ``attention``,
  ``final_conv``;
- ``SPPBottleneck``: ``conv1``, parameter-free max poolings, ``conv2``.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_NORM = dict(type='BN', momentum=0.03, eps=0.001)
DEFAULT_ACT = dict(type='SiLU')

_NORMS = {'BN': nn.BatchNorm2d, 'BN2d': nn.BatchNorm2d, 'SyncBN': nn.SyncBatchNorm}
_ACTIVATIONS = {'SiLU': nn.SiLU, 'Swish': nn.SiLU, 'ReLU': nn.ReLU, 'ReLU6': nn.ReLU6,
                'LeakyReLU': nn.LeakyReLU, 'GELU': nn.GELU, 'HSwish': nn.Hardswish,
                'HSigmoid': nn.Hardsigmoid, 'Sigmoid': nn.Sigmoid}
# Activations that take no ``inplace`` argument (mmcv's list, for torch's classes).
_NO_INPLACE = {'GELU', 'Sigmoid'}


def check_conv_cfg(conv_cfg: Optional[dict]) -> None:
    """Only plain 2D convolutions: ``None`` or ``dict(type='Conv2d')`` (or ``'Conv'``)."""
    if conv_cfg is None:
        return
    if not isinstance(conv_cfg, dict) or conv_cfg.get('type') not in ('Conv2d', 'Conv') \
            or set(conv_cfg) != {'type'}:
        raise ValueError(f"conv_cfg must be None or dict(type='Conv2d'), got {conv_cfg!r}")


def build_norm(norm_cfg: dict, channels: int) -> nn.Module:
    """A 2D batch norm from an mmcv-style config, e.g. ``dict(type='BN', eps=1e-3)``.

    Types: ``'BN'``/``'BN2d'`` (``nn.BatchNorm2d``) and ``'SyncBN'``
    (``nn.SyncBatchNorm``, which behaves as a plain batch norm outside a distributed
    run). Other keys are the norm's own arguments (``momentum``, ``eps``, ``affine``
    …); ``requires_grad=False`` freezes its weight and bias.
    """
    cfg = dict(norm_cfg)
    kind = cfg.pop('type', None)
    if kind not in _NORMS:
        raise ValueError(f'norm_cfg type must be one of {sorted(_NORMS)}, got {kind!r}')
    requires_grad = cfg.pop('requires_grad', True)
    norm = _NORMS[kind](channels, **cfg)
    for param in norm.parameters():
        param.requires_grad = requires_grad
    return norm


def build_activation(act_cfg: dict) -> nn.Module:
    """An activation from an mmcv-style config, e.g. ``dict(type='SiLU')``.

    ``'Swish'`` is x·sigmoid(x), i.e. ``nn.SiLU``. Activations that can work in place
    do so unless the config says ``inplace=False`` (as mmcv's ``ConvModule``).
    """
    cfg = dict(act_cfg)
    kind = cfg.pop('type', None)
    if kind not in _ACTIVATIONS:
        raise ValueError(f'act_cfg type must be one of {sorted(_ACTIVATIONS)}, '
                         f'got {kind!r}')
    if kind not in _NO_INPLACE:
        cfg.setdefault('inplace', True)
    return _ACTIVATIONS[kind](**cfg)


class ConvNormAct(nn.Module):
    """Conv2d → optional norm → optional activation (mmcv ``ConvModule`` layout).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups:
            those of ``nn.Conv2d``.
        conv_cfg (dict, optional): only plain convs (see ``check_conv_cfg``).
        norm_cfg (dict, optional): ``build_norm`` config; None: no norm, biased conv.
        act_cfg (dict, optional): ``build_activation`` config; None: no activation.

    Parameters are named ``conv.*`` and ``bn.*``; the activation is ``activate``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT):
        super().__init__()
        check_conv_cfg(conv_cfg)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, dilation=dilation, groups=groups,
                              bias=norm_cfg is None)
        self.bn = None if norm_cfg is None else build_norm(norm_cfg, out_channels)
        self.activate = None if act_cfg is None else build_activation(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in, H, W] → [N, out, H', W']."""
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.activate is not None:
            x = self.activate(x)
        return x


class DepthwiseSeparableConv(nn.Module):
    """A per-channel k×k conv then a 1×1 conv, each with norm and activation.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation: as for a
            dense ``nn.Conv2d``; the k×k conv keeps ``in_channels`` (one group each).
        conv_cfg, norm_cfg, act_cfg: as for ``ConvNormAct``, used by both parts.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int = 0, dilation: int = 1,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT):
        super().__init__()
        self.depthwise_conv = ConvNormAct(in_channels, in_channels, kernel_size, stride,
                                          padding, dilation, groups=in_channels,
                                          conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                          act_cfg=act_cfg)
        self.pointwise_conv = ConvNormAct(in_channels, out_channels, 1, conv_cfg=conv_cfg,
                                          norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in, H, W] → [N, out, H', W']."""
        return self.pointwise_conv(self.depthwise_conv(x))


def conv_block(use_depthwise: bool):
    """The k×k conv kind: ``DepthwiseSeparableConv`` or a dense ``ConvNormAct``."""
    return DepthwiseSeparableConv if use_depthwise else ConvNormAct


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation without reduction: x · hardsigmoid(fc(mean_hw(x))).

    Args:
        channels (int): input and output channels.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] → [N, C, H, W], each channel scaled by its gate in [0, 1]."""
        pooled = F.adaptive_avg_pool2d(x, 1)
        return x * self.act(self.fc(pooled))


class CSPNeXtBlock(nn.Module):
    """Residual block of CSPNeXt: 3×3 conv then depthwise-separable large-kernel conv.

    Args:
        in_channels, out_channels (int): the identity is added only when equal.
        expansion (float): hidden channels = int(out_channels · expansion).
        add_identity (bool): add the input to the output (when the shapes allow).
        use_depthwise (bool): make the first (3×3) conv depthwise-separable too.
        kernel_size (int): kernel of the second conv. Default 5.
        conv_cfg, norm_cfg, act_cfg: as for ``ConvNormAct``.
    """

    def __init__(self, in_channels: int, out_channels: int, expansion: float = 0.5,
                 add_identity: bool = True, use_depthwise: bool = False,
                 kernel_size: int = 5, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT):
        super().__init__()
        hidden = int(out_channels * expansion)
        self.conv1 = conv_block(use_depthwise)(in_channels, hidden, 3, stride=1, padding=1,
                                               norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = DepthwiseSeparableConv(hidden, out_channels, kernel_size, stride=1,
                                            padding=kernel_size // 2, conv_cfg=conv_cfg,
                                            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in, H, W] → [N, out, H, W]."""
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Cross-stage-partial layer built of ``CSPNeXtBlock``\\ s.

    The input goes through two 1×1 convs: the main path then runs the blocks, the
    short path is kept; their concatenation is (optionally) gated by channel attention
    and fused by a final 1×1 conv.

    Args:
        in_channels, out_channels (int): channels in and out.
        expand_ratio (float): each path has int(out_channels · expand_ratio) channels.
        num_blocks (int): blocks on the main path.
        add_identity (bool): residual connection inside each block.
        use_depthwise (bool): depthwise-separable first conv in the blocks.
        channel_attention (bool): gate the concatenation with ``ChannelAttention``.
        conv_cfg, norm_cfg, act_cfg: as for ``ConvNormAct``.
    """

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float = 0.5,
                 num_blocks: int = 1, add_identity: bool = True,
                 use_depthwise: bool = False, channel_attention: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT):
        super().__init__()
        mid = int(out_channels * expand_ratio)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.channel_attention = channel_attention
        self.main_conv = ConvNormAct(in_channels, mid, 1, **common)
        self.short_conv = ConvNormAct(in_channels, mid, 1, **common)
        self.final_conv = ConvNormAct(2 * mid, out_channels, 1, **common)
        self.blocks = nn.Sequential(*[
            CSPNeXtBlock(mid, mid, 1.0, add_identity, use_depthwise, **common)
            for _ in range(num_blocks)])
        if channel_attention:
            self.attention = ChannelAttention(2 * mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in, H, W] → [N, out, H, W]."""
        short = self.short_conv(x)
        main = self.blocks(self.main_conv(x))
        out = torch.cat((main, short), dim=1)
        if self.channel_attention:
            out = self.attention(out)
        return self.final_conv(out)


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: 1×1 conv to half the channels, stride-1 max pools of
    several sizes concatenated with their input, 1×1 conv to ``out_channels``.

    Args:
        in_channels, out_channels (int): channels in and out.
        kernel_sizes (Sequence[int]): odd pooling kernels. Default (5, 9, 13).
        conv_cfg, norm_cfg, act_cfg: as for ``ConvNormAct``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_sizes: Sequence[int] = (5, 9, 13), conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT):
        super().__init__()
        mid = in_channels // 2
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvNormAct(in_channels, mid, 1, stride=1, **common)
        self.poolings = nn.ModuleList([nn.MaxPool2d(k, stride=1, padding=k // 2)
                                       for k in kernel_sizes])
        self.conv2 = ConvNormAct(mid * (len(kernel_sizes) + 1), out_channels, 1, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in, H, W] → [N, out, H, W]."""
        x = self.conv1(x)
        x = torch.cat([x] + [pool(x) for pool in self.poolings], dim=1)
        return self.conv2(x)
