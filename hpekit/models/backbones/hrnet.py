"""HRNet backbone (Sun et al., 2019) with MMPose 1.x's arguments and parameter names.

A stem of two stride-2 3×3 convs, ``layer1`` (residual blocks at 1/4 resolution), then
stages 2–4: each stage first adds one lower-resolution branch (``transition{s-1}``),
then runs ``num_modules`` high-resolution modules, each of which runs its branches'
residual blocks in parallel and fuses every branch into every output branch.

Parameter and buffer names equal MMPose's ``HRNet`` (``conv1``, ``bn1``, ``conv2``,
``bn2``, ``layer1.*``, ``transition{1,2,3}.*``, ``stage{2,3,4}.{m}.branches.*`` and
``.fuse_layers.*``), so MMPose's published checkpoints load with ``strict=True``.
"""
import copy

import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from hpekit.models.backbones.resnet import BasicBlock, Bottleneck
from hpekit.models.backbones.resnet import _make_stage as _residual_layer
from hpekit.models.backbones.freezing import FrozenStagesMixin
from hpekit.registry import MODELS

BLOCK_TYPES = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}
STEM_CHANNELS = 64
STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks', 'num_channels')
NORM_TYPES = ('BN', 'BN2d', 'SyncBN')
DEFAULT_INIT_CFG = [dict(type='Normal', std=0.001, layer=['Conv2d']),
                    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]


def _conv_bn(in_channels, out_channels, kernel_size, stride, relu):
    """[Conv2d (no bias), BatchNorm2d(, ReLU)]: [N,in,H,W] → [N,out,H/stride,W/stride]."""
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                        kernel_size // 2, bias=False),
              nn.BatchNorm2d(out_channels)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


def _upsample_path(in_channels, out_channels, factor, upsample_cfg):
    """1×1 conv + BN, then ×``factor`` upsampling: a lower branch → a higher one."""
    path = _conv_bn(in_channels, out_channels, 1, 1, relu=False)
    path.append(nn.Upsample(scale_factor=factor, mode=upsample_cfg['mode'],
                            align_corners=upsample_cfg['align_corners']))
    return path


def _downsample_path(in_channels, out_channels, steps):
    """``steps`` stride-2 3×3 conv + BN units (ReLU between, not after the last),
    channels in → … → in → out: a higher branch → one ``2**steps`` times coarser."""
    units = [_conv_bn(in_channels, in_channels, 3, 2, relu=True) for _ in range(steps - 1)]
    return nn.Sequential(*units, _conv_bn(in_channels, out_channels, 3, 2, relu=False))


def _transition(pre_channels, cur_channels):
    """Branch adapters between two stages: ``nn.ModuleList`` with one entry per new
    branch — None (kept as is), a 3×3 conv + BN + ReLU (channels change), or, for a
    branch the previous stage lacks, stride-2 3×3 conv + BN + ReLU units applied to
    the previous stage's last branch."""
    num_pre = len(pre_channels)
    layers = []
    for i, channels in enumerate(cur_channels):
        if i < num_pre:
            same = channels == pre_channels[i]
            layers.append(None if same else _conv_bn(pre_channels[i], channels, 3, 1, True))
            continue
        widths = [pre_channels[-1]] * (i - num_pre + 1) + [channels]
        layers.append(nn.Sequential(*[_conv_bn(widths[k], widths[k + 1], 3, 2, True)
                                      for k in range(i - num_pre + 1)]))
    return nn.ModuleList(layers)


def _check_stage(name, stage):
    """Validate one ``extra['stageN']`` dict (keys, lengths, block name)."""
    if not isinstance(stage, dict):
        raise ValueError(f'extra[{name!r}] must be a dict, got {stage!r}')
    missing = [key for key in STAGE_KEYS if key not in stage]
    if missing:
        raise ValueError(f'extra[{name!r}] lacks {missing}')
    if stage['block'] not in BLOCK_TYPES:
        raise ValueError(f"extra[{name!r}]['block'] must be one of {sorted(BLOCK_TYPES)}, "
                         f"got {stage['block']!r}")
    branches = stage['num_branches']
    for key in ('num_blocks', 'num_channels'):
        if len(stage[key]) != branches:
            raise ValueError(f"extra[{name!r}]: num_branches is {branches} but {key} "
                             f'has {len(stage[key])} entries: {tuple(stage[key])}')
    if stage['num_modules'] < 1:
        raise ValueError(f"extra[{name!r}]['num_modules'] must be >= 1")


def _check_cfgs(conv_cfg, norm_cfg, frozen_stages):
    if conv_cfg is not None and conv_cfg.get('type') not in ('Conv', 'Conv2d'):
        raise ValueError(f"conv_cfg must be None or dict(type='Conv2d'), got {conv_cfg!r}")
    if norm_cfg.get('type') not in NORM_TYPES:
        raise ValueError(f'norm_cfg type must be one of {NORM_TYPES} (MMPose key names '
                         f'bn1, bn2, …), got {norm_cfg!r}')
    if frozen_stages not in range(-1, 5):
        raise ValueError(f'frozen_stages must be an int in -1..4, got {frozen_stages!r}')


def _apply_norm_cfg(module, norm_cfg):
    """Give every BatchNorm of ``module`` the ``norm_cfg`` settings (eps, momentum,
    requires_grad; SyncBN converts them to ``nn.SyncBatchNorm``). Names are unchanged."""
    cfg = dict(norm_cfg)
    norm_type, requires_grad = cfg.pop('type'), cfg.pop('requires_grad', True)
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eps, m.momentum = cfg.get('eps', m.eps), cfg.get('momentum', m.momentum)
            for param in m.parameters():
                param.requires_grad = requires_grad
    if norm_type == 'SyncBN':
        nn.SyncBatchNorm.convert_sync_batchnorm(module)


def _check_fusable(terms, i):
    """Every branch's map resampled to branch ``i`` must have branch ``i``'s size."""
    size = terms[i].shape[-2:]
    for j, term in enumerate(terms):
        if term.shape[-2:] != size:
            raise ValueError(f'HRNet cannot fuse branch {j} ({tuple(term.shape[-2:])} after '
                             f'resampling) into branch {i} ({tuple(size)}): the input '
                             'height and width must halve evenly down to the coarsest '
                             'branch (multiples of 32 for 4 branches)')


class HRModule(nn.Module):
    """One multi-resolution module: parallel residual branches, then fusion.

    Args:
        block (type): ``BasicBlock`` or ``Bottleneck`` (output = channels × expansion).
        num_blocks (Sequence[int]): blocks per branch.
        in_channels (Sequence[int]): input channels per branch.
        num_channels (Sequence[int]): block width per branch.
        multiscale_output (bool): fuse into every branch (True) or only the first.
        with_cp (bool): activation checkpointing inside the residual blocks.
        upsample_cfg (dict): ``mode`` and ``align_corners`` of the fusion upsampling.

    Shapes:
        forward(list of B maps, branch b [N, in_channels[b], H/2**b, W/2**b]) → list of
        maps [N, out_channels[b], H/2**b, W/2**b], for every branch if
        ``multiscale_output`` (or a single branch) else for branch 0 only.
    """

    def __init__(self, block, num_blocks, in_channels, num_channels,
                 multiscale_output=True, with_cp=False,
                 upsample_cfg=dict(mode='nearest', align_corners=None)):
        super().__init__()
        self.num_branches = len(num_channels)
        self.branches = nn.ModuleList(
            _residual_layer(block, in_channels[b], num_channels[b], num_blocks[b], 1,
                            with_cp) for b in range(self.num_branches))
        self.out_channels = [c * block.expansion for c in num_channels]
        self.fuse_layers = None
        if self.num_branches > 1:
            outputs = self.num_branches if multiscale_output else 1
            self.fuse_layers = nn.ModuleList(
                self._fuse_into(i, upsample_cfg) for i in range(outputs))
        self.relu = nn.ReLU(inplace=True)

    def _fuse_into(self, i, upsample_cfg):
        """``nn.ModuleList``: for each branch j, the path j → i (None for j == i)."""
        channels = self.out_channels
        paths = []
        for j in range(self.num_branches):
            if j > i:
                paths.append(_upsample_path(channels[j], channels[i], 2**(j - i),
                                            upsample_cfg))
            else:
                paths.append(None if j == i else
                             _downsample_path(channels[j], channels[i], i - j))
        return nn.ModuleList(paths)

    def forward(self, x):
        """See the class docstring."""
        feats = [branch(t) for branch, t in zip(self.branches, x)]
        if self.fuse_layers is None:
            return feats
        outs = []
        for i, paths in enumerate(self.fuse_layers):
            terms = [t if path is None else path(t) for path, t in zip(paths, feats)]
            _check_fusable(terms, i)
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            outs.append(self.relu(total))
        return outs


@MODELS.register_module()
class HRNet(FrozenStagesMixin, BaseModule):
    """HRNet feature extractor; MMPose 1.x's constructor and state-dict names.

    Args:
        extra (dict): ``stage1`` … ``stage4``, each a dict of ``num_modules``,
            ``num_branches``, ``block`` ('BASIC' | 'BOTTLENECK'), ``num_blocks`` and
            ``num_channels`` (one entry per branch); ``stage4`` may set
            ``multiscale_output`` (default False: only the highest-resolution map).
            Optional ``upsample=dict(mode, align_corners)`` for the fusion upsampling
            (default nearest). Stage 1 uses the first entry of its lists.
        in_channels (int): channels of the input image. Default 3.
        conv_cfg (dict, optional): None or ``dict(type='Conv2d')`` (plain convs).
        norm_cfg (dict): ``dict(type='BN' | 'SyncBN', eps=…, momentum=…,
            requires_grad=…)``. Default ``dict(type='BN')``.
        norm_eval (bool): keep every BatchNorm in eval mode while training.
        with_cp (bool): activation checkpointing per residual block while training.
        zero_init_residual (bool): initialise the last BN of each residual block to 0
            (skipped when ``init_cfg`` loads a pretrained checkpoint).
        frozen_stages (int): -1 freezes nothing; 0 the stem (conv1, bn1, conv2, bn2);
            ``s`` ≥ 1 also ``layer1`` and ``stage2`` … ``stage{s}`` with
            ``transition1`` … ``transition{min(s, 3)}`` (eval, ``requires_grad=False``,
            kept through ``train()``).
        init_cfg (dict | list[dict], optional): mmengine init config. Default: convs
            Normal(std=0.001), norms weight 1 and bias 0 (MMPose's default).

    Shapes:
        forward: [N, in_channels, H, W] → tuple of maps; branch b is
        [N, C_b, H / 2**(b+2), W / 2**(b+2)] (C_b = stage4 num_channels[b] × block
        expansion); only branch 0 unless stage4 ``multiscale_output``. E.g. W32 on
        [N, 3, 256, 192] → ([N, 32, 64, 48],).

    Attributes:
        out_channels (list[int]): channels of each returned map.
    """

    sweep_example = dict(
        cfg=dict(extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(1,), num_channels=(4,)),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                        num_blocks=(1, 1), num_channels=(4, 8)),
            stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                        num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
            stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                        num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))),
        inputs=[(2, 3, 32, 32)])

    def __init__(self, extra, in_channels=3, conv_cfg=None, norm_cfg=dict(type='BN'),
                 norm_eval=False, with_cp=False, zero_init_residual=False,
                 frozen_stages=-1, init_cfg=copy.deepcopy(DEFAULT_INIT_CFG)):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        for name in ('stage1', 'stage2', 'stage3', 'stage4'):
            _check_stage(name, extra.get(name))
        _check_cfgs(conv_cfg, norm_cfg, frozen_stages)
        self.extra, self.conv_cfg, self.norm_cfg = extra, conv_cfg, copy.deepcopy(norm_cfg)
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.zero_init_residual, self.frozen_stages = zero_init_residual, frozen_stages
        self.upsample_cfg = extra.get('upsample', dict(mode='nearest', align_corners=None))

        self.conv1 = nn.Conv2d(in_channels, STEM_CHANNELS, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(STEM_CHANNELS)
        self.conv2 = nn.Conv2d(STEM_CHANNELS, STEM_CHANNELS, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(STEM_CHANNELS)
        self.relu = nn.ReLU(inplace=True)
        stage1 = extra['stage1']
        block = BLOCK_TYPES[stage1['block']]
        self.layer1 = _residual_layer(block, STEM_CHANNELS, stage1['num_channels'][0],
                                      stage1['num_blocks'][0], 1, with_cp)
        channels = [stage1['num_channels'][0] * block.expansion]
        for s in (2, 3, 4):
            channels = self._add_stage(s, channels)
        self.out_channels = channels if extra['stage4'].get('multiscale_output') \
            else channels[:1]
        _apply_norm_cfg(self, self.norm_cfg)
        self._freeze_stages()

    def _add_stage(self, s, pre_channels):
        """Build ``transition{s-1}`` and ``stage{s}``; return the stage's channels."""
        cfg = self.extra[f'stage{s}']
        block = BLOCK_TYPES[cfg['block']]
        channels = [c * block.expansion for c in cfg['num_channels']]
        self.add_module(f'transition{s - 1}', _transition(pre_channels, channels))
        multiscale = cfg.get('multiscale_output', False) if s == 4 else True
        modules = []
        for m in range(cfg['num_modules']):
            last = m == cfg['num_modules'] - 1
            modules.append(HRModule(block, cfg['num_blocks'], channels,
                                    cfg['num_channels'], multiscale or not last,
                                    self.with_cp, self.upsample_cfg))
            channels = modules[-1].out_channels
        self.add_module(f'stage{s}', nn.Sequential(*modules))
        return channels

    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.conv1, self.bn1, self.conv2, self.bn2]
        for s in range(1, self.frozen_stages + 1):
            modules.append(self.layer1 if s == 1 else getattr(self, f'stage{s}'))
            if s < 4:
                modules.append(getattr(self, f'transition{s}'))
        return modules

    def init_weights(self):
        """mmengine's ``init_cfg``, then zero-init of residual ends if asked."""
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and \
            self.init_cfg.get('type') == 'Pretrained'
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                last_norm = {Bottleneck: 'bn3', BasicBlock: 'bn2'}.get(type(m))
                if last_norm is not None:
                    nn.init.zeros_(getattr(m, last_norm).weight)
                    nn.init.zeros_(getattr(m, last_norm).bias)

    @staticmethod
    def _transit(transition, feats):
        """Apply a transition: kept branches pass through (or their adapter), new
        branches are made from the last (coarsest) incoming map."""
        return [feats[i] if layer is None else layer(feats[min(i, len(feats) - 1)])
                for i, layer in enumerate(transition)]

    def forward(self, x):
        """[N, C, H, W] → tuple of maps (see the class docstring)."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        feats = [self.layer1(x)]
        for s in (2, 3, 4):
            feats = self._transit(getattr(self, f'transition{s - 1}'), feats)
            feats = getattr(self, f'stage{s}')(feats)
        return tuple(feats)
