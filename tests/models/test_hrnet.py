"""HRNet backbone: shapes, MMPose 1.3.2 parity (names and outputs), checkpointing,
frozen stages and norm_eval.

The parity tests read the fixtures of ``tests/fixtures/mmpose`` (made by MMPose 1.3.2
itself, see its ``make_fixtures.py``): the checkpoint's ``backbone.*``/``head.*``
tensors must load with ``strict=True`` and give MMPose's heatmaps.
"""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from hpekit.models.backbones.hrnet import HRNet
from hpekit.registry import MODELS

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose'

W32 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4,),
                num_channels=(64,)),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(32, 64)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256)))

# Exercises what W32 does not: a BASIC stage 1 (with a projection shortcut), a
# BOTTLENECK stage 2, a transition that changes a kept branch's channels and adds two
# branches at once (two stride-2 steps), and multi-scale output.
TINY = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BASIC', num_blocks=(2,),
                num_channels=(8,)),
    stage2=dict(num_modules=2, num_branches=2, block='BOTTLENECK', num_blocks=(1, 2),
                num_channels=(2, 4)),
    stage3=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                num_channels=(8, 12, 12, 16)),
    stage4=dict(num_modules=2, num_branches=4, block='BASIC', num_blocks=(1, 1, 2, 1),
                num_channels=(8, 12, 12, 16), multiscale_output=True))


def small(**kwargs):
    return HRNet(copy.deepcopy(TINY), **kwargs)


def randomise_norms(model, seed=0):
    """Non-trivial BN statistics and affine parameters (eval BN ≠ identity)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
    return model


# ------------------------------------------------------------------------ shapes
def test_w32_output_shape_and_size():
    """W32 (MMPose's COCO config): one map, 32 channels at 1/4 resolution; the
    parameter and state-dict counts are those of MMPose 1.3.2's HRNet(W32)."""
    model = MODELS.build(dict(type='HRNet', extra=copy.deepcopy(W32))).eval()
    assert sum(p.numel() for p in model.parameters()) == 28_535_552
    assert len(model.state_dict()) == 1752
    with torch.no_grad():
        out = model(torch.randn(1, 3, 128, 96))
    assert isinstance(out, tuple) and [o.shape for o in out] == [(1, 32, 32, 24)]
    assert model.out_channels == [32]
    with pytest.raises(ValueError, match='cannot fuse branch 3'):
        model(torch.randn(1, 3, 64, 48))      # 48 / 32 is not whole: branch 3 is 2×2


def test_w32_multiscale_output_gives_every_branch():
    extra = copy.deepcopy(W32)
    extra['stage4']['multiscale_output'] = True
    model = HRNet(extra).eval()
    assert len(model.state_dict()) == 1830      # MMPose 1.3.2: 1830 as well
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in out] == [(1, 32, 16, 16), (1, 64, 8, 8),
                                             (1, 128, 4, 4), (1, 256, 2, 2)]


def test_tiny_spec_shapes_and_bottleneck_expansion():
    model = small().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 32))
    assert [tuple(o.shape) for o in out] == [(2, 8, 16, 8), (2, 12, 8, 4),
                                             (2, 12, 4, 2), (2, 16, 2, 1)]
    assert model.out_channels == [8, 12, 12, 16]
    # stage 2 is BOTTLENECK: its branches carry num_channels × 4 channels
    assert model.stage2[0].branches[1][0].conv3.out_channels == 16
    # the kept branch 1 changes channels 16 → 12; branch 3 is made in two steps
    assert model.transition2[0] is None
    assert model.transition2[1][0].weight.shape == (12, 16, 3, 3)
    assert len(model.transition2[3]) == 2


def test_multi_module_stage_outputs_one_map_only_at_the_end():
    extra = copy.deepcopy(TINY)
    extra['stage4']['multiscale_output'] = False
    model = HRNet(extra)
    assert len(model.stage4[0].fuse_layers) == 4 and len(model.stage4[1].fuse_layers) == 1
    assert len(model.eval()(torch.randn(1, 3, 32, 32))) == 1


def test_bad_extra_is_refused():
    extra = copy.deepcopy(TINY)
    extra['stage3']['num_channels'] = (8, 12)
    with pytest.raises(ValueError, match='num_branches is 4 but num_channels'):
        HRNet(extra)
    extra = copy.deepcopy(TINY)
    extra['stage2']['block'] = 'RES'
    with pytest.raises(ValueError, match='BASIC'):
        HRNet(extra)
    with pytest.raises(ValueError, match='norm_cfg'):
        small(norm_cfg=dict(type='GN', num_groups=2))
    with pytest.raises(ValueError, match='frozen_stages'):
        small(frozen_stages=5)


# ------------------------------------------------------------------ MMPose parity
def _mmpose_model(name, decoder=None):
    """hpekit's HRNet + HeatmapHead from the fixture config's model dicts, with the
    fixture checkpoint loaded strictly; and the fixture arrays."""
    cfg = Config.fromfile(str(FIXTURES / f'{name}.py'))
    backbone = MODELS.build(cfg.model.backbone.to_dict())
    head_cfg = cfg.model.head.to_dict()
    if decoder is not None:
        head_cfg['decoder'] = decoder
    head = MODELS.build(head_cfg)
    ckpt = torch.load(FIXTURES / f'{name}.pth', map_location='cpu', weights_only=True)
    state = ckpt['state_dict']
    for prefix, part in (('backbone.', backbone), ('head.', head)):
        part.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                              if k.startswith(prefix)}, strict=True)
    assert all(k.startswith(('backbone.', 'head.')) for k in state)
    return backbone.eval(), head.eval(), np.load(FIXTURES / f'{name}.npz')


def _assert_heatmaps_match(backbone, head, arrays):
    with torch.no_grad():
        heatmaps = head(backbone(torch.from_numpy(arrays['inputs'])))[-1].numpy()
    ref = arrays['heatmaps']
    assert heatmaps.shape == ref.shape
    np.testing.assert_allclose(heatmaps, ref, rtol=0, atol=1e-4 * (ref.max() - ref.min()))


def test_mmpose_hrnet_checkpoint_loads_strictly_and_gives_its_heatmaps():
    """MMPose 1.3.2's td-hm_hrnet-w32 config (small widths): the config's backbone and
    head dicts build as they are, the checkpoint loads with strict=True, and
    ``head(backbone(inputs))[-1]`` equals MMPose's heatmaps."""
    backbone, head, arrays = _mmpose_model('hrnet_plain')
    _assert_heatmaps_match(backbone, head, arrays)


@pytest.mark.parametrize('name', ['hrnet_udp', 'hrnet_dark'])
def test_other_mmpose_hrnet_checkpoints_give_their_heatmaps(name):
    """The UDP and DARK variants differ only in the codec, which the forward pass
    does not use: the head gets a plain MSRAHeatmap of the same sizes."""
    decoder = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32))
    backbone, head, arrays = _mmpose_model(name, decoder)
    _assert_heatmaps_match(backbone, head, arrays)


# ----------------------------------------------------------- with_cp, norm_eval
def _loss_and_grads(model, x):
    x = x.clone().requires_grad_(True)
    outs = model(x)
    loss = sum((o ** 2).mean() for o in outs)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return [o.detach() for o in outs], grads, x.grad


def test_with_cp_gives_the_same_outputs_gradients_and_statistics():
    torch.manual_seed(0)
    plain = randomise_norms(small()).train()
    cp = small(with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    outs_a, grads_a, xgrad_a = _loss_and_grads(plain, x)
    outs_b, grads_b, xgrad_b = _loss_and_grads(cp, x)
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], msg=name)
    torch.testing.assert_close(xgrad_a, xgrad_b)
    # the recomputation in backward does not update the BN statistics a second time
    for (name, a), b in zip(plain.state_dict().items(), cp.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_with_cp_checkpoints_every_residual_block():
    model = small(with_cp=True)
    blocks = [m for m in model.modules() if hasattr(m, '_use_checkpoint')]
    assert blocks and all(b.with_cp for b in blocks)
    # layer1 (2) + stage2 (2 modules × 3) + stage3 (4) + stage4 (2 modules × 5)
    assert len(blocks) == 2 + 6 + 4 + 10


def test_norm_eval_keeps_every_batchnorm_in_eval_mode():
    model = randomise_norms(small(norm_eval=True)).train()
    before = copy.deepcopy(model.state_dict())
    model(torch.randn(2, 3, 32, 32))
    assert model.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, before[name], msg=name)


# ------------------------------------------------------------------ frozen stages
def _frozen_prefixes(frozen_stages):
    """What MMPose's HRNet._freeze_stages freezes: the stem from 0 on, then per stage
    s ≥ 1 ``layer1`` (s = 1) or ``stage{s}``, and ``transition{s}`` for s < 4."""
    if frozen_stages < 0:
        return ()
    prefixes = ['conv1.', 'bn1.', 'conv2.', 'bn2.']
    for s in range(1, frozen_stages + 1):
        prefixes.append('layer1.' if s == 1 else f'stage{s}.')
        if s < 4:
            prefixes.append(f'transition{s}.')
    return tuple(prefixes)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3, 4])
def test_frozen_stages_freeze_what_mmpose_freezes(frozen_stages):
    model = randomise_norms(small(frozen_stages=frozen_stages)).train()
    prefixes = _frozen_prefixes(frozen_stages)
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(prefixes)), name
    before = copy.deepcopy(model.state_dict())
    model(torch.randn(2, 3, 32, 32))      # a training forward updates BN statistics
    for name, value in model.state_dict().items():
        if name.endswith(('running_mean', 'running_var')):
            frozen = name.startswith(prefixes)
            assert torch.equal(value, before[name]) == frozen, name
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            assert module.training != (name + '.').startswith(prefixes), name


def test_zero_init_residual_zeroes_the_last_norm_of_every_block():
    model = small(zero_init_residual=True)
    model.init_weights()
    for name, module in model.named_modules():
        last = {'Bottleneck': 'bn3', 'BasicBlock': 'bn2'}.get(type(module).__name__)
        if last:
            assert not getattr(module, last).weight.any(), name
    assert model.bn1.weight.eq(1).all()       # other norms: MMPose's constant 1


def test_default_init_is_mmposes():
    model = small()
    model.init_weights()
    assert 0 < model.conv1.weight.std() < 0.003          # Normal(std=0.001)
    assert model.stage2[0].fuse_layers[0][1][1].weight.eq(1).all()
    assert model.stage2[0].fuse_layers[0][1][1].bias.eq(0).all()


def test_sync_bn_and_norm_cfg_settings_keep_the_names():
    model = small(norm_cfg=dict(type='SyncBN', momentum=0.03, requires_grad=False))
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert all(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
    assert all(m.momentum == 0.03 and not m.weight.requires_grad for m in norms)
    assert list(model.state_dict()) == list(small().state_dict())
