"""In-place activations and adds (issue 15): the hourglass blocks (every design), the
hourglass merges, ResNet's residual add and the heads give exactly the outputs and
gradients of the out-of-place formulas they replaced.

The reference is the old code itself: the out-of-place ``forward`` methods (as they
were before the change, kept in tools/misc/inplace_ab.py) are patched in and every ReLU is switched to
``inplace=False``; the same weights and inputs then run both ways in training mode.
"""
import copy

import pytest
import torch
import torch.nn as nn
from tool_loader import load_tool

from hpekit.models.backbones.hourglass import StackedHourglass
from hpekit.models.backbones.resnet import ResNet
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

register_all_modules()


# The out-of-place code, as it was: the same patches tools/misc/inplace_ab.py times.
OLD = load_tool('misc/inplace_ab').OLD


def run(model, x, out_of_place, monkeypatch):
    """Outputs (tuple) and input + parameter gradients of one forward/backward."""
    with monkeypatch.context() as patch:
        if out_of_place:
            for cls, name, func in OLD:
                patch.setattr(cls, name, func)
            for module in model.modules():
                if isinstance(module, nn.ReLU):
                    patch.setattr(module, 'inplace', False)
        x = x.clone().requires_grad_(True)
        before = x.detach().clone()
        outputs = model(x)
        outputs = (outputs,) if isinstance(outputs, torch.Tensor) else tuple(outputs)
        loss = sum((out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum()
                   for out in outputs)
        model.zero_grad(set_to_none=True)
        loss.backward()
        assert torch.equal(x.detach(), before), 'the input was written'
        grads = [x.grad] + [p.grad for p in model.parameters()]
    return [o.detach() for o in outputs], grads


def assert_same(model, x, monkeypatch):
    torch.manual_seed(0)
    new_model, old_model = model, copy.deepcopy(model)
    new_out, new_grads = run(new_model, x, False, monkeypatch)
    old_out, old_grads = run(old_model, x, True, monkeypatch)
    for a, b in zip(new_out, old_out):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(new_grads) == len(old_grads)
    for a, b in zip(new_grads, old_grads):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # The running statistics moved the same way too.
    for a, b in zip(new_model.buffers(), old_model.buffers()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# Every design shares pre_act_body and PreActResidual.forward; these cover identity
# and projection shortcuts, no shortcut, depthwise-separable convs and dilation.
BLOCKS = [dict(type='PreActBottleneck'), dict(type='PreActBottleneck', skip=False),
          dict(type='DWSepMidBottleneck', dilation=2), dict(type='TwoDWSepConv')]


@pytest.mark.parametrize('block', BLOCKS, ids=lambda b: '-'.join(map(str, b.values())))
def test_hourglass_matches_the_out_of_place_version(block, monkeypatch):
    torch.manual_seed(0)
    model = StackedHourglass(num_stacks=2, channels=16, num_joints=3, depth=2,
                             block=block).train()
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    assert_same(model, torch.randn(2, 3, 32, 32), monkeypatch)


@pytest.mark.parametrize('depth, with_cp', [(18, False), (50, True)])
def test_resnet_matches_the_out_of_place_version(depth, with_cp, monkeypatch):
    torch.manual_seed(0)
    model = ResNet(depth, base_channels=8, out_indices=(2, 3), with_cp=with_cp).train()
    assert_same(model, torch.randn(2, 3, 64, 64), monkeypatch)


def test_simplebaseline_head_matches_the_out_of_place_version(monkeypatch):
    torch.manual_seed(0)
    head = MODELS.build(dict(type='DeconvHeatmapHead', in_channels=8, num_joints=3,
                             deconv_channels=(8, 8), deconv_kernels=(4, 4),
                             decoder=dict(type='MSRAHeatmap', input_size=(64, 64),
                                          heatmap_size=(16, 16)),
                             init_cfg=[]))
    head.train()
    assert_same(head, torch.randn(2, 8, 4, 4), monkeypatch)


def test_channels_last_matches_too(monkeypatch):
    torch.manual_seed(0)
    model = StackedHourglass(num_stacks=2, channels=16, num_joints=3, depth=2).train()
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32).to(memory_format=torch.channels_last)
    assert_same(model, x, monkeypatch)
