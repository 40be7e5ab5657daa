"""CSPNeXt (RTMPose's backbone): shapes of the RTMPose sizes, MMPose's parameter names
and shapes, the same outputs as MMPose 1.3.2 on its weights, freezing.

MMPose's side comes from ``tests/fixtures/mmpose/rtmpose_extra.npz``, written by
``make_rtmpose_extra.py`` in MMPose's own environment.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from hpekit.models.backbones.cspnext import CSPNeXt
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

register_all_modules()

EXTRA = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose' / 'rtmpose_extra.npz'
# RTMPose's (deepen_factor, widen_factor) per size.
SIZES = dict(t=(0.167, 0.375), s=(0.33, 0.5), m=(0.67, 0.75), l=(1.0, 1.0))


@pytest.fixture(scope='module')
def extra():
    if not EXTRA.exists():
        pytest.skip(f'{EXTRA} is missing; run make_rtmpose_extra.py in the MMPose env')
    return np.load(EXTRA)


def mmpose_shapes(extra, size, prefix):
    """{key: shape} of MMPose's state dict (``prefix`` stripped, other keys dropped)."""
    out = {}
    for key, shape in zip(extra[f'keys_{size}'], extra[f'shapes_{size}']):
        if key.startswith(prefix):
            out[key[len(prefix):]] = tuple(int(s) for s in shape if s >= 0)
    return out


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize('size', sorted(SIZES))
def test_rtmpose_sizes_output_shapes(size):
    deepen, widen = SIZES[size]
    model = CSPNeXt(deepen_factor=deepen, widen_factor=widen, out_indices=(0, 1, 2, 3, 4))
    outs = model.eval()(torch.randn(1, 3, 64, 96))
    channels = [int(64 * widen)] + [int(c * widen) for c in (128, 256, 512, 1024)]
    assert [tuple(o.shape) for o in outs] == [
        (1, c, 64 // 2 ** (i + 1), 96 // 2 ** (i + 1)) for i, c in enumerate(channels)]
    # blocks per stage: max(round(n · deepen), 1) for n = 3, 6, 6, 3
    blocks = [len(getattr(model, f'stage{i}')[-1].blocks) for i in range(1, 5)]
    assert blocks == [max(round(n * deepen), 1) for n in (3, 6, 6, 3)]


@pytest.mark.parametrize('size', sorted(SIZES))
def test_state_dict_names_and_shapes_match_mmpose(size, extra):
    cfg = json.loads(str(extra[f'config_{size}']))['backbone']
    assert (cfg['deepen_factor'], cfg['widen_factor']) == SIZES[size]
    model = MODELS.build(cfg)
    assert shapes(model) == mmpose_shapes(extra, size, 'backbone.')


def test_p6_depthwise_matches_mmpose(extra):
    cfg = json.loads(str(extra['p6_config']))
    model = MODELS.build(cfg)
    state = {k[3:]: torch.from_numpy(extra[k]) for k in extra.files if k.startswith('p6/')}
    model.load_state_dict(state, strict=True)
    outs = model.eval()(torch.from_numpy(extra['p6_inputs']))
    assert len(outs) == len(cfg['out_indices'])
    for i, out in enumerate(outs):
        want = torch.from_numpy(extra[f'p6_out_{i}'])
        assert out.shape == want.shape
        torch.testing.assert_close(out, want, rtol=0,
                                   atol=1e-5 * float(want.max() - want.min()))


def test_module_layout_is_mmdets():
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, use_depthwise=True)
    keys = set(model.state_dict())
    for key in ('stem.0.conv.weight', 'stem.2.bn.num_batches_tracked',
                'stage1.0.depthwise_conv.conv.weight', 'stage1.0.pointwise_conv.bn.bias',
                'stage1.1.main_conv.conv.weight', 'stage1.1.short_conv.bn.running_mean',
                'stage1.1.final_conv.conv.weight', 'stage1.1.attention.fc.bias',
                'stage1.1.blocks.0.conv1.depthwise_conv.conv.weight',
                'stage1.1.blocks.0.conv2.depthwise_conv.conv.weight',
                'stage4.1.conv1.conv.weight', 'stage4.1.conv2.bn.weight',
                'stage4.2.blocks.0.conv2.pointwise_conv.conv.weight'):
        assert key in keys, key
    assert not any(k.endswith('conv.bias') for k in keys)   # BN follows every conv


def test_norm_and_activation_configs():
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, norm_cfg=dict(type='SyncBN'))
    assert isinstance(model.stem[0].bn, nn.SyncBatchNorm)
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125)
    bn = model.stage2[0].bn
    assert type(bn) is nn.BatchNorm2d and bn.momentum == 0.03 and bn.eps == 0.001
    assert isinstance(model.stage2[0].activate, nn.SiLU)
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, act_cfg=dict(type='ReLU'),
                    norm_cfg=dict(type='BN', requires_grad=False))
    assert isinstance(model.stem[1].activate, nn.ReLU)
    assert not model.stem[1].bn.weight.requires_grad


@pytest.mark.parametrize('kwargs, match', [
    (dict(arch='P7'), 'arch'), (dict(out_indices=(5,)), 'out_indices'),
    (dict(out_indices=()), 'out_indices'), (dict(frozen_stages=5), 'frozen_stages'),
    (dict(conv_cfg=dict(type='DCNv2')), 'conv_cfg'),
    (dict(norm_cfg=dict(type='GN', num_groups=2)), 'norm_cfg'),
    (dict(act_cfg=dict(type='Mish2')), 'act_cfg')])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CSPNeXt(deepen_factor=0.167, widen_factor=0.125, **kwargs)


def test_frozen_stages_and_norm_eval():
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, frozen_stages=1).train()
    for name in ('stem', 'stage1'):
        part = getattr(model, name)
        assert not part.training
        assert not any(p.requires_grad for p in part.parameters())
    assert model.stage2.training and all(p.requires_grad for p in model.stage2.parameters())

    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert model.stage3[1].training   # the rest trains
    before = bns[0].running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert torch.equal(bns[0].running_mean, before)


def test_trains_on_a_small_batch():
    torch.manual_seed(0)
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, out_indices=(4,)).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    (out,) = model(x)
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())
