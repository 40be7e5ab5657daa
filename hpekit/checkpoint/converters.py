"""Checkpoints of other code bases → hpekit's state-dict layout (run once, write a file).

``python tools/misc/convert_checkpoint.py KIND IN OUT`` (or ``python -m
hpekit.checkpoint.converters KIND IN OUT``), KIND one of:

- ``hrnet-pose-resnet``: SimpleBaseline's ``PoseResNet`` of the HRNet repository
  (``deep-high-resolution-net.pytorch``, also Xiao et al.'s own code): keys
  ``conv1.*``, ``bn1.*``, ``layer1..4.*``, ``deconv_layers.*``, ``final_layer.*``.
  hpekit's SimpleBaseline (``ResNet`` backbone + ``DeconvHeatmapHead``) uses the same
  module names under ``backbone.`` / ``head.``, so the mapping is a prefix and the
  network is the same function (configs/mpii_hourglass/simplebaseline-res50_b32-140e_
  mpii-256.py for ResNet-50, 3 × 256 deconvs, 16 joints).
- ``bearpaw-hourglass``: bearpaw/pytorch-pose's ``HourglassNet`` (``conv1``, ``bn1``,
  ``layer1..3``, ``hg.{s}.hg.{level}.{k}.{j}``, ``res``, ``fc``, ``score``, ``fc_``,
  ``score_``). Its stem (7×7 conv, BN, ReLU, blocks 64→128, pool, 128→256,
  256→256), blocks (pre-activation bottlenecks, biased convs, a biased 1×1
  projection on the raw input, no ReLU after the add), hourglasses (max-pool, nearest
  ×2 upsample, level ``i`` of ``hg`` = hpekit's ``low2`` nesting ``depth - 1 - i``) and
  stack merging are hpekit's ``StackedHourglass`` with ``PreActBottleneck``, so the
  network is the same function (configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py
  for ``hg --stacks 2 --blocks 1``; other counts with --cfg-options).

Input: a ``torch.save`` file read with ``torch.load(weights_only=True)`` (hpekit's
safe loader: nothing in the file is executed), a bare state dict or one wrapped in
``{'state_dict': ...}`` (``module.`` prefixes of DataParallel dropped). Output: an
mmengine-style checkpoint ``{'meta': {...}, 'state_dict': ...}`` written atomically,
loadable with ``hpekit.apis.init_model(config, OUT)`` (strict). Every source key must
be mapped: an unknown key stops the conversion with its name (no silent drops).
"""
import argparse
import re
import sys
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.fileio import atomic_open

StateDict = Dict[str, torch.Tensor]


class CheckpointConversionError(ValueError):
    """The input is not a checkpoint of the named kind (the message says why)."""


def read_state_dict(path: str) -> StateDict:
    """The state dict of a checkpoint file: unwrapped, 'module.' prefixes dropped."""
    state = load_checkpoint_file(path, map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict) or not state:
        raise CheckpointConversionError(f'{path}: holds no state dict (expected a dict of '
                                        "tensors or a dict with 'state_dict')")
    out = OrderedDict()
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointConversionError(f'{path}: entry {key!r} is a '
                                            f'{type(value).__name__}, not a tensor')
        out[re.sub(r'^(module\.)+', '', key)] = value
    return out


def _unknown(kind: str, keys) -> None:
    keys = sorted(keys)
    if keys:
        raise CheckpointConversionError(
            f'{len(keys)} key(s) are not part of a {kind} checkpoint (first five: '
            f'{keys[:5]}); is this the right KIND?')


# ------------------------------------------------------------- HRNet PoseResNet
_HRNET_BACKBONE = re.compile(r'^(conv1|bn1|layer[1-4])\.')
_HRNET_HEAD = re.compile(r'^(deconv_layers|final_layer)\.')


def convert_hrnet_pose_resnet(state: StateDict) -> Tuple[StateDict, dict]:
    """HRNet-repo ``PoseResNet`` keys → hpekit's ``backbone.`` / ``head.`` keys.

    Returns:
        (the converted state dict, info: ``depth`` (from the blocks per stage),
        ``deconv_channels``, ``deconv_kernels``, ``final_kernel``, ``num_joints``).
    """
    out, unknown = OrderedDict(), []
    for key, value in state.items():
        if _HRNET_BACKBONE.match(key):
            out['backbone.' + key] = value
        elif _HRNET_HEAD.match(key):
            out['head.' + key] = value
        else:
            unknown.append(key)
    _unknown('hrnet-pose-resnet', unknown)
    if 'final_layer.weight' not in state or 'conv1.weight' not in state:
        raise CheckpointConversionError('not a PoseResNet checkpoint: conv1.weight and '
                                        'final_layer.weight are required')
    blocks = [len({k.split('.')[1] for k in state if k.startswith(f'layer{i}.')})
              for i in range(1, 5)]
    bottleneck = any('.conv3.' in k for k in state)
    depths = {(2, 2, 2, 2, False): 18, (3, 4, 6, 3, False): 34, (3, 4, 6, 3, True): 50,
              (3, 4, 23, 3, True): 101, (3, 8, 36, 3, True): 152}
    deconvs = sorted({int(k.split('.')[1]) for k in state
                      if k.startswith('deconv_layers.') and k.endswith('.weight')
                      and state[k].dim() == 4})
    final = state['final_layer.weight']
    info = dict(depth=depths.get((*blocks, bottleneck)),
                deconv_channels=[int(state[f'deconv_layers.{i}.weight'].shape[1])
                                 for i in deconvs],
                deconv_kernels=[int(state[f'deconv_layers.{i}.weight'].shape[2])
                                for i in deconvs],
                final_kernel=int(final.shape[2]), num_joints=int(final.shape[0]))
    return out, info


# ------------------------------------------------------- bearpaw HourglassNet
# bearpaw's per-level residual groups hg[level][k]: 0 = upper branch, 1 = after the
# pool, 2 = before the upsample, 3 = the innermost level's middle (level 0 only).
_HG_PART = {0: 'up', 1: 'low1', 2: 'low3', 3: 'low2'}
_BLOCK_PARAM = re.compile(r'^(bn[123]|conv[123])\.(.+)$')


def _block_key(rest: str, kind: str, key: str) -> str:
    """A bearpaw Bottleneck's parameter name → PreActBottleneck's (body.* / shortcut.*)."""
    found = _BLOCK_PARAM.match(rest)
    if found:
        return f'body.{found.group(1)}.{found.group(2)}'
    found = re.match(r'^downsample\.0\.(weight|bias)$', rest)
    if found:
        return f'shortcut.{found.group(1)}'
    raise CheckpointConversionError(f'{key}: not a parameter of a {kind} block')


def convert_bearpaw_hourglass(state: StateDict) -> Tuple[StateDict, dict]:
    """bearpaw/pytorch-pose ``HourglassNet`` keys → hpekit ``StackedHourglass`` keys.

    Returns:
        (the converted state dict, info: ``num_stacks``, ``num_blocks``, ``depth``,
        ``channels``, ``num_joints``).
    """
    kind = 'bearpaw-hourglass'
    levels = [int(m.group(1)) for k in state
              for m in [re.match(r'^hg\.\d+\.hg\.(\d+)\.', k)] if m]
    if not levels or 'conv1.weight' not in state or 'score.0.weight' not in state:
        raise CheckpointConversionError('not a bearpaw HourglassNet checkpoint: conv1, '
                                        'hg.*.hg.* and score.0 keys are required')
    depth = max(levels) + 1
    out, unknown = OrderedDict(), []
    stem = {'conv1': 'stem.conv', 'bn1': 'stem.bn', 'layer1.0': 'stem.block1',
            'layer2.0': 'stem.block2', 'layer3.0': 'stem.block3'}
    for key, value in state.items():
        new = _bearpaw_key(key, depth, stem, kind)
        if new is None:
            unknown.append(key)
        else:
            out['backbone.' + new] = value
    _unknown(kind, unknown)
    num_stacks = len({k.split('.')[1] for k in state if k.startswith('score.')
                      and not k.startswith('score_.')})
    num_blocks = len({k.split('.')[2] for k in state if k.startswith('res.0.')})
    info = dict(num_stacks=num_stacks, num_blocks=num_blocks, depth=depth,
                channels=int(state['score.0.weight'].shape[1]),
                num_joints=int(state['score.0.weight'].shape[0]))
    stem = [int(state[f'layer{i}.0.conv3.weight'].shape[0]) for i in (1, 2, 3)
            if f'layer{i}.0.conv3.weight' in state]
    if stem != [128, 256, info['channels']]:
        raise CheckpointConversionError(
            f'the stem blocks output {stem} channels; hpekit\'s StackedHourglass (as '
            f"bearpaw's HourglassNet) has 128, 256, {info['channels']}")
    return out, info


def _bearpaw_key(key: str, depth: int, stem: dict, kind: str):
    """The hpekit key (under ``backbone.``) of one bearpaw key, or None if unknown."""
    for old, new in stem.items():
        if key.startswith(old + '.'):
            rest = key[len(old) + 1:]
            if old in ('conv1', 'bn1'):
                return f'{new}.{rest}'
            return f'{new}.{_block_key(rest, kind, key)}'
    found = re.match(r'^hg\.(\d+)\.hg\.(\d+)\.(\d+)\.(\d+)\.(.+)$', key)
    if found:
        stack, level, part, block, rest = found.groups()
        level, part = int(level), int(part)
        if part not in _HG_PART or (part == 3 and level != 0):
            return None
        path = 'low2.' * (depth - 1 - level)
        return (f'hourglasses.{stack}.{path}{_HG_PART[part]}.{block}.'
                f'{_block_key(rest, kind, key)}')
    found = re.match(r'^res\.(\d+)\.(\d+)\.(.+)$', key)
    if found:
        stack, block, rest = found.groups()
        return f'features.{stack}.blocks.{block}.{_block_key(rest, kind, key)}'
    simple = ((r'^fc\.(\d+)\.0\.(.+)$', 'features.{}.conv.{}'),
              (r'^fc\.(\d+)\.1\.(.+)$', 'features.{}.bn.{}'),
              (r'^score\.(\d+)\.(weight|bias)$', 'heads.{}.{}'),
              (r'^fc_\.(\d+)\.(weight|bias)$', 'merge_features.{}.{}'),
              (r'^score_\.(\d+)\.(weight|bias)$', 'merge_heatmaps.{}.{}'))
    for pattern, template in simple:
        found = re.match(pattern, key)
        if found:
            return template.format(*found.groups())
    return None


CONVERTERS: Dict[str, Callable[[StateDict], Tuple[StateDict, dict]]] = {
    'hrnet-pose-resnet': convert_hrnet_pose_resnet,
    'bearpaw-hourglass': convert_bearpaw_hourglass,
}


def config_hint(kind: str, info: dict) -> str:
    """The config (and --cfg-options) the converted checkpoint fits."""
    if kind == 'hrnet-pose-resnet':
        return ('configs/mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py fits '
                'ResNet-50 with deconvs (256, 256, 256) × 4 and 16 joints; otherwise set '
                f"model.backbone.depth={info['depth']} "
                f"model.head.deconv_channels={tuple(info['deconv_channels'])} "
                f"model.head.deconv_kernels={tuple(info['deconv_kernels'])} "
                f"model.head.final_kernel={info['final_kernel']} "
                f"model.head.num_joints={info['num_joints']} (and in_channels: 512 for "
                'ResNet-18/34, 2048 for 50+)')
    return ('configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py fits 2 stacks, 1 '
            'block, depth 4, 256 channels, 16 joints; this checkpoint: --cfg-options '
            f"model.backbone.num_stacks={info['num_stacks']} "
            f"model.backbone.num_blocks={info['num_blocks']} "
            f"model.backbone.depth={info['depth']} "
            f"model.backbone.channels={info['channels']} "
            f"model.backbone.num_joints={info['num_joints']} "
            f"model.head.num_joints={info['num_joints']}. bearpaw normalised its input "
            "differently (RGB in [0, 1] minus its training set's mean colour): set "
            'model.data_preprocessor.mean / std to match (docs/tools.md)')


def convert_checkpoint(kind: str, src: str, dst: str) -> dict:
    """Read ``src``, convert it as ``kind``, write ``dst`` atomically; returns the info."""
    if kind not in CONVERTERS:
        raise CheckpointConversionError(f'unknown kind {kind!r}; one of '
                                        f'{sorted(CONVERTERS)}')
    state = read_state_dict(src)
    try:
        converted, info = CONVERTERS[kind](state)
    except CheckpointConversionError as err:
        raise CheckpointConversionError(f'{src}: {err}') from None
    checkpoint = dict(meta=dict(converted_from=kind, source=str(src), **{
        k: v for k, v in info.items()}), state_dict=converted)
    with atomic_open(dst, 'wb') as f:
        torch.save(checkpoint, f)
    return info


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description='Convert a checkpoint of another code base into hpekit\'s layout.')
    parser.add_argument('kind', choices=sorted(CONVERTERS))
    parser.add_argument('src', metavar='IN', help='the source checkpoint (read with '
                        'torch.load(weights_only=True))')
    parser.add_argument('dst', metavar='OUT', help='the hpekit checkpoint to write')
    args = parser.parse_args(argv)
    try:
        info = convert_checkpoint(args.kind, args.src, args.dst)
    except (CheckpointConversionError, RuntimeError, OSError) as err:
        print(f'convert_checkpoint: error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.dst} ({args.kind}: {info})')
    print('load it with: ' + config_hint(args.kind, info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
