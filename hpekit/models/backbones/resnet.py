"""ResNet backbone (v1.5: the stride of a bottleneck sits on its 3×3 conv).

Parameter and buffer names follow torchvision's layout (``conv1``, ``bn1``,
``layer1`` … ``layer4``, blocks with ``conv1``/``bn1``/``conv2``/``bn2``
[/``conv3``/``bn3``] and ``downsample.0``/``downsample.1``), so a torchvision
ImageNet checkpoint loads from a local file through
``init_cfg=dict(type='Pretrained', checkpoint=PATH)``; its ``fc.*`` keys stay unused.
"""
import contextlib

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from hpekit.models.backbones.freezing import FrozenStagesMixin
from hpekit.registry import MODELS


@contextlib.contextmanager
def _keep_norm_stats(module):
    """Restore the BN running statistics of ``module`` on exit.

    Used around the recomputation of a checkpointed block, so that a block run twice
    (forward, then recompute in backward) updates its running statistics only once.
    """
    saved = [(buf, buf.detach().clone()) for m in module.modules()
             if isinstance(m, _BatchNorm) for buf in m.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


class _ResidualBlock(nn.Module):
    """Shared parts of the two block kinds: shortcut, activation checkpointing.

    Subclasses define ``_residual(x)``, the block's residual branch.
    """

    expansion = 1

    def _inner_forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self._residual(x)   # a BN's fresh output: BN's backward does not need it
        out += identity
        return self.relu(out)

    def _use_checkpoint(self, x):
        if not (self.with_cp and self.training):
            return False
        return x.requires_grad or any(p.requires_grad for p in self.parameters())

    def forward(self, x):
        """[N, in, H, W] → [N, planes × expansion, H / stride, W / stride]."""
        if not self._use_checkpoint(x):
            return self._inner_forward(x)
        return cp.checkpoint(self._inner_forward, x, use_reentrant=False,
                             context_fn=self._checkpoint_contexts)

    def _checkpoint_contexts(self):
        """(forward context, recompute context) for ``torch.utils.checkpoint``."""
        return contextlib.nullcontext(), _keep_norm_stats(self)


class BasicBlock(_ResidualBlock):
    """Two 3×3 convs (stride on the first); output channels = ``planes``."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, with_cp=False):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    def _residual(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(_ResidualBlock):
    """1×1 reduce, 3×3 (with the stride), 1×1 expand; output = ``planes × 4``."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, with_cp=False):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    def _residual(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


def _make_stage(block, inplanes, planes, num_blocks, stride, with_cp):
    """A ``nn.Sequential`` of residual blocks; the first one may downsample."""
    out_planes = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_planes:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, out_planes, 1, stride, bias=False),
            nn.BatchNorm2d(out_planes))
    blocks = [block(inplanes, planes, stride, downsample, with_cp)]
    blocks += [block(out_planes, planes, with_cp=with_cp) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


@MODELS.register_module()
class ResNet(FrozenStagesMixin, BaseModule):
    """ResNet-18/34/50/101/152 feature extractor with torchvision's parameter names
    (which are MMPose's too: its ResNet checkpoints load unchanged).

    Args:
        depth (int): 18, 34 (BasicBlock) or 50, 101, 152 (Bottleneck).
        in_channels (int): channels of the input image. Default 3.
        base_channels (int): stage ``i`` has ``base_channels × 2**i`` bottleneck
            width. 64 gives the standard (torchvision) network.
        stem_channels (int, optional): output channels of the stem conv (MMPose's
            argument); None: ``base_channels``.
        out_indices (Sequence[int]): stages (0..3) whose outputs are returned, in
            stage order.
        frozen_stages (int): -1 freezes nothing, 0 the stem, ``i`` the stem and
            ``layer1`` … ``layer{i}`` (eval mode, ``requires_grad=False``, kept
            through ``train()``).
        norm_eval (bool): keep every BatchNorm in eval mode while training.
        with_cp (bool): activation checkpointing per residual block while training
            (saves memory, costs a recomputation).
        init_cfg (dict | list[dict], optional): mmengine init config, e.g.
            ``dict(type='Pretrained', checkpoint='resnet50-0676ba61.pth')``. Without
            it, convs get Kaiming-normal (fan_out) and BatchNorms weight 1, bias 0.

    Shapes:
        forward: [N, in_channels, H, W] float → tuple of feature maps, one per entry
        of ``out_indices``; stage ``i`` is [N, out_channels, H / 2**(i+2), W / 2**(i+2)]
        (e.g. 224×224 ResNet-50, stage 3: [N, 2048, 7, 7]).

    Attributes:
        out_channels (list[int]): channels of each returned map, in ``out_indices``
            order.
    """

    sweep_example = dict(cfg=dict(depth=18, base_channels=8, out_indices=(1, 3)), inputs=[(2, 3, 32, 32)])

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth, in_channels=3, base_channels=64, out_indices=(3,),
                 frozen_stages=-1, norm_eval=False, with_cp=False, init_cfg=None,
                 stem_channels=None):
        super().__init__(init_cfg=init_cfg)
        stem_channels = base_channels if stem_channels is None else stem_channels
        self._check_args(depth, in_channels, base_channels, out_indices, frozen_stages)
        if not isinstance(stem_channels, int) or stem_channels <= 0:
            raise ValueError(f'stem_channels must be a positive int, got {stem_channels!r}')
        block, stage_blocks = self.arch_settings[depth]
        self.depth = depth
        self.out_indices = tuple(sorted(set(out_indices)))
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stage_channels = []
        inplanes = stem_channels
        for i, num_blocks in enumerate(stage_blocks):
            planes = base_channels * 2**i
            stage = _make_stage(block, inplanes, planes, num_blocks,
                                1 if i == 0 else 2, with_cp)
            self.add_module(f'layer{i + 1}', stage)
            inplanes = planes * block.expansion
            self.stage_channels.append(inplanes)
        self.out_channels = [self.stage_channels[i] for i in self.out_indices]
        self._freeze_stages()

    def _check_args(self, depth, in_channels, base_channels, out_indices, frozen_stages):
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of {sorted(self.arch_settings)}, '
                             f'got {depth!r}')
        for name, value in (('in_channels', in_channels),
                            ('base_channels', base_channels)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        if not out_indices or any(i not in range(4) for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty sequence of stage '
                             f'indices in 0..3, got {out_indices!r}')
        if frozen_stages not in range(-1, 5):
            raise ValueError(f'frozen_stages must be an int in -1..4, '
                             f'got {frozen_stages!r}')

    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.conv1, self.bn1]
        return modules + [getattr(self, f'layer{i}')
                          for i in range(1, self.frozen_stages + 1)]

    def init_weights(self):
        """Kaiming/constant init without ``init_cfg``; otherwise mmengine's."""
        if self.init_cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                            nonlinearity='relu')
                elif isinstance(m, _BatchNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        super().init_weights()

    def forward(self, x):
        """[N, C, H, W] → tuple of the maps of the stages in ``out_indices``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
