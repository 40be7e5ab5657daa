"""Top-down 2D pipeline models: heatmap decoding, loss, heads, preprocessor, estimator."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from hpekit.codecs import MSRAHeatmap
from hpekit.core import affine_matrix, apply_affine, decode_heatmaps
from hpekit.models.heads.heatmap_heads import flip_back_heatmaps
from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample


def build(**cfg):
    return MODELS.build(cfg)


def codec(input_size=(64, 64), heatmap_size=(16, 16), sigma=2.0):
    """The config's keypoint codec: model input (W, H) px → heatmaps (w, h)."""
    return dict(type='MSRAHeatmap', input_size=input_size, heatmap_size=heatmap_size,
                sigma=sigma)


def head_cfg(type, decoder=None, **kwargs):
    """A heatmap head config with its decoder (default: 64 px input, 16 px heatmaps)."""
    return dict(type=type, decoder=decoder or codec(), **kwargs)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def gaussian(width, height, x, y, sigma=2.0):
    """[height, width] Gaussian centred at sub-pixel (x, y), peak 1 at the centre."""
    xs = np.arange(width)[None, :]
    ys = np.arange(height)[:, None]
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2))


def sample(center=(31.5, 31.5), bbox_size=(64.0, 64.0), heatmap_size=(16, 16),
           input_size=(64, 64), flip_indices=None, num_joints=4, gt=True):
    """A PoseDataSample with crop metainfo (as PackPoseInputs packs it) and
    (optionally) random heatmap targets."""
    meta = dict(center=np.array(center, np.float32),
                bbox_size=np.array(bbox_size, np.float32),
                input_size=input_size, heatmap_size=heatmap_size)
    if flip_indices is not None:
        meta['flip_indices'] = list(flip_indices)
    ds = PoseDataSample(metainfo=meta)
    if gt:
        w, h = heatmap_size
        ds.gt_heatmaps = torch.rand(num_joints, h, w)
        ds.target_weight = torch.ones(num_joints)
    return ds


# ---------------------------------------------------------------------- decoding
def test_decode_integer_peak_and_scores():
    maps = np.zeros((2, 3, 8, 10), np.float32)
    maps[0, 0, 3, 4] = 0.9                      # isolated peak: no shift
    maps[0, 1, 5, 2], maps[0, 1, 5, 3] = 1.0, 0.5   # right neighbour higher
    maps[0, 1, 5, 1] = 0.2
    maps[0, 2, 4, 6], maps[0, 2, 3, 6] = 0.7, 0.4   # upper neighbour higher
    maps[1, 0, 0, 0], maps[1, 0, 0, 1] = 0.8, 0.6   # corner: x has one neighbour
    maps[1, 0, 1, 0] = 0.5
    maps[1, 1, 7, 5], maps[1, 1, 7, 4] = 0.6, 0.3   # bottom row, left higher
    maps[1, 2] = -1.0                               # all equal: first pixel
    coords, scores = decode_heatmaps(maps)
    assert coords.shape == (2, 3, 2) and coords.dtype == np.float32
    assert scores.shape == (2, 3) and scores.dtype == np.float32
    np.testing.assert_allclose(coords[0], [[4, 3], [2.25, 5], [6, 3.75]])
    np.testing.assert_allclose(coords[1], [[0, 0], [4.75, 7], [0, 0]])
    np.testing.assert_allclose(scores, [[0.9, 1.0, 0.7], [0.8, 0.6, -1.0]], rtol=1e-6)


def test_decode_accepts_tensors_and_rejects_bad_shapes():
    maps = torch.zeros(1, 1, 5, 5)
    maps[0, 0, 2, 3] = 1
    coords, _ = decode_heatmaps(maps)
    np.testing.assert_allclose(coords[0, 0], [3, 2])
    with pytest.raises(ValueError, match=r'\[N, K, H, W\]'):
        decode_heatmaps(np.zeros((4, 5, 5)))


@pytest.mark.parametrize('x, y', [(20.3, 30.8), (10.0, 12.6), (33.49, 7.51),
                                  (50.1, 50.9), (2.7, 60.2)])
def test_decode_recovers_gaussian_within_quarter_pixel(x, y):
    maps = gaussian(64, 64, x, y)[None, None]
    coords, scores = decode_heatmaps(maps)
    assert np.abs(coords[0, 0] - [x, y]).max() <= 0.25 + 1e-6
    assert 0.8 < scores[0, 0] <= 1.0


# -------------------------------------------------------------------------- loss
def test_keypoint_mse_loss_hand_computed():
    pred = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])   # [1, 2, 1, 2]
    target = torch.zeros_like(pred)
    loss = build(type='KeypointMSELoss')
    # 0.5 · mean over (B, K, H, W) of (w · (p - t))²
    assert loss(pred, target, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(
        0.5 * (1 + 4 + 0 + 0) / 4)
    assert loss(pred, target, torch.tensor([[2.0, 1.0]])).item() == pytest.approx(
        0.5 * (4 + 16 + 9 + 16) / 4)
    # equals HRNet's per-joint form: mean over joints of 0.5 · MSE(w·p, w·t)
    weight = torch.tensor([[0.5, 2.0]])
    per_joint = [0.5 * F.mse_loss(pred[:, k] * weight[:, k], target[:, k] * weight[:, k])
                 for k in range(2)]
    assert loss(pred, target, weight).item() == pytest.approx(sum(per_joint).item() / 2)
    unweighted = build(type='KeypointMSELoss', use_target_weight=False, loss_weight=2.0)
    assert unweighted(pred, target, torch.zeros(1, 2)).item() == pytest.approx(
        2.0 * 0.5 * 30 / 4)
    assert unweighted(pred, target).item() == pytest.approx(7.5)


def test_keypoint_mse_loss_bad_arguments():
    loss = build(type='KeypointMSELoss')
    pred = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match='target_weight'):
        loss(pred, pred)
    with pytest.raises(ValueError, match=r'\[B, K\]'):
        loss(pred, pred, torch.ones(2, 3, 1))
    with pytest.raises(ValueError, match=r'\[B, K, H, W\]'):
        loss(pred, torch.zeros(2, 3, 4, 5), torch.ones(2, 3))


# ------------------------------------------------------------------------ heads
def test_multistage_head_sums_stage_losses():
    head = build(**head_cfg('MultiStageHeatmapHead', num_joints=4))
    stacks = (torch.rand(2, 4, 16, 16), torch.rand(2, 4, 16, 16))
    samples = [sample(), sample()]
    samples[1].target_weight = torch.tensor([1.0, 0.0, 1.0, 0.5])
    target = torch.stack([s.gt_heatmaps for s in samples])
    weight = torch.stack([s.target_weight for s in samples])
    mse = build(type='KeypointMSELoss')
    expected = mse(stacks[0], target, weight) + mse(stacks[1], target, weight)
    losses = head.loss(stacks, samples)
    assert set(losses) == {'loss_kpt'}
    assert torch.allclose(losses['loss_kpt'], expected)
    assert head(stacks) == stacks and num_params(head) == 0


def test_multistage_head_merge_weights():
    stacks = (torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8))
    last = build(**head_cfg('MultiStageHeatmapHead', num_joints=4))
    assert torch.equal(last.predict_heatmaps(stacks), stacks[1])
    merged = build(**head_cfg('MultiStageHeatmapHead', num_joints=4, merge_weights=[0.3, 0.7]))
    assert torch.allclose(merged.predict_heatmaps(stacks),
                          0.3 * stacks[0] + 0.7 * stacks[1])
    with pytest.raises(ValueError, match='2 stacks'):
        build(**head_cfg('MultiStageHeatmapHead', num_joints=4,
                     merge_weights=[0.2, 0.3, 0.5])).predict_heatmaps(stacks)
    for bad in ([0.5, -0.1], []):
        with pytest.raises(ValueError, match='non-negative'):
            build(**head_cfg('MultiStageHeatmapHead', num_joints=4, merge_weights=bad))
    with pytest.raises(ValueError, match=r'\[B, 4, H, W\]'):
        last((torch.rand(1, 3, 8, 8),))


@pytest.mark.parametrize('kernels, final_kernel', [((4, 4), 1), ((3, 2), 3)])
def test_deconv_head_shapes_and_loss(kernels, final_kernel):
    deconv = build(**head_cfg('DeconvHeatmapHead', in_channels=8, num_joints=4,
                          deconv_channels=(6, 5), deconv_kernels=kernels,
                          final_kernel=final_kernel))
    deconv.init_weights()
    assert isinstance(deconv.decoder, MSRAHeatmap) and deconv.decoder.input_size == (64, 64)
    feats = (torch.rand(2, 3, 8, 8), torch.rand(2, 8, 4, 4))   # the last is used
    out = deconv(feats)
    assert isinstance(out, tuple) and len(out) == 1 and out[0].shape == (2, 4, 16, 16)
    assert torch.equal(deconv(feats[1])[0], out[0])
    losses = deconv.loss(feats, [sample(), sample()])
    losses['loss_kpt'].backward()
    assert all(p.grad is not None for p in deconv.parameters())
    assert not any(m.bias is not None for m in deconv.modules()
                   if isinstance(m, nn.ConvTranspose2d))


def test_deconv_head_bad_arguments():
    with pytest.raises(ValueError, match='same length'):
        build(**head_cfg('DeconvHeatmapHead', num_joints=16, deconv_channels=(256,),
                     deconv_kernels=(4, 4)))
    with pytest.raises(ValueError, match='2, 3 or 4'):
        build(**head_cfg('DeconvHeatmapHead', num_joints=16, deconv_kernels=(4, 5, 4)))
    with pytest.raises(ValueError, match='final_kernel'):
        build(**head_cfg('DeconvHeatmapHead', num_joints=16, final_kernel=2))
    with pytest.raises(ValueError, match=r'\[B, 2048, h, w\]'):
        build(**head_cfg('DeconvHeatmapHead', num_joints=16))(torch.rand(1, 512, 4, 4))


@pytest.mark.parametrize('type', ['MultiStageHeatmapHead', 'DeconvHeatmapHead'])
def test_heatmap_heads_need_a_decoder_and_a_joint_count(type):
    """No defaults: the config's codec and the dataset's joint count are required."""
    with pytest.raises(TypeError, match='decoder'):
        build(type=type, num_joints=16)
    with pytest.raises(TypeError, match='num_joints'):
        build(type=type, decoder=codec())
    with pytest.raises(TypeError, match='codec'):
        build(type=type, num_joints=16, decoder=None)
    with pytest.raises(ValueError, match='sigma'):
        build(type=type, num_joints=16, decoder=codec(sigma=0))


def test_simplebaseline_resnet50_parameters_and_heatmap_size():
    model = build(type='TopDownPoseEstimator', backbone=dict(type='ResNet', depth=50),
                  head=head_cfg('DeconvHeatmapHead', in_channels=2048, num_joints=16,
                            decoder=codec((256, 256), (64, 64))))
    assert abs(num_params(model) / 1e6 - 34.0) <= 0.05
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 256, 256))
    assert len(out) == 1 and out[0].shape == (1, 16, 64, 64)


def test_flip_back_swaps_joints_and_optionally_shifts():
    maps = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).view(2, 3, 2, 4)
    indices = torch.tensor([[1, 0, 2], [0, 1, 2]])
    out = flip_back_heatmaps(maps, indices)
    assert torch.equal(out[0, 0], maps[0, 1].flip(-1))
    assert torch.equal(out[0, 1], maps[0, 0].flip(-1))
    assert torch.equal(out[1], maps[1].flip(-1))
    shifted = flip_back_heatmaps(maps, indices, shift=True)
    assert torch.equal(shifted[..., 1:], out[..., :-1])
    assert torch.equal(shifted[..., 0], out[..., 0])


# ------------------------------------------------------------------ preprocessor
def test_image_preprocessor_normalises_on_device():
    pre = build(type='ImageDataPreprocessor')
    images = [torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8) for _ in range(2)]
    out = pre(dict(inputs=images, data_samples=[sample(), sample()]))
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    assert out['inputs'].dtype == torch.float32 and out['inputs'].shape == (2, 3, 8, 8)
    assert torch.allclose(out['inputs'], (torch.stack(images).float() - mean) / std)
    assert len(out['data_samples']) == 2
    stacked = pre(dict(inputs=torch.stack(images), data_samples=None))
    assert torch.equal(stacked['inputs'], out['inputs'])
    assert 'mean' not in pre.state_dict()


@pytest.mark.parametrize('inputs, match', [
    ([torch.zeros(8, 8, 3, dtype=torch.uint8)], r'\[3, H, W\].*\(8, 8, 3\)'),
    (torch.zeros(1, 2, 3, 8, 8, dtype=torch.uint8), r'\[B, 3, H, W\]'),
    ([torch.zeros(3, 8, 8), torch.zeros(3, 9, 9)], 'one shape'),
    ([], 'non-empty'),
])
def test_image_preprocessor_bad_inputs(inputs, match):
    with pytest.raises(ValueError, match=match):
        build(type='ImageDataPreprocessor')(dict(inputs=inputs, data_samples=None))


# --------------------------------------------------------------------- estimator
def tiny_hourglass_model(**kwargs):
    cfg = dict(type='TopDownPoseEstimator',
               backbone=dict(type='StackedHourglass', num_stacks=2, channels=32,
                             num_joints=4, depth=2),
               head=head_cfg('MultiStageHeatmapHead', num_joints=4))
    cfg.update(kwargs)
    return build(**cfg)


def test_estimator_three_modes_on_tiny_hourglass():
    torch.manual_seed(0)
    model = tiny_hourglass_model()
    model.init_weights()
    assert type(model.data_preprocessor).__name__ == 'ImageDataPreprocessor'
    # the spec: the decoder's input size, the head's joint count
    assert model.spec.task == 'topdown2d' and model.spec.input_size == (64, 64)
    assert model.spec.num_keypoints == 4 and model.spec.input_shape(2) == (2, 3, 64, 64)
    inputs = torch.randn(2, 3, 64, 64)
    out = model(inputs, mode='tensor')
    assert len(out) == 2 and all(o.shape == (2, 4, 16, 16) for o in out)

    samples = [sample(flip_indices=[1, 0, 3, 2]) for _ in range(2)]
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_kpt'}
    losses['loss_kpt'].backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name

    model.eval()
    preds = model(inputs, samples, mode='predict')
    assert len(preds) == 2
    assert preds[0].pred_keypoints.shape == (4, 2)
    assert preds[0].pred_keypoints.dtype == np.float32
    assert preds[0].keypoint_scores.shape == (4,)
    assert 'pred_heatmaps' not in preds[0]
    with pytest.raises(ValueError, match='mode'):
        model(inputs, mode='bogus')


def test_estimator_train_and_val_step_from_uint8():
    model = tiny_hourglass_model(test_cfg=dict(flip_test=False))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)]
    before = copy.deepcopy(model.backbone.heads[1].weight.detach())
    log_vars = model.train_step(dict(inputs=images, data_samples=[sample(), sample()]),
                                optim)
    assert 'loss' in log_vars and 'loss_kpt' in log_vars
    assert not torch.equal(before, model.backbone.heads[1].weight)
    preds = model.val_step(dict(inputs=images, data_samples=[sample(), sample()]))
    assert preds[1].pred_keypoints.shape == (4, 2)


class FixedHeatmaps(nn.Module):
    """Backbone stand-in: returns the same heatmaps [K, H, W] for every input."""

    def __init__(self, maps):
        super().__init__()
        self.register_buffer('maps', torch.as_tensor(maps, dtype=torch.float32))

    def forward(self, x):
        return (self.maps.expand(x.shape[0], *self.maps.shape).clone(),)


def test_predictions_mapped_back_to_image_pixels():
    maps = np.zeros((2, 64, 64), np.float32)
    maps[0, 20, 10] = 0.9                        # integer peak
    maps[1, 5, 40], maps[1, 5, 41] = 0.8, 0.4    # quarter shift to the right
    model = build(type='TopDownPoseEstimator', backbone=FixedHeatmaps(maps),
                  head=head_cfg('MultiStageHeatmapHead', num_joints=2,
                            decoder=codec((256, 256), (64, 64))),
                  test_cfg=dict(flip_test=False, output_heatmaps=True))
    ds = sample(center=(100, 200), bbox_size=(128, 256), heatmap_size=(64, 64),
                input_size=(256, 256), gt=False)
    pred = model(torch.zeros(1, 3, 256, 256), [ds], mode='predict')[0]
    # x_img = cx + (x_hm - 31.5) · 128/64, y_img = cy + (y_hm - 31.5) · 256/64
    np.testing.assert_allclose(pred.pred_keypoints, [[57.0, 154.0], [117.5, 94.0]],
                               atol=1e-4)
    np.testing.assert_allclose(pred.keypoint_scores, [0.9, 0.8], rtol=1e-6)
    assert pred.pred_heatmaps.shape == (2, 64, 64)


def test_predictions_invert_the_target_affine():
    """Image keypoint → input px (TopdownAffine's affine) → the codec's Gaussian
    targets → the head's decoding → image px."""
    center, size = np.array([320.0, 240.0]), np.array([300.0, 300.0])
    joints = np.array([[250.3, 170.9], [401.7, 333.2], [321.1, 239.4]])
    target_codec = codec((256, 256), (64, 64))
    points = apply_affine(joints, affine_matrix(center, size, (256, 256)))
    maps = MSRAHeatmap(**{k: v for k, v in target_codec.items() if k != 'type'}).encode(
        points, np.ones(3))['heatmaps']
    model = build(type='TopDownPoseEstimator', backbone=FixedHeatmaps(maps),
                  head=head_cfg('MultiStageHeatmapHead', num_joints=3, decoder=target_codec),
                  test_cfg=dict(flip_test=False))
    ds = sample(center=center, bbox_size=size, heatmap_size=(64, 64),
                input_size=(256, 256), gt=False)
    pred = model(torch.zeros(1, 3, 256, 256), [ds], mode='predict')[0]
    px_per_heatmap_px = 300 / 64
    assert np.abs(pred.pred_keypoints - joints).max() <= 0.25 * px_per_heatmap_px + 1e-3


class MirrorBlur(nn.Module):
    """Exactly flip-equivariant heatmaps of the red channel of a [B, 3, 64, 64] image.

    4×4 average pool → 16×16, then joint 0 keeps the left half, joint 1 the right
    half (so they swap under a flip: flip_indices [1, 0, 2]), joint 2 everything;
    each blurred by a symmetric 3×3 kernel.
    """

    def __init__(self):
        super().__init__()
        kernel = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer('kernel', (kernel[:, None] * kernel[None, :] / 16)[None, None])
        left = torch.zeros(16)
        left[:8] = 1
        self.register_buffer('masks', torch.stack([left, left.flip(0), torch.ones(16)]))

    def forward(self, x):
        pooled = F.avg_pool2d(x[:, :1], 4)                      # [B, 1, 16, 16]
        maps = pooled * self.masks[None, :, None, :]             # [B, 3, 16, 16]
        blurred = F.conv2d(maps.flatten(0, 1)[:, None], self.kernel, padding=1)
        return (blurred.view_as(maps),)


def dot_image():
    image = torch.zeros(1, 3, 64, 64)
    image[0, 0, 13:15, 9:15] = 1.0     # left: a bar straddling pooled cells
    image[0, 0, 40:46, 50:53] = 1.0    # right
    image[0, 0, 30:33, 22:25] = 0.5
    return image


def test_flip_test_is_exact_without_shift():
    image = dot_image()
    backbone = MirrorBlur()
    flipped_back = torch.flip(backbone(torch.flip(image, dims=[3]))[0], dims=[3])
    assert torch.allclose(flipped_back[:, [1, 0, 2]], backbone(image)[0], atol=1e-6)

    def predict(flip_indices=(1, 0, 2), **test_cfg):
        model = build(type='TopDownPoseEstimator', backbone=MirrorBlur(),
                      head=head_cfg('MultiStageHeatmapHead', num_joints=3),
                      test_cfg=test_cfg)
        ds = sample(flip_indices=flip_indices, gt=False)
        return model(image, [ds], mode='predict')[0]

    plain = predict(flip_test=False)
    flipped = predict(flip_test=True)
    np.testing.assert_allclose(flipped.pred_keypoints, plain.pred_keypoints, atol=1e-5)
    np.testing.assert_allclose(flipped.keypoint_scores, plain.keypoint_scores, atol=1e-6)
    # HRNet's one-pixel shift would bias hpekit's exactly aligned heatmaps
    shifted = predict(flip_test=True, shift_heatmap=True)
    assert not np.allclose(shifted.pred_keypoints, plain.pred_keypoints, atol=1e-3)
    # and without the left/right swap the flipped joints land on the wrong side
    unswapped = predict(flip_indices=(0, 1, 2), flip_test=True)
    assert not np.allclose(unswapped.pred_keypoints, plain.pred_keypoints, atol=1e-3)


def test_flip_indices_fallback_to_test_cfg_and_errors():
    image = dot_image()
    kwargs = dict(type='TopDownPoseEstimator', backbone=MirrorBlur(),
                  head=head_cfg('MultiStageHeatmapHead', num_joints=3))
    model = build(**kwargs, test_cfg=dict(flip_indices=[1, 0, 2]))
    pred = model(image, [sample(gt=False)], mode='predict')[0]
    assert pred.pred_keypoints.shape == (3, 2)
    with pytest.raises(ValueError, match='flip_indices'):
        build(**kwargs)(image, [sample(gt=False)], mode='predict')
    with pytest.raises(ValueError, match='permutation'):
        build(**kwargs)(image, [sample(flip_indices=[0, 0, 2], gt=False)], mode='predict')
    with pytest.raises(ValueError, match='center'):
        build(**kwargs, test_cfg=dict(flip_test=False))(image, mode='predict')
    # a crop of another size than the decoder's input
    with pytest.raises(ValueError, match='input_size'):
        build(**kwargs, test_cfg=dict(flip_test=False))(
            image, [sample(input_size=(256, 256), gt=False)], mode='predict')
    # heatmaps of another size than the decoder's heatmap_size
    wrong = dict(kwargs, head=head_cfg('MultiStageHeatmapHead', num_joints=3,
                                   decoder=codec((64, 64), (32, 32))))
    with pytest.raises(ValueError, match='heatmap_size'):
        build(**wrong, test_cfg=dict(flip_test=False))(
            image, [sample(gt=False)], mode='predict')
    with pytest.raises(ValueError, match='unknown test_cfg'):
        build(**kwargs, test_cfg=dict(flip=True))
