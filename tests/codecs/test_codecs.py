"""Keypoint codecs and the one-codec-per-config rule (hpekit.codecs, codec_config)."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from hpekit.codecs import MSRAHeatmap, RootRelativeJoints3D, build_codec
from hpekit.datasets.transforms import GenerateTarget
from hpekit.config.codec import apply_codec
from hpekit.config.setup import load_config

REPO = Path(__file__).resolve().parents[2]


def test_msra_heatmap_round_trip_to_a_quarter_pixel():
    codec = MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([8, 8], [184, 248], size=(17, 2))
    encoded = codec.encode(keypoints, np.ones(17))
    assert encoded['heatmaps'].shape == (17, 64, 48) and encoded['heatmap_size'] == (48, 64)
    assert encoded['target_weight'].tolist() == [1.0] * 17
    decoded, scores = codec.decode(encoded['heatmaps'])
    assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
    # one heatmap px is 4 input px; argmax + quarter shift lands within 1/2 hm px
    assert np.abs(decoded[0] - keypoints).max() <= 2.0 + 1e-6
    assert np.all(scores > 0.7)


def test_msra_heatmap_weights_and_errors():
    codec = build_codec(dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
                             sigma=1))
    out = codec.encode([[10, 10], [500, 10], [20, 20]], [1, 1, 0])
    assert out['target_weight'].tolist() == [1.0, 0.0, 0.0]   # outside / invisible
    assert not out['heatmaps'][1].any() and not out['heatmaps'][2].any()
    with pytest.raises(ValueError, match='heatmap_size'):
        codec.decode(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match='sigma'):
        MSRAHeatmap(sigma=0)
    with pytest.raises(ValueError, match='input_size'):
        MSRAHeatmap(input_size=(0, 64))
    with pytest.raises(TypeError, match='codec'):
        build_codec('MSRAHeatmap')


def test_root_relative_3d_and_generate_target():
    codec = RootRelativeJoints3D(input_size=(96, 96), num_frames=2, root_index=0)
    joints = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    out = GenerateTarget(encoder=codec)(dict(joints_3d=joints))
    np.testing.assert_allclose(out['joints_3d'], joints - joints[:, :1])
    assert codec.decode(out['joints_3d'])[1] is None
    with pytest.raises(KeyError, match='joints_3d'):
        GenerateTarget(encoder=codec)(dict(frames=None))
    with pytest.raises(ValueError, match='num_frames'):
        RootRelativeJoints3D(num_frames=0)


def test_apply_codec_fills_only_what_a_part_leaves_unset():
    cfg = Config(dict(
        codec=dict(type='MSRAHeatmap', input_size=(128, 96), heatmap_size=(32, 24), sigma=1),
        pipeline=[dict(type='LoadImage'), dict(type='TopdownAffine', augment=False),
                  dict(type='TopdownAffine', input_size=(64, 64)),
                  dict(type='GenerateTarget'), dict(type='NotAPart', input_size=None)],
        model=dict(type='TopDownPoseEstimator', backbone=dict(type='ResNet', depth=18),
                   head=dict(type='DeconvHeatmapHead', num_joints=3))))
    apply_codec(cfg)
    load, affine, explicit, target, unknown = cfg.pipeline
    assert load['input_size'] == (128, 96) and 'decoder' not in load  # JPEG decoder arg kept
    assert affine['input_size'] == (128, 96)
    assert explicit['input_size'] == (64, 64)            # an explicit value wins
    assert target['encoder']['heatmap_size'] == (32, 24)
    assert unknown['input_size'] is None                 # unknown types are left alone
    assert cfg.model.head.decoder['type'] == 'MSRAHeatmap'
    assert 'input_size' not in cfg.model.backbone


def test_a_config_changes_the_size_in_one_place(tmp_path):
    """A child config changing only `codec` changes every crop, target and decoder."""
    child = tmp_path / 'child.py'
    base = REPO / 'configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py'
    child.write_text(f"_base_ = ['{base}']\n"
                     "codec = dict(type='MSRAHeatmap', input_size=(96, 96), "
                     "heatmap_size=(24, 24), sigma=1)\n")
    cfg = load_config(str(child))
    for loader in ('train_dataloader', 'val_dataloader'):
        sizes = {tuple(t['input_size']) for t in cfg[loader].dataset.pipeline
                 if 'input_size' in t}
        assert sizes == {(96, 96)}
    target = [t for t in cfg.train_dataloader.dataset.pipeline
              if t['type'] == 'GenerateTarget'][0]
    assert target['encoder']['heatmap_size'] == (24, 24)
    assert cfg.model.head.decoder['input_size'] == (96, 96)
