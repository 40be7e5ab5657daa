"""Model parts of the Human3.6M video → 3D pipeline: shapes, gradients, arguments."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample

B, T, K = 2, 3, 17


def build(**cfg):
    return MODELS.build(cfg)


def tiny_resnet(**kwargs):
    cfg = dict(type='ResNet', depth=18, base_channels=8)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def assert_all_grads(module):
    for name, param in module.named_parameters():
        if param.requires_grad:
            assert param.grad is not None, name
            assert torch.isfinite(param.grad).all(), name


def bn_layers(module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


# ----------------------------------------------------------------------- ResNet
@pytest.mark.parametrize('depth, expected', [(18, 11_176_512), (50, 23_508_032)])
def test_resnet_parameter_count_matches_torchvision(depth, expected):
    model = build(type='ResNet', depth=depth)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_resnet_torchvision_key_names():
    keys = set(build(type='ResNet', depth=18).state_dict())
    for key in ['conv1.weight', 'bn1.running_mean', 'layer1.0.conv2.weight',
                'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.running_var',
                'layer4.1.bn2.running_var', 'layer4.1.bn2.num_batches_tracked']:
        assert key in keys
    assert len(keys) == 120  # torchvision's 122 minus fc.weight, fc.bias
    keys50 = set(build(type='ResNet', depth=50).state_dict())
    assert 'layer3.5.conv3.weight' in keys50 and 'layer1.0.downsample.0.weight' in keys50
    assert len(keys50) == 318  # torchvision's 320 minus fc


@pytest.mark.parametrize('depth, expansion', [(18, 1), (34, 1), (50, 4), (101, 4)])
def test_resnet_output_shapes(depth, expansion):
    model = tiny_resnet(depth=depth, out_indices=(0, 1, 2, 3))
    outs = model(torch.randn(2, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 4
    for i, out in enumerate(outs):
        channels = 8 * 2**i * expansion
        assert out.shape == (2, channels, 16 // 2**i, 16 // 2**i)
    assert model.out_channels == [8 * expansion, 16 * expansion, 32 * expansion,
                                  64 * expansion]


def test_resnet_default_out_index_and_gradients():
    model = tiny_resnet()
    model.init_weights()
    outs = model(torch.randn(2, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape == (2, 64, 2, 2)
    assert model.out_channels == [64]
    outs[0].sum().backward()
    assert_all_grads(model)


def test_resnet_stride_on_3x3_v1_5():
    model = tiny_resnet(depth=50)
    block = model.layer2[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)


def test_resnet_loads_torchvision_layout_checkpoint(tmp_path):
    model = tiny_resnet()
    torch.manual_seed(0)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            state[key] = torch.randn_like(value).abs() + 0.1
        else:
            state[key] = torch.randint_like(value, 1, 100)
    state['fc.weight'] = torch.randn(1000, 64)
    state['fc.bias'] = torch.randn(1000)
    path = tmp_path / 'resnet18_tv.pth'
    torch.save(state, path)

    loaded = tiny_resnet(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    loaded.init_weights()
    result = loaded.state_dict()
    assert set(result) == set(state) - {'fc.weight', 'fc.bias'}
    for key, value in result.items():
        assert torch.equal(value, state[key]), key


def test_resnet_default_init():
    model = tiny_resnet()
    model.init_weights()
    assert torch.equal(model.bn1.weight, torch.ones(8))
    assert torch.equal(model.layer1[0].bn2.bias, torch.zeros(8))


def _trainable(module):
    return all(p.requires_grad for p in module.parameters())


def _frozen(module):
    return all(not p.requires_grad for p in module.parameters())


def test_resnet_frozen_stages():
    model = tiny_resnet(frozen_stages=1)
    model.train()
    assert _frozen(model.conv1) and _frozen(model.bn1) and _frozen(model.layer1)
    assert not model.bn1.training
    assert all(not m.training for m in bn_layers(model.layer1))
    assert _trainable(model.layer2) and model.layer2[0].bn1.training
    before = model.layer1[0].bn1.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert torch.equal(model.layer1[0].bn1.running_mean, before)
    assert model.layer1[0].conv1.weight.grad is None
    assert model.layer2[0].conv1.weight.grad is not None


def test_resnet_frozen_stem_only_and_none():
    model = tiny_resnet(frozen_stages=0).train()
    assert _frozen(model.conv1) and _frozen(model.bn1) and not model.bn1.training
    assert _trainable(model.layer1) and model.layer1[0].bn1.training
    model = tiny_resnet(frozen_stages=-1).train()
    assert _trainable(model) and all(m.training for m in bn_layers(model))


def test_resnet_norm_eval():
    model = tiny_resnet(norm_eval=True)
    model.train()
    assert model.training
    assert all(not m.training for m in bn_layers(model))
    assert _trainable(model)
    before = model.layer3[1].bn2.running_var.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(model.layer3[1].bn2.running_var, before)


@pytest.mark.parametrize('depth', [18, 50])
def test_resnet_with_cp_matches_plain(depth):
    torch.manual_seed(0)
    plain = tiny_resnet(depth=depth, out_indices=(1, 3))
    ckpt = tiny_resnet(depth=depth, out_indices=(1, 3), with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    plain.train()
    ckpt.train()
    x = torch.randn(2, 3, 64, 64)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, out2 = plain(x1), ckpt(x2)
    for a, b in zip(out1, out2):
        assert torch.allclose(a, b, atol=1e-6)
    sum(o.square().sum() for o in out1).backward()
    sum(o.square().sum() for o in out2).backward()
    assert torch.allclose(x1.grad, x2.grad, atol=1e-5)
    for (name, p1), p2 in zip(plain.named_parameters(), ckpt.parameters()):
        assert torch.allclose(p1.grad, p2.grad, atol=1e-5, rtol=1e-4), name
    # the recomputation in backward does not update the BN statistics a second time
    for (name, b1), b2 in zip(plain.named_buffers(), ckpt.buffers()):
        assert torch.allclose(b1.float(), b2.float(), atol=1e-6), name


def test_resnet_bad_arguments():
    with pytest.raises(ValueError, match='depth'):
        build(type='ResNet', depth=42)
    with pytest.raises(ValueError, match='out_indices'):
        tiny_resnet(out_indices=(4,))
    with pytest.raises(ValueError, match='frozen_stages'):
        tiny_resnet(frozen_stages=7)
    with pytest.raises(ValueError, match='base_channels'):
        tiny_resnet(base_channels=0)


# ------------------------------------------------------------------ spatial necks
def test_channel_reduction_shapes_and_gradients():
    neck = build(type='ChannelReduction', in_channels=2048, out_channels=128)
    x = torch.randn(2, 2048, 7, 7, requires_grad=True)
    out = neck((torch.randn(2, 16, 14, 14), x))
    assert out.shape == (2, 6272)
    assert (out >= 0).all()
    out.sum().backward()
    assert_all_grads(neck)
    assert x.grad is not None
    assert neck.out_channels == 128
    unflat = build(type='ChannelReduction', in_channels=8, out_channels=4, flatten=False)
    assert unflat(torch.randn(3, 8, 5, 5)).shape == (3, 4, 5, 5)


def test_global_average_pooling():
    pool = build(type='GlobalAveragePooling')
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    x.requires_grad_()
    out = pool((x,))
    assert out.shape == (2, 3)
    assert torch.allclose(out, x.detach().mean(dim=(2, 3)))
    assert torch.equal(pool(x), out)
    out.sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 1 / 16))


def test_spatial_neck_bad_arguments():
    with pytest.raises(ValueError, match='out_channels'):
        build(type='ChannelReduction', in_channels=8, out_channels=0)
    with pytest.raises(ValueError, match=r'\[N, C, h, w\]'):
        build(type='GlobalAveragePooling')(torch.randn(2, 3))


# ----------------------------------------------------------------- temporal necks
@pytest.mark.parametrize('cell', ['lstm', 'gru', 'rnn'])
@pytest.mark.parametrize('bidirectional', [False, True])
def test_recurrent_neck(cell, bidirectional):
    neck = build(type='RecurrentNeck', in_channels=10, hidden_size=6, num_layers=2,
                 cell=cell, bidirectional=bidirectional, dropout=0.1)
    expected = 12 if bidirectional else 6
    assert neck.out_channels == expected
    out = neck(torch.randn(B, T, 10))
    assert out.shape == (B, T, expected)
    out.sum().backward()
    assert_all_grads(neck)


def test_recurrent_neck_is_causal_when_unidirectional():
    neck = build(type='RecurrentNeck', in_channels=4, hidden_size=5).eval()
    x = torch.randn(1, 4, 4)
    y = x.clone()
    y[:, -1] += 1.0
    assert torch.allclose(neck(x)[:, :-1], neck(y)[:, :-1])


def test_temporal_conv_neck():
    neck = build(type='TemporalConvNeck', in_channels=10, hidden_size=6, num_layers=3,
                 kernel_size=5)
    assert neck.out_channels == 6
    out = neck(torch.randn(B, T, 10))
    assert out.shape == (B, T, 6)
    out.sum().backward()
    assert_all_grads(neck)
    assert [layer.residual for layer in neck.layers] == [False, True, True]
    same = build(type='TemporalConvNeck', in_channels=6, hidden_size=6, num_layers=1)
    assert same.layers[0].residual
    nn.init.zeros_(same.layers[0].conv.weight)
    nn.init.zeros_(same.layers[0].conv.bias)
    x = torch.randn(B, T, 6)
    assert torch.allclose(same(x), x)  # zero conv → the residual passes x through


@pytest.mark.parametrize('cfg, match', [
    (dict(type='RecurrentNeck', in_channels=4, hidden_size=4, cell='transformer'),
     'cell must be one of'),
    (dict(type='RecurrentNeck', in_channels=4, hidden_size=0), 'hidden_size'),
    (dict(type='RecurrentNeck', in_channels=-1, hidden_size=4), 'in_channels'),
    (dict(type='RecurrentNeck', in_channels=4, hidden_size=4, num_layers=0),
     'num_layers'),
    (dict(type='RecurrentNeck', in_channels=4, hidden_size=4, dropout=1.5), 'dropout'),
    (dict(type='TemporalConvNeck', in_channels=4, hidden_size=4, kernel_size=2),
     'kernel_size must be odd'),
    (dict(type='TemporalConvNeck', in_channels=4, hidden_size=0), 'hidden_size'),
    (dict(type='TemporalConvNeck', in_channels=4, hidden_size=4, num_layers=0),
     'num_layers'),
])
def test_temporal_neck_bad_arguments(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_temporal_neck_bad_input_shape():
    neck = build(type='RecurrentNeck', in_channels=4, hidden_size=4)
    with pytest.raises(ValueError, match=r'\[B, T, 4\]'):
        neck(torch.randn(2, 3, 5))


# -------------------------------------------------------------------------- losses
def test_mse_loss_hand_computed():
    pred = torch.zeros(1, 2, 3)
    target = torch.tensor([[[1., 2., 3.], [0., 0., 2.]]])
    loss = build(type='MSELoss')
    # squares 1 + 4 + 9 + 0 + 0 + 4 = 18 over 6 elements
    assert torch.isclose(loss(pred, target), torch.tensor(3.0))
    weight = torch.tensor([[0.5, 2.0]])
    # 0.5 * 14 + 2 * 4 = 15 over 6
    assert torch.isclose(loss(pred, target, weight), torch.tensor(2.5))
    assert torch.isclose(build(type='MSELoss', loss_weight=2.0)(pred, target),
                         torch.tensor(6.0))
    assert loss(pred, target).dim() == 0


def test_l1_loss_hand_computed():
    pred = torch.tensor([[[1., -1., 0.], [2., 2., 2.]]])
    target = torch.tensor([[[0., 1., 0.], [2., 2., 5.]]])
    loss = build(type='L1Loss')
    # |.|: 1 + 2 + 0 + 0 + 0 + 3 = 6 over 6
    assert torch.isclose(loss(pred, target), torch.tensor(1.0))
    weight = torch.tensor([[0.0, 1.0]])
    assert torch.isclose(loss(pred, target, weight), torch.tensor(0.5))
    assert torch.isclose(build(type='L1Loss', loss_weight=0.5)(pred, target),
                         torch.tensor(0.5))


def test_loss_gradient_and_frames():
    pred = torch.randn(B, T, K, 3, requires_grad=True)
    target = torch.randn(B, T, K, 3)
    value = build(type='MSELoss')(pred, target, torch.ones(B, T, K))
    assert torch.isclose(value, ((pred - target) ** 2).mean())
    value.backward()
    assert torch.allclose(pred.grad, 2 * (pred - target).detach() / pred.numel())


def test_loss_bad_shapes():
    with pytest.raises(ValueError, match='same shape'):
        build(type='MSELoss')(torch.zeros(2, 17, 3), torch.zeros(2, 16, 3))
    with pytest.raises(ValueError, match='target_weight'):
        build(type='L1Loss')(torch.zeros(2, 17, 3), torch.zeros(2, 17, 3),
                             torch.ones(2, 17, 3))


# ---------------------------------------------------------------------------- head
def samples_with_gt(batch=B, frames=T):
    return [PoseDataSample(gt_joints_3d=torch.randn(frames, K, 3)) for _ in range(batch)]


def test_head_forward_loss_predict():
    head = build(type='JointRegressionHead', in_channels=12, hidden_dims=(16, 8),
                 dropout=0.1)
    feats = torch.randn(B, T, 12)
    assert head(feats).shape == (B, T, K, 3)
    samples = samples_with_gt()
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_joints'} and losses['loss_joints'].dim() == 0
    losses['loss_joints'].backward()
    assert_all_grads(head)
    head.eval()
    out = head.predict(feats, samples)
    assert out is samples
    for ds, expected in zip(out, head(feats)):
        assert ds.pred_joints_3d.shape == (T, K, 3)
        assert ds.pred_joints_3d.dtype == torch.float32
        assert not ds.pred_joints_3d.requires_grad
        assert torch.allclose(ds.pred_joints_3d, expected)


def test_head_linear_only_and_loss_value():
    head = build(type='JointRegressionHead', in_channels=4, num_joints=2, hidden_dims=())
    nn.init.zeros_(head.fc_out.weight)
    nn.init.zeros_(head.fc_out.bias)
    feats = torch.randn(1, 1, 4)
    gt = torch.tensor([[[1., 2., 3.], [0., 0., 2.]]])
    losses = head.loss(feats, [PoseDataSample(gt_joints_3d=gt)])
    assert torch.isclose(losses['loss_joints'], torch.tensor(3.0))
    assert head(feats).shape == (1, 1, 2, 3)


def test_head_bad_arguments():
    with pytest.raises(ValueError, match='in_channels'):
        build(type='JointRegressionHead', in_channels=0)
    with pytest.raises(ValueError, match='hidden_dims'):
        build(type='JointRegressionHead', in_channels=4, hidden_dims=(0,))
    with pytest.raises(ValueError, match=r'\[B, T, 4\]'):
        build(type='JointRegressionHead', in_channels=4)(torch.randn(2, 4))


# -------------------------------------------------------------- data preprocessor
def uint8_clips(batch=B, frames=T, size=32):
    return [torch.randint(0, 256, (frames, 3, size, size), dtype=torch.uint8)
            for _ in range(batch)]


def test_clip_preprocessor_normalises():
    pre = build(type='ClipDataPreprocessor')
    clips = uint8_clips()
    samples = samples_with_gt()
    out = pre(dict(inputs=clips, data_samples=samples))
    inputs = out['inputs']
    assert inputs.shape == (B, T, 3, 32, 32) and inputs.dtype == torch.float32
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 1, 3, 1, 1)
    assert torch.allclose(inputs, (torch.stack(clips).float() - mean) / std)
    assert len(out['data_samples']) == B
    assert torch.equal(out['data_samples'][0].gt_joints_3d, samples[0].gt_joints_3d)
    stacked = pre(dict(inputs=torch.stack(clips), data_samples=None))
    assert torch.equal(stacked['inputs'], inputs) and stacked['data_samples'] is None
    assert 'mean' not in pre.state_dict()


def test_clip_preprocessor_custom_mean_std():
    pre = build(type='ClipDataPreprocessor', mean=(0, 0, 0), std=(255, 255, 255))
    out = pre(dict(inputs=[torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)],
                   data_samples=[]))
    assert torch.allclose(out['inputs'], torch.ones(1, 1, 3, 2, 2))


@pytest.mark.parametrize('inputs, match', [
    ([torch.zeros(3, 32, 32, dtype=torch.uint8)], r'\[T, 3, H, W\].*\(3, 32, 32\)'),
    ([torch.zeros(2, 32, 32, 3, dtype=torch.uint8)], r'\(2, 32, 32, 3\)'),
    (torch.zeros(2, 3, 32, 32, dtype=torch.uint8), r'\[B, T, 3, H, W\]'),
    ([torch.zeros(2, 3, 8, 8, dtype=torch.uint8),
      torch.zeros(2, 3, 9, 9, dtype=torch.uint8)], 'one shape'),
])
def test_clip_preprocessor_bad_inputs(inputs, match):
    with pytest.raises(ValueError, match=match):
        build(type='ClipDataPreprocessor')(dict(inputs=inputs, data_samples=None))


# ------------------------------------------------------------------------- estimator
def tiny_regressor(temporal_neck='lstm'):
    necks = {
        'lstm': dict(type='RecurrentNeck', in_channels=64, hidden_size=16),
        'conv': dict(type='TemporalConvNeck', in_channels=64, hidden_size=16),
        None: None,
    }
    head_in = 16 if temporal_neck else 64
    return build(
        type='VideoPoseRegressor',
        backbone=dict(type='ResNet', depth=18, base_channels=8),
        spatial_neck=dict(type='GlobalAveragePooling'),
        temporal_neck=necks[temporal_neck],
        head=dict(type='JointRegressionHead', in_channels=head_in, hidden_dims=(32,)),
        data_preprocessor=dict(type='ClipDataPreprocessor'))


def test_video_regressor_three_modes():
    torch.manual_seed(0)
    model = tiny_regressor()
    model.init_weights()
    data = model.data_preprocessor(dict(inputs=uint8_clips(),
                                        data_samples=samples_with_gt()), True)
    out = model(data['inputs'], mode='tensor')
    assert out.shape == (B, T, K, 3)

    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_joints'}
    losses['loss_joints'].backward()
    assert_all_grads(model)

    model.eval()
    preds = model(**data, mode='predict')
    assert len(preds) == B and all(isinstance(p, PoseDataSample) for p in preds)
    assert preds[0].pred_joints_3d.shape == (T, K, 3)
    assert torch.allclose(preds[1].pred_joints_3d, model(data['inputs'])[1])
    no_samples = model(data['inputs'], mode='predict')
    assert len(no_samples) == B and no_samples[0].pred_joints_3d.shape == (T, K, 3)


def test_video_regressor_frames_folded_into_batch():
    model = tiny_regressor(temporal_neck=None).eval()
    inputs = torch.randn(B, T, 3, 32, 32)
    out = model(inputs)
    # without a temporal neck each frame is handled on its own
    single = model(inputs[1:2, 2:3])
    assert torch.allclose(out[1, 2], single[0, 0], atol=1e-5)


def test_video_regressor_train_step_and_default_preprocessor():
    model = build(
        type='VideoPoseRegressor',
        backbone=dict(type='ResNet', depth=18, base_channels=8),
        spatial_neck=dict(type='ChannelReduction', in_channels=64, out_channels=4),
        temporal_neck=dict(type='TemporalConvNeck', in_channels=4, hidden_size=8),
        head=dict(type='JointRegressionHead', in_channels=8))
    assert type(model.data_preprocessor).__name__ == 'ClipDataPreprocessor'
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = copy.deepcopy(model.head.fc_out.weight.detach())
    batch = dict(inputs=uint8_clips(), data_samples=samples_with_gt())
    log_vars = model.train_step(batch, optim)
    assert 'loss' in log_vars and 'loss_joints' in log_vars
    assert not torch.equal(before, model.head.fc_out.weight)
    preds = model.val_step(dict(inputs=uint8_clips(), data_samples=samples_with_gt()))
    assert preds[0].pred_joints_3d.shape == (T, K, 3)


def test_video_regressor_bad_mode_and_inputs():
    model = tiny_regressor('conv')
    with pytest.raises(ValueError, match='mode'):
        model(torch.randn(1, 2, 3, 32, 32), mode='train')
    with pytest.raises(ValueError, match=r'\[B, T, 3, H, W\]'):
        model(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match='data_samples'):
        model(torch.randn(1, 2, 3, 32, 32), mode='loss')


def test_unknown_type_raises_key_error_naming_registry():
    with pytest.raises(KeyError, match='registry') as info:
        MODELS.build(dict(type='ResNett'))
    assert 'ResNet' in str(info.value)
    with pytest.raises(KeyError, match='registry'):
        build(type='VideoPoseRegressor', backbone=dict(type='ResNet', depth=18),
              spatial_neck=dict(type='GlobalAvgPool'), temporal_neck=None,
              head=dict(type='JointRegressionHead', in_channels=512))
