"""TimmBackbone: timm optional, local weights only, strict checkpoint loading, and the
SimpleBaseline-on-timm config.

Two sets of tests: most run against a small stand-in ``timm`` module defined here (same
``create_model`` / ``features_only`` / ``feature_info`` interface), so the wrapper's own
logic is tested wherever timm is missing; the ones marked ``real timm`` run the real
package — its models, ``features_only`` extractors, ``out_indices``, and weights loaded
from a local file — against timm's own ``create_model(..., features_only=True)``. They
use the environment's timm, or the one tools/install.sh installs for the tests
(tests/timm_for_tests.py: why apart, and the test shim its torchvision needs beside a
CPU torch), and skip only where timm is not installed at all.
"""
import importlib.abc
import importlib.machinery
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from timm_for_tests import import_real_timm, timm_tests_dir

from hpekit.checkpoint.loading import CheckpointError
from hpekit.models.backbones.timm_backbone import TimmBackbone

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'mpii_hourglass' / 'simplebaseline-timm-resnet18_b32-140e_mpii-256.py'


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """One torch thread: on a shared 2-core machine two threads are far slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _real_timm():
    """The real timm; skips where it is not installed, fails where it does not import."""
    timm = import_real_timm()
    if timm is None:
        pytest.skip('timm is not installed (tools/install.sh installs it for the tests, '
                    f'into {timm_tests_dir()})')
    return timm


# ------------------------------------------------------- a stand-in timm module
class _FeatureInfo:
    def __init__(self, channels, reductions):
        self._channels, self._reductions = list(channels), list(reductions)

    def channels(self):
        return self._channels

    def reduction(self):
        return self._reductions


class _StubNet(nn.Module):
    """Five stride-2 conv levels (as a ResNet's strides 2 … 32) and a classifier."""

    CHANNELS = (64, 64, 128, 256, 512)

    def __init__(self, in_chans=3, features_only=False, out_indices=None, widths=None):
        super().__init__()
        widths = widths or self.CHANNELS
        ins = (in_chans,) + tuple(widths[:-1])
        for i, (a, b) in enumerate(zip(ins, widths)):
            setattr(self, f'level{i}', nn.Sequential(nn.Conv2d(a, b, 3, 2, 1),
                                                     nn.BatchNorm2d(b), nn.ReLU()))
        self.features_only = features_only
        levels = range(len(widths))
        self.out_indices = [levels[i] for i in (out_indices or levels)]
        if features_only:
            self.feature_info = _FeatureInfo([widths[i] for i in self.out_indices],
                                             [2 ** (i + 1) for i in self.out_indices])
        else:
            self.fc = nn.Linear(widths[-1], 10)

    def forward(self, x):
        outs = []
        for i in range(5):
            x = getattr(self, f'level{i}')(x)
            outs.append(x)
        if self.features_only:
            return [outs[i] for i in self.out_indices]
        return self.fc(x.mean((2, 3)))


def _make_stub_timm():
    stub = types.ModuleType('timm')
    stub.__version__ = '0.0-stub'
    stub.calls = []

    def create_model(name, pretrained=False, features_only=False, out_indices=None,
                     in_chans=3, **kwargs):
        stub.calls.append(dict(name=name, pretrained=pretrained, kwargs=kwargs))
        if name not in ('resnet18', 'tiny'):
            raise RuntimeError(f'Unknown model ({name})')
        widths = (4, 8, 8, 16, 16) if name == 'tiny' else None
        return _StubNet(in_chans, features_only, out_indices, widths)
    stub.create_model = create_model
    return stub


@pytest.fixture
def stub_timm(monkeypatch):
    stub = _make_stub_timm()
    monkeypatch.setitem(sys.modules, 'timm', stub)
    return stub


# ---------------------------------------------------------------- timm missing
def test_missing_timm_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'timm', None)   # import timm → ImportError
    with pytest.raises(ImportError, match=r"hpekit\[timm\]"):
        TimmBackbone('resnet18')


class _BrokenTimm(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import timm`` failing as it does with a torchvision built for another torch."""

    def find_spec(self, fullname, path, target=None):
        if fullname == 'timm':
            return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise RuntimeError('operator torchvision::nms does not exist')


def test_a_timm_that_fails_to_import_is_explained(monkeypatch):
    monkeypatch.delitem(sys.modules, 'timm', raising=False)
    monkeypatch.setattr(sys, 'meta_path', [_BrokenTimm()] + sys.meta_path)
    with pytest.raises(ImportError, match='torchvision does not fit torch'):
        TimmBackbone('resnet18')


# ------------------------------------------------------------- with the stub
def test_features_channels_and_backward(stub_timm):
    backbone = TimmBackbone('resnet18', out_indices=(2, 4), drop_rate=0.1)
    assert backbone.out_channels == [128, 512] and backbone.reductions == [8, 32]
    call = stub_timm.calls[-1]
    assert call['pretrained'] is False and call['kwargs'] == dict(drop_rate=0.1)
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    feats = backbone(x)
    assert isinstance(feats, tuple) and [f.shape[1:] for f in feats] == [(128, 8, 8),
                                                                         (512, 2, 2)]
    sum(f.sum() for f in feats).backward()
    assert all(p.grad is not None for p in backbone.parameters())


def test_downloads_and_reserved_arguments_are_refused(stub_timm):
    with pytest.raises(ValueError, match='local weights only'):
        TimmBackbone('resnet18', pretrained=True)
    with pytest.raises(ValueError, match='features_only'):
        TimmBackbone('resnet18', features_only=False)
    with pytest.raises(ValueError, match="cannot build 'nonet'"):
        TimmBackbone('nonet')


def _full_state(name='tiny', seed=0):
    torch.manual_seed(seed)
    return _make_stub_timm().create_model(name).state_dict()


@pytest.mark.parametrize('layout', ['features', 'classifier', 'wrapped'])
def test_checkpoint_loads_strictly(stub_timm, tmp_path, layout):
    state = _full_state()
    if layout == 'features':
        state = {k: v for k, v in state.items() if not k.startswith('fc.')}
    elif layout == 'wrapped':   # a training checkpoint of a DataParallel model
        state = {'epoch': 3, 'state_dict': {f'module.{k}': v for k, v in state.items()}}
    torch.save(state, tmp_path / 'w.pth')
    backbone = TimmBackbone('tiny', checkpoint=str(tmp_path / 'w.pth'))
    expected = _full_state()
    for key, value in backbone.timm_model.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    backbone.init_weights()                            # keeps the loaded weights
    torch.testing.assert_close(backbone.timm_model.level0[0].weight,
                               expected['level0.0.weight'], rtol=0, atol=0)


def test_checkpoint_mismatches_are_named(stub_timm, tmp_path):
    state = _full_state()
    del state['level3.0.weight']
    torch.save(state, tmp_path / 'missing.pth')
    with pytest.raises(ValueError, match=r"1 missing keys \['level3.0.weight'\]"):
        TimmBackbone('tiny', checkpoint=str(tmp_path / 'missing.pth'))
    state = _full_state()
    state['decoder.weight'] = torch.zeros(1)
    torch.save(state, tmp_path / 'foreign.pth')
    with pytest.raises(ValueError, match="decoder.weight"):
        TimmBackbone('tiny', checkpoint=str(tmp_path / 'foreign.pth'))
    with pytest.raises(FileNotFoundError, match='nothing is downloaded'):
        TimmBackbone('tiny', checkpoint=str(tmp_path / 'absent.pth'))


class _Payload:
    """A class in a pickle: a weights-only load must refuse it."""


def test_checkpoint_is_read_weights_only(stub_timm, tmp_path):
    torch.save({'state_dict': _full_state(), 'obj': _Payload()}, tmp_path / 'unsafe.pth')
    with pytest.raises(CheckpointError, match='refusing to load'):
        TimmBackbone('tiny', checkpoint=str(tmp_path / 'unsafe.pth'))


def test_safetensors_checkpoint(stub_timm, tmp_path):
    safetensors = pytest.importorskip('safetensors.torch')
    safetensors.save_file(_full_state(), str(tmp_path / 'w.safetensors'))
    backbone = TimmBackbone('tiny', checkpoint=str(tmp_path / 'w.safetensors'))
    torch.testing.assert_close(backbone.timm_model.level4[0].bias,
                               _full_state()['level4.0.bias'], rtol=0, atol=0)


def _config_forward_backward(model):
    x = torch.randn(1, 3, 64, 64)
    heatmaps = model.head(model.backbone(x))[0]
    assert heatmaps.shape == (1, 16, 16, 16)
    heatmaps.square().mean().backward()
    for part in (model.backbone, model.head):
        assert all(p.grad is not None for p in part.parameters() if p.requires_grad)


def test_config_builds_and_trains_a_step(stub_timm):
    from hpekit.apis import init_model
    model = init_model(str(CONFIG)).train()
    assert type(model.backbone).__name__ == 'TimmBackbone'
    assert model.backbone.out_channels == [model.head.in_channels] == [512]
    _config_forward_backward(model)


# ------------------------------------------------------------------ real timm
def test_real_timm_config_and_checkpoint(tmp_path):
    timm = _real_timm()
    from hpekit.apis import init_model
    full = timm.create_model('resnet18', pretrained=False).eval()
    torch.save(full.state_dict(), tmp_path / 'resnet18.pth')   # a classifier checkpoint
    model = init_model(str(CONFIG), cfg_options={
        'model.backbone.checkpoint': str(tmp_path / 'resnet18.pth')})
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(x)[0], full.forward_features(x))
    _config_forward_backward(model.train())


# One model per kind of timm feature extractor: FeatureListNet with plain keys (the
# config's ResNet), FeatureListNet with flattened names (ConvNeXt's stages.0 → stages_0),
# a model's own features class (MobileNetV3Features, no head keys) and FeatureGetterNet
# (a ViT wrapped as model.*). Small models, 64×64 inputs.
REAL_MODELS = [
    ('resnet18', (1, 3), {}, 'pth'),
    ('convnext_atto', (0, -1), {}, 'safetensors'),
    ('mobilenetv3_small_050', None, {}, 'pth'),
    ('vit_tiny_patch16_224', (-2, -1), dict(img_size=64), 'pth'),
]


@pytest.mark.parametrize('name, out_indices, kwargs, fmt', REAL_MODELS,
                         ids=[m[0] for m in REAL_MODELS])
def test_real_timm_matches_timm_features_only(tmp_path, name, out_indices, kwargs, fmt):
    """The same weights, saved as a full classifier checkpoint: TimmBackbone loading it
    gives timm's own features_only model loading it (timm's pretrained path, from the
    local file) — same levels, channels, strides and feature maps."""
    timm = _real_timm()
    torch.manual_seed(0)
    full = timm.create_model(name, pretrained=False, **kwargs)
    with torch.no_grad():   # non-trivial running statistics, so eval mode uses them
        for module in full.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    path = tmp_path / f'{name}.{fmt}'
    if fmt == 'safetensors':
        pytest.importorskip('safetensors.torch').save_file(
            {k: v.contiguous() for k, v in full.state_dict().items()}, str(path))
    else:
        torch.save(full.state_dict(), path)
    backbone = TimmBackbone(name, out_indices=out_indices, checkpoint=str(path),
                            **kwargs).eval()
    extra = {} if out_indices is None else dict(out_indices=out_indices)
    reference = timm.create_model(name, pretrained=True, features_only=True,
                                  pretrained_cfg_overlay=dict(file=str(path)),
                                  **extra, **kwargs).eval()
    assert type(backbone.timm_model) is type(reference)
    assert backbone.out_channels == reference.feature_info.channels()
    assert backbone.reductions == reference.feature_info.reduction()
    expected_state = reference.state_dict()
    assert list(backbone.timm_model.state_dict()) == list(expected_state)
    for key, value in backbone.timm_model.state_dict().items():
        torch.testing.assert_close(value, expected_state[key], rtol=0, atol=0, msg=key)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats, expected = backbone(x), reference(x)
    assert isinstance(feats, tuple) and len(feats) == len(expected) == len(
        backbone.out_channels)
    for feat, ref, channels, reduction in zip(feats, expected, backbone.out_channels,
                                              backbone.reductions):
        assert feat.shape == (2, channels, 64 // reduction, 64 // reduction)
        torch.testing.assert_close(feat, ref, rtol=0, atol=0)


def test_real_timm_checkpoint_mismatch_is_named(tmp_path):
    timm = _real_timm()
    state = timm.create_model('resnet18', pretrained=False).state_dict()
    del state['layer2.0.conv1.weight']
    torch.save(state, tmp_path / 'resnet18.pth')
    with pytest.raises(ValueError, match=r"1 missing keys \['layer2.0.conv1.weight'\]"):
        TimmBackbone('resnet18', checkpoint=str(tmp_path / 'resnet18.pth'))
    with pytest.raises(ValueError, match="cannot build 'no_such_model'"):
        TimmBackbone('no_such_model')


def test_feature_extractor_names_map_to_the_full_models():
    """timm's flatten_sequential renames 'stages.0' → 'stages_0'; checkpoints use the
    full model's names (checked on real ResNet / ConvNeXt / MobileNetV3 / ViT by
    test_real_timm_matches_timm_features_only where timm is installed)."""
    from hpekit.models.backbones.timm_backbone import _full_model_key
    full = {'stem.0.weight', 'stages.0.blocks.0.conv_dw.weight', 'conv_stem.weight',
            'model.blocks.1.attn.qkv.weight', 'layer_norm.3.bias'}
    assert _full_model_key('stages_0.blocks.0.conv_dw.weight', full) == \
        'stages.0.blocks.0.conv_dw.weight'
    assert _full_model_key('conv_stem.weight', full) == 'conv_stem.weight'
    assert _full_model_key('stem_0.weight', full) == 'stem.0.weight'
    assert _full_model_key('layer_norm_3.bias', full) == 'layer_norm.3.bias'
    assert _full_model_key('model.blocks_1.attn.qkv.weight', full) == \
        'model.blocks.1.attn.qkv.weight'
    assert _full_model_key('unknown_0.weight', full) == 'unknown_0.weight'
