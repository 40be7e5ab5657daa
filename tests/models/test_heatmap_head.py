"""HeatmapHead (MMPose 1.x's general heatmap head) and KeypointMSELoss's MMPose
arguments."""
import pytest
import torch
import torch.nn as nn

from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample

CODEC = dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8))


def head(**kwargs):
    cfg = dict(type='HeatmapHead', in_channels=8, out_channels=3, decoder=CODEC)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_hrnet_style_head_is_one_1x1_conv_on_the_last_map():
    """MMPose's HRNet configs: deconv_out_channels=None → only ``final_layer``."""
    model = head(deconv_out_channels=None)
    assert list(model.state_dict()) == ['final_layer.weight', 'final_layer.bias']
    assert isinstance(model.deconv_layers, nn.Identity)
    assert isinstance(model.conv_layers, nn.Identity)
    feats = (torch.randn(2, 16, 8, 8), torch.randn(2, 8, 8, 8))   # the last is used
    (out,) = model(feats)
    expected = nn.functional.conv2d(feats[-1], model.final_layer.weight,
                                    model.final_layer.bias)
    torch.testing.assert_close(out, expected)


def test_simple_baseline_head_names_and_shapes():
    """Default: three 4×4 stride-2 deconvs (no bias) + BN + ReLU, then a 1×1 conv;
    MMPose's key names."""
    model = head(in_channels=16, deconv_out_channels=(8, 8, 8))
    names = list(model.state_dict())
    assert names[:7] == ['deconv_layers.0.weight', 'deconv_layers.1.weight',
                         'deconv_layers.1.bias', 'deconv_layers.1.running_mean',
                         'deconv_layers.1.running_var',
                         'deconv_layers.1.num_batches_tracked', 'deconv_layers.3.weight']
    assert names[-2:] == ['final_layer.weight', 'final_layer.bias']
    assert len(names) == 3 * 6 + 2
    (out,) = model.eval()(torch.randn(2, 16, 4, 3))
    assert out.shape == (2, 3, 32, 24)


def test_conv_layers_and_final_layer_arguments():
    model = head(deconv_out_channels=(8,), deconv_kernel_sizes=(3,),
                 conv_out_channels=(6, 5), conv_kernel_sizes=(3, 1),
                 final_layer=dict(kernel_size=3, padding=1))
    assert [n for n in model.state_dict() if n.endswith('weight')] == [
        'deconv_layers.0.weight', 'deconv_layers.1.weight', 'conv_layers.0.weight',
        'conv_layers.1.weight', 'conv_layers.3.weight', 'conv_layers.4.weight',
        'final_layer.weight']
    assert model.conv_layers[0].bias is not None            # MMPose: convs with bias
    assert model.final_layer.weight.shape == (3, 5, 3, 3)
    (out,) = model.eval()(torch.randn(1, 8, 5, 7))
    assert out.shape == (1, 3, 10, 14)
    # final_layer without padding shrinks, as MMPose's does
    (out,) = head(deconv_out_channels=None, final_layer=dict(kernel_size=3))(
        torch.randn(1, 8, 6, 6))
    assert out.shape == (1, 3, 4, 4)


def test_no_final_layer_passes_the_last_layer_through():
    model = head(deconv_out_channels=(3,), deconv_kernel_sizes=(2,), final_layer=None)
    assert isinstance(model.final_layer, nn.Identity)
    (out,) = model(torch.randn(1, 8, 4, 4))
    assert out.shape == (1, 3, 8, 8) and (out >= 0).all()    # ends with the ReLU


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='same length'):
        head(deconv_out_channels=(8, 8), deconv_kernel_sizes=(4,))
    with pytest.raises(ValueError, match='same length'):
        head(conv_out_channels=(8,), conv_kernel_sizes=None)
    with pytest.raises(ValueError, match='kernels must be 2, 3 or 4'):
        head(deconv_out_channels=(8,), deconv_kernel_sizes=(5,))
    with pytest.raises(ValueError, match=r'expected features \[B, 8'):
        head(deconv_out_channels=None)(torch.randn(1, 4, 4, 4))


def test_default_init_is_mmposes():
    model = head(deconv_out_channels=(4,), deconv_kernel_sizes=(4,))
    model.init_weights()
    assert 0 < model.final_layer.weight.std() < 0.003
    assert model.final_layer.bias.eq(0).all()
    assert 0 < model.deconv_layers[0].weight.std() < 0.003
    assert model.deconv_layers[1].weight.eq(1).all()


def test_mmpose_0x_head_keys_are_renamed_on_load():
    """A checkpoint without version metadata (MMPose 0.x ``TopdownHeatmapSimpleHead``)
    kept the intermediate convs and the final conv in ``final_layer.{n}``."""
    model = head(deconv_out_channels=None, conv_out_channels=(4,), conv_kernel_sizes=(1,))
    new = {k: v.clone() for k, v in model.state_dict().items()}
    old = {'final_layer.' + k[len('conv_layers.'):] if k.startswith('conv_layers.')
           else k: v.clone() + 1 for k, v in new.items() if not k.startswith('final_layer')}
    old['final_layer.3.weight'] = new['final_layer.weight'] + 1
    old['final_layer.3.bias'] = new['final_layer.bias'] + 1
    model.load_state_dict(old, strict=True)      # no metadata: version unknown
    torch.testing.assert_close(model.conv_layers[0].weight, new['conv_layers.0.weight'] + 1)
    torch.testing.assert_close(model.final_layer.bias, new['final_layer.bias'] + 1)
    # a version-2 state dict (hpekit's or MMPose 1.x's own) loads unchanged
    current = model.state_dict()
    head(deconv_out_channels=None, conv_out_channels=(4,),
         conv_kernel_sizes=(1,)).load_state_dict(current, strict=True)


def test_loss_and_predict_come_from_the_base_head():
    model = head(deconv_out_channels=(3,), deconv_kernel_sizes=(4,))
    samples = []
    for _ in range(2):
        ds = PoseDataSample(metainfo=dict(center=[15.5, 15.5], bbox_size=[32.0, 32.0],
                                          input_size=(32, 32)))
        ds.gt_heatmaps = torch.rand(3, 8, 8)
        ds.target_weight = torch.ones(3)
        samples.append(ds)
    feats = (torch.randn(2, 8, 4, 4),)
    losses = model.loss(feats, samples)
    assert set(losses) == {'loss_kpt'} and losses['loss_kpt'] > 0
    losses['loss_kpt'].backward()
    assert model.final_layer.weight.grad.abs().sum() > 0
    out = model.eval().predict(feats, samples)
    assert out[0].pred_keypoints.shape == (3, 2) and out[1].keypoint_scores.shape == (3,)


# --------------------------------------------------------------- KeypointMSELoss
def test_mse_loss_accepts_mmposes_arguments():
    loss = MODELS.build(dict(type='KeypointMSELoss', use_target_weight=True,
                             skip_empty_channel=True, loss_weight=2.0))
    assert loss.skip_empty_channel and loss.loss_weight == 2.0


def test_skip_empty_channel_drops_joints_without_ground_truth():
    pred = torch.rand(2, 3, 4, 4)
    target = torch.rand(2, 3, 4, 4)
    target[0, 1] = 0                     # sample 0, joint 1: no visible keypoint
    weight = torch.ones(2, 3)
    plain = MODELS.build(dict(type='KeypointMSELoss'))
    skip = MODELS.build(dict(type='KeypointMSELoss', skip_empty_channel=True))
    masked = weight.clone()
    masked[0, 1] = 0
    # same as a zero weight for that joint; the normaliser still counts it
    torch.testing.assert_close(skip(pred, target, weight), plain(pred, target, masked))
    assert skip(pred, target, weight) < plain(pred, target, weight)
    no_weights = MODELS.build(dict(type='KeypointMSELoss', use_target_weight=False,
                                   skip_empty_channel=True))
    torch.testing.assert_close(no_weights(pred, target), plain(pred, target, masked))
