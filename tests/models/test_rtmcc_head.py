"""RTMCCHead (RTMPose's SimCC head): shapes, MMPose's parameter names and shapes, the
same outputs / loss / gradients as MMPose 1.3.2 on its weights, the loss's targets
from data samples, flip-back and decoding into image pixels.

MMPose's side: ``tests/fixtures/mmpose/rtmpose_extra.npz`` (``make_rtmpose_extra.py``)
and the model fixtures ``rtmpose_t`` / ``rtmpose_m`` (``make_fixtures.py``: config,
checkpoint and the ``mode='tensor'`` outputs of MMPose's model).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from hpekit.codecs import build_codec
from hpekit.config.checks import CodecNotSetError
from hpekit.core import affine_matrix, apply_affine, invert_affine
from hpekit.models.heads.rtmcc_head import flip_back_vectors
from hpekit.registry import KEYPOINT_CODECS, MODELS
from hpekit.structures import PoseDataSample
from hpekit.utils import register_all_modules

register_all_modules()

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose'
EXTRA = FIXTURES / 'rtmpose_extra.npz'
HAS_SIMCC_CODEC = 'SimCCLabel' in KEYPOINT_CODECS
needs_codec = pytest.mark.skipif(not HAS_SIMCC_CODEC,
                                 reason="hpekit's SimCCLabel codec is not registered yet")

GAU = dict(hidden_dims=32, s=16, expansion_factor=2, dropout_rate=0., drop_path=0.,
           act_fn='SiLU', use_rel_bias=False, pos_enc=False)


@pytest.fixture(scope='module')
def extra():
    if not EXTRA.exists():
        pytest.skip(f'{EXTRA} is missing; run make_rtmpose_extra.py in the MMPose env')
    return np.load(EXTRA)


def head(**kwargs):
    cfg = dict(type='RTMCCHead', in_channels=16, out_channels=4, input_size=(48, 64),
               in_featuremap_size=(2, 3), final_layer_kernel_size=3, gau_cfg=GAU)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def simcc_codec(input_size=(48, 64)):
    return dict(type='SimCCLabel', input_size=input_size, sigma=(4.9, 5.66),
                simcc_split_ratio=2.0, normalize=False, use_dark=False)


# ------------------------------------------------------------------ network
def test_forward_shapes_and_inputs():
    model = head().eval()
    feats = torch.randn(2, 16, 3, 2)
    x, y = model((torch.randn(2, 8, 6, 4), feats))   # the last map is used
    assert x.shape == (2, 4, 96) and y.shape == (2, 4, 128)
    x2, y2 = model(feats)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert model.num_joints == 4
    assert model.output_names == ('simcc_x', 'simcc_y')
    with pytest.raises(ValueError, match=r'\[B, 16, h, w\]'):
        model(torch.randn(2, 16, 4, 4))
    with pytest.raises(ValueError, match='in_channels must be an int'):
        head(in_channels=[16, 32])
    with pytest.raises(ValueError, match='unknown gau_cfg'):
        head(gau_cfg=dict(GAU, hidden=8))


def test_split_ratio_sets_the_bins():
    model = head(simcc_split_ratio=1.5)
    x, y = model(torch.randn(1, 16, 3, 2))
    assert x.shape[-1] == int(48 * 1.5) and y.shape[-1] == int(64 * 1.5)


@pytest.mark.parametrize('size', ['t', 's', 'm', 'l'])
def test_state_dict_names_and_shapes_match_mmpose(size, extra):
    cfg = json.loads(str(extra[f'config_{size}']))['head']
    cfg.pop('decoder')
    model = MODELS.build(cfg)
    want = {k[len('head.'):]: tuple(int(s) for s in shape if s >= 0)
            for k, shape in zip(extra[f'keys_{size}'], extra[f'shapes_{size}'])
            if k.startswith('head.')}
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == want


def test_gau_branches_match_mmpose(extra):
    """Relative-position bias, rotary embedding and ReLU: forward, loss, gradients."""
    cfg = json.loads(str(extra['gau_config']))
    model = MODELS.build(cfg)
    state = {k[4:]: torch.from_numpy(extra[k]) for k in extra.files if k.startswith('gau/')}
    model.load_state_dict(state, strict=True)
    feats = (torch.from_numpy(extra['gau_feats']),)
    with torch.no_grad():
        x, y = model.eval()(feats)
    for got, key in ((x, 'gau_simcc_x'), (y, 'gau_simcc_y')):
        want = torch.from_numpy(extra[key])
        torch.testing.assert_close(got, want, rtol=0,
                                   atol=1e-5 * float(want.max() - want.min()))
    samples = []
    for i in range(2):
        ds = PoseDataSample()
        ds.keypoint_x_labels = torch.from_numpy(extra['gau_target_x'][i])
        ds.keypoint_y_labels = torch.from_numpy(extra['gau_target_y'][i])
        ds.keypoint_weights = torch.from_numpy(extra['gau_weights'][i])
        samples.append(ds)
    loss = model.train().loss(feats, samples)['loss_kpt']
    assert loss.item() == pytest.approx(float(extra['gau_loss']), rel=1e-5)
    loss.backward()
    for name, param in model.named_parameters():
        want = torch.from_numpy(extra[f'gau_grad/{name}'])
        torch.testing.assert_close(param.grad, want, rtol=1e-4,
                                   atol=1e-5 * float(want.abs().max()))


def _mmpose_config(name):
    path = FIXTURES / f'{name}.py'
    if not path.exists() or not (FIXTURES / f'{name}.pth').exists():
        pytest.skip(f'MMPose fixture {name} is missing (tests/fixtures/mmpose)')
    return Config.fromfile(str(path))


@pytest.mark.parametrize('name', ['rtmpose_t', 'rtmpose_m'])
def test_published_layout_checkpoint_gives_mmposes_outputs(name):
    """Backbone and head built from MMPose's config dicts, MMPose's checkpoint loaded
    strictly: the same (simcc_x, simcc_y) as MMPose's model."""
    cfg = _mmpose_config(name)
    backbone = cfg.model.backbone.to_dict()
    backbone.pop('_scope_', None)
    backbone.pop('init_cfg', None)
    head_cfg = cfg.model.head.to_dict()
    if not HAS_SIMCC_CODEC:
        head_cfg.pop('decoder')
    model = torch.nn.ModuleDict(dict(backbone=MODELS.build(backbone),
                                     head=MODELS.build(head_cfg)))
    checkpoint = torch.load(FIXTURES / f'{name}.pth', map_location='cpu')
    state = {k: v for k, v in checkpoint['state_dict'].items()
             if k.startswith(('backbone.', 'head.'))}
    assert set(checkpoint['state_dict']) - set(state) <= {
        k for k in checkpoint['state_dict'] if k.startswith('data_preprocessor.')}
    model.load_state_dict(state, strict=True)
    arrays = np.load(FIXTURES / f'{name}.npz')
    with torch.no_grad():
        model.eval()
        x, y = model['head'](model['backbone'](torch.from_numpy(arrays['inputs'])))
    for got, key in ((x, 'simcc_x'), (y, 'simcc_y')):
        want = torch.from_numpy(arrays[key])
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=0,
                                   atol=1e-4 * float(want.max() - want.min()))


# --------------------------------------------------------------------- loss
def _targets(rng, k=4, wx=96, wy=128):
    x = rng.random((k, wx)).astype(np.float32)
    y = rng.random((k, wy)).astype(np.float32)
    return x, y, rng.random(k).astype(np.float32)


def test_loss_reads_the_samples_targets():
    torch.manual_seed(0)
    model = head(loss=dict(type='KLDiscretLoss', beta=10., label_softmax=True))
    rng = np.random.default_rng(0)
    targets = [_targets(rng) for _ in range(2)]
    samples = []
    for i, (x, y, w) in enumerate(targets):
        ds = PoseDataSample()
        if i == 0:   # hpekit's per-sample layout and name
            ds.keypoint_x_labels, ds.keypoint_y_labels = torch.from_numpy(x), y
            ds.target_weight = w
        else:        # MMPose's, with an instance axis of 1
            ds.keypoint_x_labels, ds.keypoint_y_labels = x[None], y[None]
            ds.keypoint_weights = w[None]
        samples.append(ds)
    feats = (torch.randn(2, 16, 3, 2),)
    losses = model.loss(feats, samples)
    assert set(losses) == {'loss_kpt'}
    pred = model(feats)
    want = model.loss_module(pred, (torch.from_numpy(np.stack([t[0] for t in targets])),
                                    torch.from_numpy(np.stack([t[1] for t in targets]))),
                             torch.from_numpy(np.stack([t[2] for t in targets])))
    assert losses['loss_kpt'].item() == pytest.approx(want.item(), rel=1e-6)
    losses['loss_kpt'].backward()
    assert model.cls_x.weight.grad.abs().sum() > 0


def test_loss_refuses_missing_or_misshapen_targets():
    model = head()
    x, y, w = _targets(np.random.default_rng(1))
    ds = PoseDataSample()
    ds.keypoint_x_labels, ds.keypoint_y_labels = x, y
    with pytest.raises(ValueError, match='target_weight or keypoint_weights'):
        model.loss(torch.randn(1, 16, 3, 2), [ds])
    ds.target_weight = w
    ds.keypoint_y_labels = y[:, :-1]
    with pytest.raises(ValueError, match=r'keypoint_y_labels must have shape \(4, 128\)'):
        model.loss(torch.randn(1, 16, 3, 2), [ds])


@needs_codec
def test_loss_takes_the_codecs_targets():
    """SimCCLabel's encode output, set on the samples as PackPoseInputs would: the
    loss is the loss module's on the stacked targets."""
    codec = build_codec(simcc_codec())
    model = head(loss=dict(type='KLDiscretLoss', beta=10., label_softmax=True))
    keypoints = np.array([[10.2, 20.7], [30.0, 5.5], [47.0, 63.0], [-30.0, 10.0]])
    encoded = codec.encode(keypoints, np.array([1, 1, 0, 1], np.float32))
    ds = PoseDataSample()
    for key, value in encoded.items():
        ds.set_field(torch.from_numpy(np.asarray(value, np.float32)), key)
    feats = torch.randn(1, 16, 3, 2)
    got = model.loss(feats, [ds])['loss_kpt']
    want = model.loss_module(model(feats),
                             (ds.keypoint_x_labels[None], ds.keypoint_y_labels[None]),
                             ds.target_weight[None])
    assert got.item() == pytest.approx(want.item(), rel=1e-6)


# ------------------------------------------------------------ flip, predict
def test_flip_back_vectors_is_mmposes_flip():
    x, y = torch.randn(2, 4, 7), torch.randn(2, 4, 5)
    order = [1, 0, 3, 2]
    fx, fy = flip_back_vectors(x, y, torch.tensor([order, order]))
    # MMPose's flip_vectors: joints permuted, x reversed along the bins, y not
    assert torch.equal(fx, x[:, order].flip(-1))
    assert torch.equal(fy, y[:, order])
    back_x, back_y = flip_back_vectors(fx, fy, torch.tensor([order, order]))
    assert torch.equal(back_x, x) and torch.equal(back_y, y)


def test_predict_without_decoder_names_the_config_key():
    model = head()
    with pytest.raises(CodecNotSetError, match='model.head.decoder'):
        model.predict(torch.randn(1, 16, 3, 2), [PoseDataSample()])


def _grid(model):
    """The crop grid that goes with the head's decoder (hpekit's default: 'edges')."""
    return getattr(model.decoder, 'grid', None) or 'edges'


def _crop_sample(center, size, grid='edges', flip_indices=(1, 0, 3, 2)):
    return PoseDataSample(metainfo=dict(center=np.array(center, np.float32),
                                        bbox_size=np.array(size, np.float32),
                                        input_size=(48, 64), crop_grid=grid,
                                        flip_indices=list(flip_indices)))


def _peaked(bins, length):
    """[1, K, length] vectors with one sharp peak per joint."""
    out = torch.full((1, len(bins), length), -10.0)
    for k, b in enumerate(bins):
        out[0, k, b] = 10.0
    return out


@needs_codec
def test_decode_outputs_maps_to_image_pixels():
    model = head(decoder=simcc_codec())
    bins_x, bins_y = [10, 40, 61, 95], [0, 33, 90, 127]
    outputs = (_peaked(bins_x, 96), _peaked(bins_y, 128))
    sample = _crop_sample((100.0, 50.0), (60.0, 80.0), _grid(model))
    (out,) = model.decode_outputs(outputs, [sample])
    input_px = np.stack([np.array(bins_x) / 2.0, np.array(bins_y) / 2.0], axis=1)
    matrix = invert_affine(affine_matrix(np.array([100.0, 50.0]), np.array([60.0, 80.0]),
                                         (48, 64), grid=_grid(model)))
    np.testing.assert_allclose(out.pred_keypoints, apply_affine(input_px, matrix),
                               atol=1e-4)
    assert out.pred_keypoints.dtype == np.float32 and out.pred_keypoints.shape == (4, 2)
    assert out.keypoint_scores.shape == (4,)


@needs_codec
def test_flip_test_averages_the_flipped_back_vectors():
    torch.manual_seed(0)
    model = head(decoder=simcc_codec()).eval()
    feats = torch.randn(2, 16, 3, 2)
    flipped_feats = torch.randn(2, 16, 3, 2)
    samples = [_crop_sample((100.0, 50.0), (60.0, 80.0), _grid(model)) for _ in range(2)]
    got = model.predict(feats, samples, dict(output_heatmaps=True),
                        flipped_feats=flipped_feats)
    x, y = model(feats)
    fx, fy = model(flipped_feats)
    order = [1, 0, 3, 2]
    avg = ((x + fx[:, order].flip(-1)) * 0.5, (y + fy[:, order]) * 0.5)
    want = model.decode_outputs(avg, [_crop_sample((100.0, 50.0), (60.0, 80.0), _grid(model))
                                      for _ in range(2)])
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.pred_keypoints, b.pred_keypoints)
        np.testing.assert_array_equal(a.keypoint_scores, b.keypoint_scores)
    np.testing.assert_array_equal(got[0].pred_simcc_x, avg[0][0].detach().numpy())


@needs_codec
def test_decoded_visibility_is_stored():
    model = head(decoder=dict(simcc_codec(), decode_visibility=True))
    outputs = (_peaked([10, 40, 61, 95], 96), _peaked([0, 33, 90, 127], 128))
    sample = _crop_sample((100.0, 50.0), (60.0, 80.0), _grid(model))
    (out,) = model.decode_outputs(outputs, [sample])
    assert out.keypoint_scores.shape == (4,) and out.pred_keypoints_visible.shape == (4,)
