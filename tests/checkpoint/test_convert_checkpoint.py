"""tools/misc/convert_checkpoint.py: HRNet-repo PoseResNet and bearpaw/pytorch-pose
HourglassNet checkpoints → hpekit, checked by output equality.

The source architectures are re-implemented below, module for module, only as far as
their state-dict layout and forward pass go (written for this test from the
architectures' descriptions): a checkpoint of the source network is saved, converted,
loaded strictly into the hpekit config's model with ``init_model``, and both networks
must give the same heatmaps for the same input.
"""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from hpekit.apis import init_model
from hpekit.checkpoint.converters import (CheckpointConversionError, convert_checkpoint,
                                          read_state_dict)
from hpekit.checkpoint.loading import CheckpointError

ROOT = Path(__file__).resolve().parents[2]
SIMPLEBASELINE = ROOT / 'configs' / 'mpii_hourglass' / 'simplebaseline-res50_b32-140e_mpii-256.py'
HG2 = ROOT / 'configs' / 'mpii_hourglass' / 'hg2-bottleneck_b24-20e_mpii-256.py'


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """One torch thread: on a shared 2-core machine two threads are far slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _randomise(module, seed):
    """Random weights and BN statistics, so that a wrong mapping shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.dtype.is_floating_point:
                values = torch.rand(tensor.shape, generator=gen)
                tensor.copy_(0.5 + values if name.endswith('running_var')
                             else 0.2 * (values - 0.5))
    return module.eval()


# ------------------------------------------------ HRNet-repo PoseResNet (source)
class SrcBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class SrcBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class SrcPoseResNet(nn.Module):
    """PoseResNet's layout: conv1/bn1/layer1..4, deconv_layers (Sequential of
    ConvTranspose2d 4×4 s2 no bias, BN, ReLU), final_layer (1×1 conv, biased).
    ``width`` (64 in the real network) only shrinks the test."""

    def __init__(self, block, layers, num_joints=16, deconv=(256, 256, 256), width=64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i, n in enumerate(layers):
            setattr(self, f'layer{i + 1}',
                    self._make_layer(block, width * 2 ** i, n, 1 if i == 0 else 2))
        layers_ = []
        for channels in deconv:
            layers_ += [nn.ConvTranspose2d(self.inplanes, channels, 4, 2, 1, 0, bias=False),
                        nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            self.inplanes = channels
        self.deconv_layers = nn.Sequential(*layers_)
        self.final_layer = nn.Conv2d(self.inplanes, num_joints, 1, 1, 0)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.final_layer(self.deconv_layers(x))


# -------------------------------------------- bearpaw/pytorch-pose HourglassNet
class SrcPreActBottleneck(nn.Module):
    """bearpaw's Bottleneck: expansion 2, BN-ReLU-conv ×3 (biased), downsample =
    Sequential(biased 1×1 conv) on the raw input, no ReLU after the add."""
    expansion = 2

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=True)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 2, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + (x if self.downsample is None else self.downsample(x))


class SrcHourglass(nn.Module):
    """hg[level] = ModuleList of residual groups (3, plus a 4th at level 0)."""

    def __init__(self, block, num_blocks, planes, depth):
        super().__init__()
        self.depth = depth

        def group():
            return nn.Sequential(*[block(planes * block.expansion, planes)
                                   for _ in range(num_blocks)])
        self.hg = nn.ModuleList(
            nn.ModuleList([group() for _ in range(4 if level == 0 else 3)])
            for level in range(depth))

    def _forward(self, n, x):
        up1 = self.hg[n - 1][0](x)
        low1 = self.hg[n - 1][1](F.max_pool2d(x, 2, stride=2))
        low2 = self._forward(n - 1, low1) if n > 1 else self.hg[n - 1][3](low1)
        low3 = self.hg[n - 1][2](low2)
        return up1 + F.interpolate(low3, scale_factor=2)

    def forward(self, x):
        return self._forward(self.depth, x)


class SrcHourglassNet(nn.Module):
    def __init__(self, num_stacks=2, num_blocks=1, num_classes=16, depth=4):
        super().__init__()
        block = SrcPreActBottleneck
        self.inplanes, self.num_feats, self.num_stacks = 64, 128, num_stacks
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=True)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_residual(block, self.inplanes, 1)
        self.layer2 = self._make_residual(block, self.inplanes, 1)
        self.layer3 = self._make_residual(block, self.num_feats, 1)
        self.maxpool = nn.MaxPool2d(2, stride=2)
        ch = self.num_feats * block.expansion
        hg, res, fc, score, fc_, score_ = [], [], [], [], [], []
        for i in range(num_stacks):
            hg.append(SrcHourglass(block, num_blocks, self.num_feats, depth))
            res.append(self._make_residual(block, self.num_feats, num_blocks))
            fc.append(nn.Sequential(nn.Conv2d(ch, ch, 1, bias=True), nn.BatchNorm2d(ch),
                                    self.relu))
            score.append(nn.Conv2d(ch, num_classes, 1, bias=True))
            if i < num_stacks - 1:
                fc_.append(nn.Conv2d(ch, ch, 1, bias=True))
                score_.append(nn.Conv2d(num_classes, ch, 1, bias=True))
        self.hg, self.res, self.fc = nn.ModuleList(hg), nn.ModuleList(res), nn.ModuleList(fc)
        self.score, self.fc_ = nn.ModuleList(score), nn.ModuleList(fc_)
        self.score_ = nn.ModuleList(score_)

    def _make_residual(self, block, planes, blocks):
        downsample = None
        if self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, bias=True))
        layers = [block(self.inplanes, planes, 1, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.maxpool(self.layer1(x))))
        out = []
        for i in range(self.num_stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)))
            score = self.score[i](y)
            out.append(score)
            if i < self.num_stacks - 1:
                x = x + self.fc_[i](y) + self.score_[i](score)
        return out


# --------------------------------------------------------------------- tests
def _convert_and_load(kind, source, config, tmp_path, cfg_options=None, wrap=False):
    src = tmp_path / f'{kind}.pth'
    state = source.state_dict()
    if wrap:   # a training checkpoint of a DataParallel model
        state = {'epoch': 7, 'arch': 'hg', 'best_acc': 0.8,
                 'state_dict': {f'module.{k}': v for k, v in state.items()}}
    torch.save(state, src)
    dst = tmp_path / f'{kind}_hpekit.pth'
    info = convert_checkpoint(kind, str(src), str(dst))
    return init_model(str(config), str(dst), cfg_options=cfg_options), info


@pytest.mark.parametrize('depth, block, layers, width', [
    (18, SrcBasicBlock, (2, 2, 2, 2), 16), (50, SrcBottleneck, (3, 4, 6, 3), 8)])
def test_hrnet_pose_resnet_gives_the_same_heatmaps(tmp_path, depth, block, layers, width):
    source = _randomise(SrcPoseResNet(block, layers, deconv=(16, 16, 16), width=width), 1)
    in_channels = width * 8 * block.expansion
    model, info = _convert_and_load(
        'hrnet-pose-resnet', source, SIMPLEBASELINE, tmp_path, cfg_options={
            'model.backbone.depth': depth, 'model.backbone.base_channels': width,
            'model.head.in_channels': in_channels,
            'model.head.deconv_channels': (16, 16, 16)})
    assert info['depth'] == depth and info['num_joints'] == 16
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = source(x)
        got = model.head(model.backbone(x))[0]
    assert got.shape == expected.shape == (2, 16, 16, 16)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('num_stacks, num_blocks, depth', [(2, 1, 4), (3, 2, 2)])
def test_bearpaw_hourglass_gives_the_same_heatmaps(tmp_path, num_stacks, num_blocks, depth):
    source = _randomise(SrcHourglassNet(num_stacks, num_blocks, depth=depth), 2)
    model, info = _convert_and_load(
        'bearpaw-hourglass', source, HG2, tmp_path, wrap=True, cfg_options={
            'model.backbone.num_stacks': num_stacks,
            'model.backbone.num_blocks': num_blocks, 'model.backbone.depth': depth})
    assert info == dict(num_stacks=num_stacks, num_blocks=num_blocks, depth=depth,
                        channels=256, num_joints=16)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = source(x)
        got = model.backbone(x)
    assert len(got) == len(expected) == num_stacks
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_checkpoint_of_other_sizes_does_not_load_silently(tmp_path):
    """A 1-stack checkpoint into the 2-stack config: strict loading names the keys."""
    source = SrcHourglassNet(1, 1, depth=1)
    src, dst = tmp_path / 'bp.pth', tmp_path / 'hp.pth'
    torch.save(source.state_dict(), src)
    convert_checkpoint('bearpaw-hourglass', str(src), str(dst))
    with pytest.raises(CheckpointError, match='missing keys'):
        init_model(str(HG2), str(dst), cfg_options={'model.backbone.depth': 1})


def test_unknown_keys_and_wrong_kind_are_refused(tmp_path):
    state = SrcPoseResNet(SrcBasicBlock, (1, 1, 1, 1), deconv=(8,), width=8).state_dict()
    state['extra_head.weight'] = torch.zeros(3)
    torch.save(state, tmp_path / 'extra.pth')
    with pytest.raises(CheckpointConversionError, match="extra_head.weight"):
        convert_checkpoint('hrnet-pose-resnet', str(tmp_path / 'extra.pth'),
                           str(tmp_path / 'out.pth'))
    with pytest.raises(CheckpointConversionError, match='bearpaw'):
        convert_checkpoint('bearpaw-hourglass', str(tmp_path / 'extra.pth'),
                           str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()
    assert not list(tmp_path.glob('.out.pth.*'))


class _Payload:
    """Anything a weights-only load must refuse (a class from the file's pickle)."""


def test_input_is_read_weights_only(tmp_path):
    torch.save({'state_dict': {'conv1.weight': torch.zeros(1)}, 'obj': _Payload()},
               tmp_path / 'unsafe.pth')
    with pytest.raises(CheckpointError, match='refusing to load'):
        read_state_dict(str(tmp_path / 'unsafe.pth'))


def test_the_command_line_tool(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'hpekit_tool_convert_checkpoint', ROOT / 'tools' / 'misc' / 'convert_checkpoint.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    source = SrcHourglassNet(1, 1, depth=1)
    torch.save({'state_dict': source.state_dict()}, tmp_path / 'bp.pth')
    assert tool.main(['bearpaw-hourglass', str(tmp_path / 'bp.pth'),
                      str(tmp_path / 'hp.pth')]) == 0
    assert 'model.backbone.num_stacks=1' in capsys.readouterr().out
    assert (tmp_path / 'hp.pth').is_file()
    assert tool.main(['hrnet-pose-resnet', str(tmp_path / 'bp.pth'),
                      str(tmp_path / 'x.pth')]) == 1
    assert 'right KIND' in capsys.readouterr().err
    assert not (tmp_path / 'x.pth').exists()
