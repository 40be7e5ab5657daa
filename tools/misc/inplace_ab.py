"""Interleaved A/B of the in-place activations (issue 15): the plain training step of a
config's model with today's in-place code against the out-of-place code it replaced
(patched in on alternate steps: same process, same model, same batch).

    OMP_NUM_THREADS=1 python tools/misc/inplace_ab.py CONFIG DATA_ROOT BATCH ROUNDS

Prints the ``tools.benchmarking.harness.interleaved`` result as JSON: per arm wall/CPU
time and faults per step, and the paired ratios ``inplace`` / ``out_of_place``.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from hpekit.config.setup import load_config
from hpekit.models.backbones.blocks.base import PreActResidual
from hpekit.models.backbones.hourglass import Hourglass, StackedHourglass
from hpekit.models.backbones.resnet import _ResidualBlock
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

# Run as a script, sys.path[0] is tools/misc/: add the folder above tools/ (the
# checkout, or hpekit/.mim in a wheel), where the harness imports as tools.benchmarking.
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools.benchmarking import harness as bench  # noqa: E402


# ------------------------------------------------ the out-of-place code, as it was
def _old_preact_forward(self, x):
    out = self.body(x)
    if self.shortcut is not None:
        out = out + self.shortcut(x)
    return out


def _old_hourglass_forward(self, x):
    upper = self.up(x)
    lower = self.low3(self.low2(self.low1(self.pool(x))))
    return upper + F.interpolate(lower, scale_factor=2, mode='nearest')


def _old_stacked_forward(self, x):
    self._check_input(x)
    x = self.stem(x)
    heatmaps = []
    for i in range(self.num_stacks):
        features = self.features[i](self.hourglasses[i](x))
        heatmap = self.heads[i](features)
        heatmaps.append(heatmap)
        if i < self.num_stacks - 1:
            x = x + self.merge_features[i](features) + self.merge_heatmaps[i](heatmap)
    return tuple(heatmaps)


def _old_resnet_inner_forward(self, x):
    identity = x if self.downsample is None else self.downsample(x)
    return self.relu(self._residual(x) + identity)


OLD = [(PreActResidual, 'forward', _old_preact_forward),
       (Hourglass, 'forward', _old_hourglass_forward),
       (StackedHourglass, 'forward', _old_stacked_forward),
       (_ResidualBlock, '_inner_forward', _old_resnet_inner_forward)]


def main(argv=None):
    config, root, batch, rounds = (argv or sys.argv[1:])[:4]
    register_all_modules()
    cfg = load_config(config, {'train_dataloader.dataset.data_root': root})
    torch.manual_seed(0)
    data = pseudo_collate(bench.take_samples(
        bench.build_dataset(cfg.train_dataloader.dataset), int(batch)))
    model = MODELS.build(cfg.model).train()
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    # The ReLUs that were out of place before: those inside the blocks' bodies.
    relus = [m for block in model.modules() if isinstance(block, PreActResidual)
             for m in block.body.modules() if isinstance(m, torch.nn.ReLU)]

    def inplace():
        bench.plain_step(model, optimizer, data, 'cpu')

    def out_of_place():
        saved = [(cls, name, getattr(cls, name)) for cls, name, _ in OLD]
        for cls, name, func in OLD:
            setattr(cls, name, func)
        for relu in relus:
            relu.inplace = False
        try:
            bench.plain_step(model, optimizer, data, 'cpu')
        finally:
            for cls, name, func in saved:
                setattr(cls, name, func)
            for relu in relus:
                relu.inplace = True

    result = bench.interleaved({'out_of_place': out_of_place, 'inplace': inplace},
                               rounds=int(rounds), warmup=1)
    result.pop('raw_wall_ms')
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    main()
