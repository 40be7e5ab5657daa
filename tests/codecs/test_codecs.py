"""Keypoint codecs, and the explicit codec of a config: a config writes its ``codec``
once and passes it to every part that uses it (``encoder=codec``, ``decoder=codec``,
``input_size=codec['input_size']``), as MMPose does; nothing is filled from it."""
import copy
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from hpekit.codecs import MSRAHeatmap, RootRelativeJoints3D, build_codec
from hpekit.config.checks import CodecNotSetError, ConfigError, check_codec, check_config
from hpekit.config.setup import load_config
from hpekit.datasets.base import build_pipeline
from hpekit.datasets.transforms import GenerateTarget
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

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


def test_a_config_gets_exactly_what_it_says():
    """Loading fills nothing from ``codec``: a part left without it stays so, and
    building it (or checking the config) fails naming the key to set."""
    register_all_modules()
    cfg = Config(dict(
        codec=dict(type='MSRAHeatmap', input_size=(128, 96), heatmap_size=(32, 24), sigma=1),
        pipeline=[dict(type='LoadImage'), dict(type='TopdownAffine', augment=False),
                  dict(type='TopdownAffine', input_size=(64, 64)),
                  dict(type='GenerateTarget'), dict(type='NotAPart', input_size=None)],
        model=dict(type='TopDownPoseEstimator', backbone=dict(type='ResNet', depth=18),
                   head=dict(type='DeconvHeatmapHead', num_joints=3))))
    raw = copy.deepcopy(cfg.to_dict())
    load, affine, explicit, target, unknown = cfg.pipeline
    assert 'input_size' not in load and 'input_size' not in affine   # nothing filled
    assert explicit['input_size'] == (64, 64)           # what the config says
    assert 'encoder' not in target
    assert unknown['input_size'] is None                # unknown types are left alone
    assert 'decoder' not in cfg.model.head
    assert 'input_size' not in cfg.model.backbone
    # Building names the key to set and what to write there.
    with pytest.raises(CodecNotSetError, match=r"model\.head\.decoder is not set "
                       r"\(DeconvHeatmapHead\): add decoder=codec"):
        MODELS.build(cfg.model)
    with pytest.raises(CodecNotSetError, match=r"pipeline\[1\]: input_size is not set "
                       r"\(TopdownAffine\): add input_size=codec\['input_size'\]"):
        build_pipeline(cfg.pipeline[:2])
    with pytest.raises(CodecNotSetError,
                       match=r'pipeline\[1\]\.encoder is not set \(GenerateTarget\): '
                             r'add encoder=codec'):
        build_pipeline(cfg.pipeline[2:4])   # [explicit TopdownAffine, GenerateTarget]
    # The tools' check (before anything is built) names the key, part by part ...
    loader = dict(batch_size=1, dataset=dict(type='MPIIDataset', data_root='',
                                             pipeline=raw['pipeline'][:4]))
    full = Config(copy.deepcopy(dict(raw, test_dataloader=loader)))
    with pytest.raises(ConfigError, match=r'model\.head\.decoder is not set '
                       r'\(DeconvHeatmapHead\): add decoder=codec'):
        check_config(full, loaders=())
    full.model.head.decoder = full.codec
    with pytest.raises(ConfigError, match=r'test_dataloader\.dataset\.pipeline\[3\]\.'
                       r'encoder is not set \(GenerateTarget\): add encoder=codec'):
        check_config(full, loaders=())
    full.test_dataloader.dataset.pipeline[3].encoder = full.codec
    # ... and, for the parts that may do without, every one left without it or given
    # another size than the codec's, together
    with pytest.raises(ConfigError) as err:
        check_config(full, loaders=())
    message = str(err.value)
    assert "pipeline[0].input_size is not set (LoadImage): add " \
        "input_size=codec['input_size']" in message
    assert 'pipeline[1].input_size is not set (TopdownAffine)' in message
    assert "pipeline[2].input_size is (64, 64), not the config's codec['input_size'] " \
        "((128, 96))" in message
    for i in range(3):
        full.test_dataloader.dataset.pipeline[i].input_size = (128, 96)
    check_config(full, loaders=())
    assert cfg.to_dict() == raw                          # checks change nothing


CONFIG_TEXT = """
_base_ = ['{runtime}', '{data}']
codec = dict(type='MSRAHeatmap', input_size={size}, heatmap_size={heatmap}, sigma=1)
model = dict(
    type='TopDownPoseEstimator',
    backbone=dict(type='StackedHourglass', num_stacks=1, channels=8, num_joints=16,
                  depth=2),
    head=dict(type='MultiStageHeatmapHead', num_joints=16, decoder=codec))
train_pipeline = [
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage', input_size=codec['input_size']),
    dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
"""


def _config_with_codec(tmp_path, size, heatmap):
    path = tmp_path / f'codec_{size[0]}.py'
    path.write_text(CONFIG_TEXT.format(
        runtime=REPO / 'configs/_base_/default_runtime.py',
        data=REPO / 'configs/_base_/data/mpii.py', size=size, heatmap=heatmap))
    return load_config(str(path))


def test_a_config_changes_the_size_in_one_place(tmp_path):
    """A config whose parts are given its codec: changing only the `codec` line
    changes every crop, the target and the decoder (and the built model's input)."""
    register_all_modules()
    for size, heatmap in (((96, 96), (24, 24)), ((64, 48), (16, 12))):
        cfg = _config_with_codec(tmp_path, size, heatmap)
        check_config(cfg, loaders=())
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            sizes = {tuple(t['input_size']) for t in cfg[loader].dataset.pipeline
                     if 'input_size' in t}
            assert sizes == {size}
        target = [t for t in cfg.train_dataloader.dataset.pipeline
                  if t['type'] == 'GenerateTarget'][0]
        assert target['encoder']['heatmap_size'] == heatmap
        built = build_pipeline(cfg.train_dataloader.dataset.pipeline)
        assert built[2].encoder.heatmap_size == heatmap
        assert cfg.model.head.decoder['input_size'] == size
        assert MODELS.build(cfg.model).spec.input_size == size


def test_a_child_that_changes_only_the_codec_is_refused(tmp_path):
    """A base's pipelines and head were computed with the base's codec when it was
    read: a child changing only ``codec`` would train at the old size. The tools'
    check refuses it, naming every part to re-state; re-stated (as
    configs/mpii_hourglass/hg2_synthetic-quick.py does), every part follows."""
    register_all_modules()
    base = REPO / 'configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py'
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{base}']\n"
                     "codec = dict(type='MSRAHeatmap', input_size=(96, 96), "
                     "heatmap_size=(24, 24), sigma=1)\n")
    cfg = load_config(str(child))
    with pytest.raises(ConfigError) as err:
        check_config(cfg, loaders=())
    message = str(err.value)
    assert 'model.head.decoder is ' in message
    assert 'train_dataloader.dataset.pipeline[3].encoder is ' in message
    assert "val_dataloader.dataset.pipeline[1].input_size is (256, 256), not the " \
        "config's codec['input_size'] ((96, 96))" in message
    # ... and --cfg-options codec.input_size=... alone, likewise
    with pytest.raises(ConfigError, match='model.head.decoder is '):
        check_config(load_config(str(base), {'codec.input_size': (96, 96)}), loaders=())

    restated = load_config(str(REPO / 'configs/mpii_hourglass/hg2_synthetic-quick.py'))
    check_config(restated, loaders=())
    assert tuple(restated.codec.input_size) == (128, 128)
    for loader in ('train_dataloader', 'val_dataloader'):
        sizes = {tuple(t['input_size']) for t in restated[loader].dataset.pipeline
                 if 'input_size' in t}
        assert sizes == {(128, 128)}
    target = [t for t in restated.train_dataloader.dataset.pipeline
              if t['type'] == 'GenerateTarget'][0]
    assert target['encoder']['heatmap_size'] == (32, 32)
    assert restated.model.head.decoder['input_size'] == (128, 128)


def test_sharing_the_codec_dict_keeps_parts_apart():
    """``encoder=codec`` and ``decoder=codec`` are one dict in the file but separate
    keys of the loaded config: an option on one part changes that part only."""
    cfg = load_config(str(REPO / 'configs/mpii_hourglass/hg2_synthetic-quick.py'),
                      {'model.head.decoder.sigma': 3})
    assert cfg.model.head.decoder.sigma == 3
    assert cfg.codec.sigma == 1
    assert cfg.train_dataloader.dataset.pipeline[2].encoder.sigma == 1
