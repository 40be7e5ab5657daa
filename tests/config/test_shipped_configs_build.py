"""Every shipped config builds the way an mmengine / MMPose user builds it in a script:
``Config.fromfile(path)``, then ``MODELS.build(cfg.model)`` and
``DATASETS.build(cfg.test_dataloader.dataset)`` — no hpekit loader in between, nothing
filled from the config's ``codec``: each part is given it (``decoder=codec``,
``encoder=codec``, ``input_size=codec['input_size']``)."""
import importlib
import os
import os.path as osp
import shutil
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from hpekit.config.checks import CodecNotSetError, ConfigError, check_codec
from hpekit.config.cli_options import set_data_root
from hpekit.registry import DATASETS, MODELS
from hpekit.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]
ALL_CONFIGS = sorted(ROOT.glob('configs/**/*.py'))
# The configs that define a model (the `_base_` fragments define none).
MODEL_CONFIGS = [p for p in ALL_CONFIGS if 'model' in Config.fromfile(str(p))]
IDS = [str(p.relative_to(ROOT / 'configs')) for p in MODEL_CONFIGS]
# Backbones that need an optional package: the model is built only where it imports.
REQUIRES = {'TimmBackbone': 'timm'}

register_all_modules()


def test_every_experiment_config_defines_a_model():
    experiments = [p for p in ALL_CONFIGS if '_base_' not in p.parts]
    assert experiments and MODEL_CONFIGS == experiments


@pytest.fixture(scope='module', params=MODEL_CONFIGS, ids=IDS)
def cfg(request):
    return Config.fromfile(str(request.param))


def _require_backbone_package(cfg):
    package = REQUIRES.get(cfg.model.get('backbone', {}).get('type'))
    if package:
        try:
            importlib.import_module(package)
        except Exception as err:   # noqa: BLE001 - missing, or a mismatched torchvision
            pytest.skip(f'{package} cannot be imported: {err}')


def test_model_builds_from_the_plain_config(cfg):
    """``MODELS.build(Config.fromfile(path).model)``; the model's spec is the codec's."""
    _require_backbone_package(cfg)
    model = MODELS.build(cfg.model)
    decoder, codec = model.head.decoder, cfg.codec
    assert type(decoder).__name__ == codec.type
    spec = model.spec
    if 'input_size' in codec:
        assert spec.input_size == tuple(codec.input_size)
    if 'num_frames' in codec:
        assert spec.num_frames == codec.num_frames


def test_parts_use_the_configs_codec(cfg):
    """Nothing is left for a filler, and no part holds another codec (check_codec)."""
    check_codec(cfg)
    assert cfg.model.head.decoder == cfg.codec


def test_test_dataset_builds_lazily(cfg, tiny_root):
    """``DATASETS.build(cfg.test_dataloader.dataset)`` without reading any file: the
    dataset object and its pipeline, every transform given the codec it needs (a
    metainfo file written with the data is read from tiny data of that layout)."""
    dataset_cfg = cfg.test_dataloader.dataset
    if _writer(dataset_cfg) is _write_animals:
        cfg = Config(cfg.to_dict())
        set_data_root(cfg, tiny_root(dataset_cfg))
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, lazy_init=True))
    assert len(dataset.pipeline.transforms if hasattr(dataset.pipeline, 'transforms')
               else dataset.pipeline) == len(cfg.test_dataloader.dataset.pipeline)


# ------------------------------------------------------------- tiny data, read
def _write_mpii(root):
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    write_mpii_split(root, num_train=1, num_val=1, image_size=(160, 120), progress=False)


def _write_coco(root):
    from hpekit.datasets.synthetic.coco import write_coco_split
    write_coco_split(root, num_train=1, num_val=1, image_size=(160, 120), progress=False)


def _write_h36m_clips(root):
    from hpekit.datasets.synthetic.h36m import write_h36m_split
    write_h36m_split(root, num_train=1, num_valid=1, size=32, progress=False)


def _write_h36m_full(root):
    from hpekit.datasets.synthetic.h36m_full import write_h36m_full
    written = write_h36m_full(root, subjects=('S1', 'S9'), actions=('Walking', ),
                              subactions=1, num_cameras=1, num_frames=12, image_size=48,
                              progress=False)
    # 2D "detections" for the det2d lifting config: the ground-truth 2D joints.
    for split in ('train', 'test'):
        data = np.load(written[split])
        np.savez(osp.join(osp.dirname(written[split]), f'h36m_{split}_det2d.npz'),
                 imgname=data['imgname'], keypoints=data['part'][..., :2])


def _write_animals(root):
    """The custom-keypoint example's layout (docs/custom_keypoints.md): labelme files
    converted into ``root`` (annotations/*.json, metainfo.py), images beside it in
    ``../animals_labelme/``."""
    from hpekit.datasets.converters import convert_to_coco, read_labelme_dir
    from hpekit.datasets.synthetic.custom import write_labelme_dataset
    images = osp.join(osp.dirname(root), 'animals_labelme')
    write_labelme_dataset(images, 4, progress=False)
    shutil.rmtree(root)   # the converter writes a new folder
    convert_to_coco(read_labelme_dir(images), root)


WRITERS = {'MPIIDataset': _write_mpii, 'CocoDataset': _write_coco,
           'H36MClipDataset': _write_h36m_clips, 'H36MVideoDataset': _write_h36m_full,
           'H36MLiftingDataset': _write_h36m_full}


def _writer(dataset_cfg):
    """The writer of a dataset config's layout: a COCO-format set whose metainfo file
    lies with its data (a converter's output) is the custom-keypoint example's."""
    from_file = (dataset_cfg.get('metainfo') or {}).get('from_file', '')
    root = dataset_cfg.get('data_root') or ''
    if root and str(from_file).startswith(root):
        return _write_animals
    return WRITERS[dataset_cfg.type]


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    """dataset config → a folder of tiny synthetic data in its layout, written once."""
    roots = {}

    def get(dataset_cfg):
        writer = _writer(dataset_cfg)
        if writer not in roots:
            folder = tmp_path_factory.mktemp(writer.__name__.strip('_'))
            roots[writer] = str(folder / 'data')
            os.makedirs(roots[writer])
            writer(roots[writer])
        return roots[writer]
    return get


def test_test_dataset_reads_a_sample_of_the_codecs_size(cfg, tiny_root):
    """On tiny synthetic data in the dataset's layout, the test dataset (built from the
    plain config) reads a sample whose input has the codec's size."""
    cfg = Config(cfg.to_dict())   # a copy: set_data_root edits it
    set_data_root(cfg, tiny_root(cfg.test_dataloader.dataset))
    dataset_cfg = cfg.test_dataloader.dataset
    if dataset_cfg.get('bbox_file') and not osp.isfile(dataset_cfg.bbox_file):
        # the synthetic twin names its detections otherwise
        synthetic = osp.join(cfg.data_root, 'person_detection_results',
                             'val2017_detections.json')
        shutil.copy(synthetic, dataset_cfg.bbox_file)
    dataset = DATASETS.build(dataset_cfg)
    inputs = dataset[0]['inputs']
    codec = cfg.codec
    if 'input_size' in codec:
        width, height = codec.input_size
        assert tuple(inputs.shape[-3:]) == (3, height, width)
    if codec.type == 'RootRelativeJoints3D':
        assert inputs.shape[0] == codec.num_frames
    if codec.type == 'VideoPoseLifting':   # receptive field + target frames - 1
        seq_len = dataset_cfg.seq_len
        assert inputs.shape[-2:] == (17, 2)
        assert inputs.reshape(-1, 17, 2).shape[0] == codec.num_frames + seq_len - 1


# ------------------------------------------------------------- missing codec
def test_a_head_without_decoder_fails_naming_the_key():
    cfg = Config.fromfile(str(ROOT / 'configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py'))
    del cfg.model.head['decoder']
    with pytest.raises(CodecNotSetError, match=r'model\.head\.decoder is not set') as err:
        MODELS.build(cfg.model)
    assert 'decoder=codec' in str(err.value)
    # built alone, a heatmap head given decoder=None says the same
    with pytest.raises(CodecNotSetError, match=r'model\.head\.decoder is not set'):
        MODELS.build(dict(cfg.model.head, decoder=None))
    with pytest.raises(ConfigError, match=r'model\.head\.decoder is not set'):
        check_codec(cfg)
