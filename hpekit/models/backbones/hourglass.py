"""Stacked hourglass backbone (Newell et al., 2016) with pluggable residual blocks.

Every residual block — the stem's, the hourglasses', the post-hourglass ones — is built
from the ``block`` config through ``hpekit.registry.BLOCKS``, so a new block design is
one registered class plus ``block=dict(type='MyBlock', ...)`` in a config.
"""
from collections import OrderedDict

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from hpekit.registry import BLOCKS, MODELS

STEMS = ('conv7x7', 'patchify')
STEM_CHANNELS = 64  # width of the first conv; the stem blocks go 64→128→256→channels


def _check_positive_int(name, value, minimum=1):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')


def _block_cfg(block):
    """Normalise ``block`` (a config dict with ``type``, or a type name) to a dict."""
    if isinstance(block, str):
        return dict(type=block)
    if isinstance(block, dict) and 'type' in block:
        if 'in_channels' in block or 'out_channels' in block:
            raise ValueError('block must not set in_channels/out_channels; the hourglass '
                             f'sets them per position, got {dict(block)!r}')
        return dict(block)
    raise ValueError("block must be a dict with a 'type' key naming a BLOCKS design "
                     f"(e.g. dict(type='PreActBottleneck')), got {block!r}")


def build_block(block, in_channels, out_channels):
    """One residual block of design ``block``: [N,in,H,W] → [N,out,H,W]."""
    return BLOCKS.build(dict(block, in_channels=in_channels, out_channels=out_channels))


def build_blocks(block, in_channels, out_channels, num_blocks):
    """``num_blocks`` blocks in sequence, the first in→out, the rest out→out."""
    widths = [in_channels] + [out_channels] * num_blocks
    return nn.Sequential(*[build_block(block, widths[i], widths[i + 1])
                           for i in range(num_blocks)])


class Hourglass(nn.Module):
    """One hourglass of ``depth`` levels, ``channels`` wide throughout.

    Each level: upper branch = ``num_blocks`` blocks at full resolution; lower branch =
    2×2 max-pool, ``num_blocks`` blocks, the next level (or ``num_blocks`` blocks at the
    innermost level), ``num_blocks`` blocks, nearest ×2 upsample; output = upper + lower.

    Input [N, channels, H, W] with H and W divisible by 2**depth → same shape.
    """

    def __init__(self, depth, channels, num_blocks, block):
        super().__init__()
        self.depth = depth
        self.up = build_blocks(block, channels, channels, num_blocks)
        self.pool = nn.MaxPool2d(2, 2)
        self.low1 = build_blocks(block, channels, channels, num_blocks)
        self.low2 = (Hourglass(depth - 1, channels, num_blocks, block) if depth > 1
                     else build_blocks(block, channels, channels, num_blocks))
        self.low3 = build_blocks(block, channels, channels, num_blocks)

    def forward(self, x):
        """x: [N, C, H, W] → [N, C, H, W]."""
        upper = self.up(x)
        lower = self.low3(self.low2(self.low1(self.pool(x))))
        # Summed into the upsampled tensor (fresh; nearest upsampling's backward does not
        # need it), never into a block's output, whose backward may need it.
        return F.interpolate(lower, scale_factor=2, mode='nearest').add_(upper)


@MODELS.register_module()
class StackedHourglass(BaseModule):
    """Stacked hourglass network producing one heatmap tensor per stack.

    Args:
        num_stacks (int): number of hourglasses (each supervised). Default 2.
        num_blocks (int): residual blocks per hourglass component and after each
            hourglass. Default 1.
        channels (int): feature width of the hourglasses (even). Default 256.
        num_joints (int): heatmap channels. Default 16.
        depth (int): levels per hourglass (input side must be divisible by
            4 * 2**depth). Default 4.
        stem (str): ``'conv7x7'`` (7×7 stride-2 conv) or ``'patchify'`` (3×3 stride-2
            conv); either is followed by BN + ReLU, block 64→128, 2×2 max-pool, block
            128→256, block 256→channels.
        block (dict | str): BLOCKS config of the residual design, used for every block;
            ``in_channels``/``out_channels`` are filled in per position.
        init_cfg (dict | list | None): mmengine initialisation config.

    Input [N, 3, H, W] → tuple of ``num_stacks`` tensors [N, num_joints, H/4, W/4].
    """

    sweep_example = dict(
        cfg=dict(num_stacks=2, channels=16, num_joints=3, depth=2), inputs=[(1, 3, 32, 32)])

    def __init__(self, num_stacks=2, num_blocks=1, channels=256, num_joints=16, depth=4,
                 stem='conv7x7', block=dict(type='PreActBottleneck'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self._check_args(num_stacks, num_blocks, channels, num_joints, depth, stem)
        block = _block_cfg(block)
        self.num_stacks, self.depth, self.stem_type = num_stacks, depth, stem
        self.stem = self._make_stem(stem, channels, block)
        self.hourglasses = nn.ModuleList(
            Hourglass(depth, channels, num_blocks, block) for _ in range(num_stacks))
        self.features = nn.ModuleList(
            self._make_features(channels, num_blocks, block) for _ in range(num_stacks))
        self.heads = nn.ModuleList(
            nn.Conv2d(channels, num_joints, 1) for _ in range(num_stacks))
        self.merge_features = nn.ModuleList(
            nn.Conv2d(channels, channels, 1) for _ in range(num_stacks - 1))
        self.merge_heatmaps = nn.ModuleList(
            nn.Conv2d(num_joints, channels, 1) for _ in range(num_stacks - 1))

    @staticmethod
    def _check_args(num_stacks, num_blocks, channels, num_joints, depth, stem):
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {', '.join(map(repr, STEMS))}, "
                             f'got {stem!r}')
        _check_positive_int('depth', depth)
        _check_positive_int('num_stacks', num_stacks)
        _check_positive_int('num_blocks', num_blocks)
        _check_positive_int('num_joints', num_joints)
        _check_positive_int('channels', channels, minimum=2)
        if channels % 2:
            raise ValueError(f'channels must be even, got {channels}')

    @staticmethod
    def _make_stem(stem, channels, block):
        """[N, 3, H, W] → [N, channels, H/4, W/4]."""
        if stem == 'conv7x7':
            conv = nn.Conv2d(3, STEM_CHANNELS, 7, stride=2, padding=3)
        else:
            conv = nn.Conv2d(3, STEM_CHANNELS, 3, stride=2, padding=1)
        return nn.Sequential(OrderedDict(
            conv=conv,
            bn=nn.BatchNorm2d(STEM_CHANNELS),
            relu=nn.ReLU(inplace=True),
            block1=build_block(block, STEM_CHANNELS, 128),
            pool=nn.MaxPool2d(2, 2),
            block2=build_block(block, 128, 256),
            block3=build_block(block, 256, channels)))

    @staticmethod
    def _make_features(channels, num_blocks, block):
        """Post-hourglass features: blocks → 1×1 conv + BN + ReLU; [N,C,h,w] → same."""
        return nn.Sequential(OrderedDict(
            blocks=build_blocks(block, channels, channels, num_blocks),
            conv=nn.Conv2d(channels, channels, 1),
            bn=nn.BatchNorm2d(channels),
            relu=nn.ReLU(inplace=True)))

    def _check_input(self, x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'input must be [N, 3, H, W], got {list(x.shape)}')
        multiple = 4 * 2 ** self.depth
        if x.shape[2] % multiple or x.shape[3] % multiple:
            raise ValueError(f'input size (H, W) must be divisible by 4 * 2**depth = '
                             f'{multiple} for depth={self.depth}, got '
                             f'{tuple(x.shape[2:])}')

    def forward(self, x):
        """x: [N, 3, H, W] → tuple of num_stacks heatmaps [N, num_joints, H/4, W/4]."""
        self._check_input(x)
        x = self.stem(x)
        heatmaps = []
        for i in range(self.num_stacks):
            features = self.features[i](self.hourglasses[i](x))
            heatmap = self.heads[i](features)
            heatmaps.append(heatmap)
            if i < self.num_stacks - 1:
                # (x + merge_features(features)) + merge_heatmaps(heatmap), summed in
                # the same order into the conv's fresh output (no temporaries; x is
                # not written).
                merged = self.merge_features[i](features)
                merged += x
                merged += self.merge_heatmaps[i](heatmap)
                x = merged
        return tuple(heatmaps)
