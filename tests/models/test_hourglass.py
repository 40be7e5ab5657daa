"""Tests of the stacked hourglass backbone and its pluggable residual-block designs."""
import pytest
import torch
import torch.nn as nn

from hpekit.models.backbones.blocks import (DWSepBottleneck, DWSepMidBottleneck, PreActBottleneck,
                                            TwoConv3x3, TwoDWSepConv)
from hpekit.models.backbones.hourglass import StackedHourglass
from hpekit.registry import BLOCKS, MODELS

# (block config, StackedHourglass kwargs, DESIGN.md 2-stack parameter count in millions)
DESIGNS = {
    'baseline': (dict(type='PreActBottleneck'), {}, 6.73),
    'dilated': (dict(type='PreActBottleneck', dilation=2), {}, 6.73),
    'patchify': (dict(type='PreActBottleneck'), dict(stem='patchify'), 6.72),
    'no_skip': (dict(type='PreActBottleneck', skip=False), {}, 6.69),
    'dwsep_x3': (dict(type='DWSepBottleneck'), {}, 2.92),
    'dwsep_mid': (dict(type='DWSepMidBottleneck'), {}, 2.80),
    'two_dwsep': (dict(type='TwoDWSepConv'), {}, 2.37),
    'two_dwsep_dilated': (dict(type='TwoDWSepConv', dilation=2), {}, 2.37),
    'two_conv3x3': (dict(type='TwoConv3x3'), {}, 17.95),
}

BLOCK_TYPES = [PreActBottleneck, DWSepBottleneck, DWSepMidBottleneck, TwoDWSepConv,
               TwoConv3x3]


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def small_model(**kwargs):
    """A cheap hourglass for forward tests: 32 channels, depth 2, 4 joints."""
    cfg = dict(num_stacks=2, channels=32, num_joints=4, depth=2)
    cfg.update(kwargs)
    return StackedHourglass(**cfg)


@pytest.mark.parametrize('name', list(DESIGNS))
def test_parameter_count_matches_design_table(name):
    block, kwargs, expected = DESIGNS[name]
    model = StackedHourglass(num_stacks=2, block=block, **kwargs)
    assert abs(num_params(model) / 1e6 - expected) < 0.05


def test_baseline_parameter_count_exact():
    # Hand count of the baseline (2 stacks, 256 channels, depth 4, 16 joints).
    assert num_params(StackedHourglass()) == 6_730_912


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
@pytest.mark.parametrize('in_ch,out_ch,options', [
    (16, 16, {}), (8, 24, {}), (24, 8, {}), (16, 16, dict(dilation=2)),
    (8, 16, dict(dilation=3))])
def test_block_output_shape(block_type, in_ch, out_ch, options):
    block = BLOCKS.build(dict(type=block_type.__name__, in_channels=in_ch,
                              out_channels=out_ch, **options))
    assert isinstance(block, block_type)
    out = block(torch.randn(2, in_ch, 9, 7))
    assert out.shape == (2, out_ch, 9, 7)


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
@pytest.mark.parametrize('in_ch,out_ch', [(8, 8), (8, 16)])
def test_block_gradients_reach_all_parameters(block_type, in_ch, out_ch):
    block = block_type(in_ch, out_ch)
    block(torch.randn(2, in_ch, 6, 6)).square().sum().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_shortcut_identity_or_projection(block_type):
    assert isinstance(block_type(8, 8).shortcut, nn.Identity)
    projection = block_type(8, 16).shortcut
    assert isinstance(projection, nn.Conv2d) and projection.kernel_size == (1, 1)
    assert projection.bias is not None


def test_preact_bottleneck_structure():
    block = PreActBottleneck(64, 128, dilation=2)
    convs = [m for m in block.body if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (64, 64, (1, 1)), (64, 64, (3, 3)), (64, 128, (1, 1))]
    assert convs[1].dilation == (2, 2) and convs[1].padding == (2, 2)
    assert all(c.bias is not None for c in convs)
    assert isinstance(block.body[0], nn.BatchNorm2d)  # pre-activation


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_no_skip_has_no_shortcut_parameters(block_type):
    with_skip = block_type(8, 16, skip=True)
    without = block_type(8, 16, skip=False)
    assert without.shortcut is None
    assert not any('shortcut' in name for name, _ in without.named_parameters())
    assert num_params(without) == num_params(without.body)
    assert num_params(with_skip) - num_params(without) == 8 * 16 + 16
    x = torch.randn(1, 8, 5, 5)
    assert torch.allclose(without(x), without.body(x))


def test_no_skip_hourglass_has_no_shortcut_parameters():
    model = small_model(block=dict(type='PreActBottleneck', skip=False))
    assert not any('shortcut' in name for name, _ in model.named_parameters())


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_block_rejects_bad_arguments(block_type):
    with pytest.raises(ValueError, match='out_channels'):
        block_type(8, 7)
    with pytest.raises(ValueError, match='in_channels'):
        block_type(0, 8)
    with pytest.raises(ValueError, match='dilation'):
        block_type(8, 8, dilation=0)


@pytest.mark.parametrize('num_stacks', [1, 2, 3])
def test_stack_outputs(num_stacks):
    model = small_model(num_stacks=num_stacks)
    heatmaps = model(torch.randn(2, 3, 64, 64))
    assert isinstance(heatmaps, tuple) and len(heatmaps) == num_stacks
    assert all(h.shape == (2, 4, 16, 16) for h in heatmaps)


@pytest.mark.parametrize('name', ['baseline', 'dilated', 'patchify', 'no_skip', 'dwsep_x3',
                                  'dwsep_mid', 'two_dwsep', 'two_conv3x3'])
def test_every_design_runs_in_a_small_hourglass(name):
    block, kwargs, _ = DESIGNS[name]
    model = small_model(block=block, num_blocks=2, **kwargs)
    heatmaps = model(torch.randn(1, 3, 32, 32))
    assert [h.shape for h in heatmaps] == [(1, 4, 8, 8)] * 2


def test_depth_four_on_128_input_and_non_square():
    model = small_model(depth=4, num_stacks=1, channels=16)
    assert model(torch.randn(1, 3, 128, 128))[0].shape == (1, 4, 32, 32)
    assert model(torch.randn(1, 3, 64, 128))[0].shape == (1, 4, 16, 32)


def test_gradients_reach_all_hourglass_parameters():
    model = small_model(num_blocks=2)
    loss = sum(h.square().mean() for h in model(torch.randn(2, 3, 32, 32)))
    loss.backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


def test_intermediate_stack_feeds_the_next():
    model = small_model(num_stacks=2).eval()
    x = torch.randn(1, 3, 32, 32)
    first, second = model(x)
    nn.init.zeros_(model.merge_heatmaps[0].weight)
    nn.init.zeros_(model.merge_heatmaps[0].bias)
    first2, second2 = model(x)
    assert torch.allclose(first, first2) and not torch.allclose(second, second2)


def test_build_from_registry_and_channels_not_256():
    model = MODELS.build(dict(type='StackedHourglass', num_stacks=1, channels=64,
                              num_joints=5, depth=1))
    assert isinstance(model, StackedHourglass)
    assert model.stem.block3.out_channels == 64
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 5, 8, 8)


def test_init_cfg_is_applied():
    model = small_model(num_stacks=1, init_cfg=dict(type='Constant', layer='Conv2d',
                                                    val=0.0, bias=0.0))
    model.init_weights()
    assert all(m.weight.abs().sum() == 0 for m in model.modules()
               if isinstance(m, nn.Conv2d))


def test_patchify_stem_conv():
    conv = small_model(stem='patchify').stem.conv
    assert conv.kernel_size == (3, 3) and conv.stride == (2, 2)
    conv = small_model().stem.conv
    assert conv.kernel_size == (7, 7) and conv.stride == (2, 2)


@pytest.mark.parametrize('kwargs,argument', [
    (dict(stem='resnet'), 'stem'),
    (dict(depth=0), 'depth'),
    (dict(num_stacks=0), 'num_stacks'),
    (dict(num_blocks=0), 'num_blocks'),
    (dict(channels=31), 'channels'),
    (dict(num_joints=0), 'num_joints'),
    (dict(block=dict(dilation=2)), 'block'),
    (dict(block=dict(type='PreActBottleneck', in_channels=3)), 'block'),
])
def test_argument_validation(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        small_model(**kwargs)


def test_stem_error_names_expected_values():
    with pytest.raises(ValueError, match="'conv7x7', 'patchify'"):
        small_model(stem='resnet')


def test_input_size_validation():
    model = small_model(depth=2)  # needs multiples of 4 * 2**2 = 16
    with pytest.raises(ValueError, match=r'input size.*16'):
        model(torch.randn(1, 3, 40, 48))
    with pytest.raises(ValueError, match=r'input'):
        model(torch.randn(1, 1, 32, 32))


def test_unknown_block_type_is_a_clear_error():
    with pytest.raises(KeyError, match='NoSuchBlock'):
        small_model(block=dict(type='NoSuchBlock'))


def test_block_given_as_type_name():
    model = small_model(block='TwoConv3x3', num_stacks=1)
    assert isinstance(model.stem.block1, TwoConv3x3)


class _ScaledIdentityBlock(nn.Module):
    """A user's design: a 1×1 conv scaled by ``gain``; counts how often it is built."""

    built = 0

    def __init__(self, in_channels, out_channels, gain=1.0):
        super().__init__()
        type(self).built += 1
        self.gain = gain
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.gain * self.conv(x)


def test_user_block_plugin_is_used_everywhere():
    BLOCKS.register_module(name='TestScaledIdentityBlock', module=_ScaledIdentityBlock,
                           force=True)
    _ScaledIdentityBlock.built = 0
    model = small_model(block=dict(type='TestScaledIdentityBlock', gain=0.5),
                        num_stacks=2, depth=2, num_blocks=1)
    # stem 3 + per stack (3 per level * depth + innermost 1 + 1 after) = 3 + 2 * 8.
    assert _ScaledIdentityBlock.built == 3 + 2 * (3 * 2 + 1 + 1)
    blocks = [m for m in model.modules() if isinstance(m, _ScaledIdentityBlock)]
    assert len(blocks) == _ScaledIdentityBlock.built
    assert all(b.gain == 0.5 for b in blocks)
    assert not any(isinstance(m, PreActBottleneck) for m in model.modules())
    assert [h.shape for h in model(torch.randn(1, 3, 32, 32))] == [(1, 4, 8, 8)] * 2
