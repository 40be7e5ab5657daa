"""MMPose 1.x configs are read as they are: translated into the native hpekit config
they mean, or refused before any work naming the key and the nearest hpekit part."""
import copy

import pytest
from mmengine.config import Config

from hpekit.config.checks import ConfigError, check_config
from hpekit.config.files import find_config_file
from hpekit.config.mmpose import MMPoseConfigError, from_mmpose, is_mmpose_config
from hpekit.config.setup import load_config

CODEC = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
URL = 'https://download.openmmlab.com/mmpose/pretrain_models/hrnet_w32-36af842e.pth'


def _pipelines(codec):
    train = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
             dict(type='RandomFlip', direction='horizontal'), dict(type='RandomHalfBody'),
             dict(type='RandomBBoxTransform', scale_factor=[0.6, 1.4], rotate_factor=80),
             dict(type='TopdownAffine', input_size=codec['input_size']),
             dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')]
    val = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
           dict(type='TopdownAffine', input_size=codec['input_size']),
           dict(type='PackPoseInputs')]
    return train, val


def mmpose_config(codec=CODEC):
    """An MMPose 1.x HRNet config, as MMPose's files give it after inheritance."""
    codec = copy.deepcopy(codec)
    train, val = _pipelines(codec)
    loader = dict(batch_size=4, num_workers=0, dataset=dict(
        type='CocoDataset', data_root='data/coco/', data_mode='topdown',
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'), test_mode=True, pipeline=val))
    return dict(
        default_scope='mmpose', codec=codec,
        model=dict(
            type='TopdownPoseEstimator',
            data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                                   std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
            backbone=dict(type='HRNet', in_channels=3, extra=dict(),
                          init_cfg=dict(type='Pretrained', checkpoint=URL)),
            head=dict(type='HeatmapHead', in_channels=32, out_channels=17,
                      deconv_out_channels=None,
                      loss=dict(type='KeypointMSELoss', use_target_weight=True),
                      decoder=codec),
            test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True)),
        train_dataloader=dict(loader, dataset=dict(loader['dataset'], pipeline=train,
                                                   test_mode=False)),
        val_dataloader=loader, test_dataloader=loader,
        val_evaluator=dict(type='CocoMetric',
                           ann_file='data/coco/annotations/person_keypoints_val2017.json'),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=10,
                                           save_best='coco/AP', rule='greater'),
                           visualization=dict(type='PoseVisualizationHook', enable=False)),
        custom_hooks=[dict(type='SyncBuffersHook')],
        train_cfg=dict(by_epoch=True, max_epochs=210, val_interval=10),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=5e-4)))


@pytest.fixture(scope='module')
def runtime():
    return Config.fromfile(find_config_file('_base_/default_runtime.py'))


def translate(cfg, runtime):
    return from_mmpose(Config(cfg), 'mmpose_cfg.py', runtime)


def test_an_mmpose_config_is_recognised_by_its_scope():
    assert is_mmpose_config(Config(mmpose_config()))
    assert not is_mmpose_config(Config(dict(default_scope='hpekit')))


def test_model_keeps_mmpose_parts_with_mmpose_geometry(runtime):
    cfg, notes = translate(mmpose_config(), runtime)
    assert cfg.default_scope == 'hpekit'
    assert cfg.model.type == 'TopDownPoseEstimator'
    assert cfg.model.data_preprocessor == dict(type='ImageDataPreprocessor',
                                               mean=[123.675, 116.28, 103.53],
                                               std=[58.395, 57.12, 57.375])
    assert cfg.model.head.decoder == dict(CODEC, grid='origin')
    assert cfg.codec.grid == 'origin'
    assert cfg.model.test_cfg == dict(flip_test=True, shift_heatmap=True)
    # the URL cannot be downloaded: removed, and said so
    assert 'init_cfg' not in cfg.model.backbone
    assert any(URL in note for note in notes)


def test_test_pipeline_crops_as_mmpose_and_keeps_metric_fields(runtime):
    cfg, _ = translate(mmpose_config(), runtime)
    steps = cfg.val_dataloader.dataset.pipeline
    assert [s['type'] for s in steps] == ['LoadImage', 'TopdownAffine', 'PackPoseInputs']
    assert steps[0]['reduce_decode'] is False      # the full image, as MMPose decodes it
    assert steps[0]['input_size'] == (192, 256)
    assert steps[1]['grid'] == 'origin' and steps[1]['augment'] is False
    assert {'id', 'img_id', 'bbox_score'} <= set(steps[2]['meta_keys'])
    assert cfg.val_dataloader.dataset.input_size == (192, 256)
    assert 'data_mode' not in cfg.val_dataloader.dataset


def test_udp_crop_uses_the_corner_grid(runtime):
    udp = dict(type='UDPHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    src = mmpose_config(udp)
    for loader in ('val_dataloader', 'train_dataloader'):
        for step in src[loader]['dataset']['pipeline']:
            if step['type'] == 'TopdownAffine':
                step['use_udp'] = True
    cfg, _ = translate(src, runtime)
    affine = [s for s in cfg.val_dataloader.dataset.pipeline if s['type'] == 'TopdownAffine']
    assert affine[0]['grid'] == 'corners'
    assert cfg.model.head.decoder == udp


def test_train_pipeline_augmentation_maps_onto_hpekits_crop(runtime):
    cfg, notes = translate(mmpose_config(), runtime)
    steps = cfg.train_dataloader.dataset.pipeline
    assert [s['type'] for s in steps] == ['RandomHalfBody', 'LoadImage', 'TopdownAffine',
                                          'GenerateTarget', 'PackPoseInputs']
    affine = steps[2]
    assert affine['scale_factor'] == pytest.approx(0.4)
    assert (affine['rotate_factor'], affine['flip_prob'], affine['grid']) == (80, 0.5, 'origin')
    assert steps[3]['encoder'] == dict(CODEC, grid='origin')
    assert any('shift_factor' in note for note in notes)


def test_runtime_is_hpekits_with_mmposes_checkpoint_choices(runtime):
    cfg, _ = translate(mmpose_config(), runtime)
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    assert (cfg.default_hooks.checkpoint.interval, cfg.default_hooks.checkpoint.save_best) == \
        (10, 'coco/AP')
    assert 'visualization' not in cfg.default_hooks
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks[0] == 'SyncBuffersHook' and 'HpekitSetupHook' in hooks[1:]   # MMPose's index
    assert cfg.train_cfg.max_epochs == 210 and cfg.optim_wrapper.optimizer.lr == 5e-4


@pytest.mark.parametrize('path, value, key, nearest', [
    (('model', 'backbone', 'type'), 'HRNetV2', 'model.backbone.type', 'HRNet'),
    (('model', 'head', 'type'), 'HeatmapHeadX', 'model.head.type', 'HeatmapHead'),
    (('codec', 'type'), 'MSRAHeatmapX', 'codec.type', 'MSRAHeatmap'),
    (('val_evaluator', 'type'), 'CocoMetricX', 'val_evaluator.type', 'CocoMetric'),
])
def test_unknown_part_names_key_and_nearest_hpekit_part(runtime, path, value, key, nearest):
    src = mmpose_config()
    node = src
    for name in path[:-1]:
        node = node[name]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as err:
        cfg, _ = translate(src, runtime)     # the model: at once; a metric: when needed
        check_config(cfg, loaders=('val_dataloader', ))
    text = str(err.value)
    assert 'mmpose_cfg.py' in text and key in text and repr(value) in text
    assert f'nearest hpekit part is {nearest!r}' in text


def test_unknown_transform_names_its_place(runtime):
    src = mmpose_config()
    src['val_dataloader']['dataset']['pipeline'].insert(1, dict(type='RandomGridMask'))
    cfg, _ = translate(src, runtime)
    with pytest.raises(ConfigError, match=r'val_dataloader\.dataset\.pipeline\[1\]'):
        check_config(cfg, loaders=('val_dataloader', ))


def test_bgr_model_input_is_refused(runtime):
    src = mmpose_config()
    src['model']['data_preprocessor']['bgr_to_rgb'] = False
    with pytest.raises(MMPoseConfigError, match='bgr_to_rgb'):
        translate(src, runtime)


def test_asymmetric_box_scale_is_refused_not_bent(runtime):
    src = mmpose_config()
    src['train_dataloader']['dataset']['pipeline'][4]['scale_factor'] = [0.5, 1.2]
    cfg, _ = translate(src, runtime)
    with pytest.raises(ConfigError, match='symmetric'):
        check_config(cfg, loaders=('train_dataloader', ))


def test_the_translation_leaves_its_input_alone(runtime):
    src = Config(mmpose_config())
    before = copy.deepcopy(src.to_dict())
    from_mmpose(src, 'x.py', runtime)
    assert src.to_dict() == before


def test_load_config_translates_an_mmpose_file(tmp_path):
    path = tmp_path / 'td-hm_hrnet_coco.py'
    Config(mmpose_config()).dump(str(path))
    cfg = load_config(str(path))
    assert cfg.default_scope == 'hpekit' and cfg.model.type == 'TopDownPoseEstimator'
    native = load_config('configs/coco/hg2_synthetic-quick.py')
    assert native.model.head.decoder.get('grid', 'edges') == 'edges'


MPII_TO_COMBINED = [(0, 16), (1, 14), (2, 12), (3, 11), (4, 13), (5, 15), (6, 17), (7, 18),
                    (8, 19), (9, 20), (10, 10), (11, 8), (12, 6), (13, 5), (14, 7), (15, 9)]


def combined_config(second=None):
    """mmpose_config() training on MMPose's CombinedDataset of two COCO-format sets (or
    ``second`` as the second part), as MMPose's mixed-dataset configs write it."""
    src = mmpose_config()
    train = src['train_dataloader']['dataset']
    parts = [dict(type='CocoDataset', data_root='data/coco/', data_mode='topdown',
                  ann_file='annotations/person_keypoints_train2017.json',
                  data_prefix=dict(img='train2017/'),
                  pipeline=[dict(type='KeypointConverter', num_keypoints=21,
                                 mapping=[(i, i) for i in range(17)])]),
             second or dict(type='CocoDataset', data_root='data/mine/', data_mode='topdown',
                            ann_file='annotations/train.json', data_prefix=dict(img='img/'),
                            pipeline=[dict(type='mmpose.KeypointConverter', num_keypoints=21,
                                           mapping=[((5, 6), 18), (0, 20)])])]
    src['train_dataloader']['dataset'] = dict(
        type='CombinedDataset', metainfo=dict(from_file='_base_/datasets/coco_mpii_combined.py'),
        datasets=parts, pipeline=train['pipeline'], sample_ratio_factor=[1.0, 0.5],
        test_mode=False)
    return src


def test_combined_dataset_and_keypoint_converter_translate_one_to_one(runtime):
    cfg, _ = translate(combined_config(), runtime)
    check_config(cfg, loaders=())
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'CombinedDataset' and dataset.sample_ratio_factor == [1.0, 0.5]
    assert dataset.metainfo == dict(from_file='_base_/datasets/coco_mpii_combined.py')
    first, second = dataset.datasets
    assert (first.type, 'data_mode' in first, first.input_size) == ('CocoDataset', False,
                                                                    (192, 256))
    assert first.pipeline == [dict(type='KeypointConverter', num_keypoints=21,
                                   mapping=[(i, i) for i in range(17)])]
    assert second.pipeline[0]['type'] == 'KeypointConverter'   # scope dropped
    assert second.pipeline[0]['mapping'] == [((5, 6), 18), (0, 20)]
    # the combined pipeline is translated as a dataset's is
    assert [s['type'] for s in dataset.pipeline] == ['RandomHalfBody', 'LoadImage',
                                                     'TopdownAffine', 'GenerateTarget',
                                                     'PackPoseInputs']
    assert dataset.pipeline[2]['grid'] == 'origin'


def test_an_untranslatable_part_of_a_combined_set_still_loads_the_model(runtime):
    """A published checkpoint trained on a part hpekit cannot build (MMPose's
    MpiiDataset inside a CombinedDataset) still runs; training it is refused, naming
    the part's key."""
    mpii = dict(type='MpiiDataset', data_root='data/mpii/', data_mode='topdown',
                ann_file='annotations/mpii_train.json', data_prefix=dict(img='images/'),
                pipeline=[dict(type='KeypointConverter', num_keypoints=21,
                               mapping=MPII_TO_COMBINED)])
    cfg, _ = translate(combined_config(mpii), runtime)
    assert 'train_dataloader' not in cfg and cfg.model.type == 'TopDownPoseEstimator'
    check_config(cfg, loaders=())
    with pytest.raises(ConfigError, match=r"train_dataloader\.dataset\.datasets\[1\]\.type"
                       r".*'MpiiDataset'"):
        check_config(cfg, loaders=('train_dataloader', ))


@pytest.mark.parametrize('edit, key', [
    (lambda d: d['datasets'][1]['pipeline'].insert(0, dict(type='LoadImage')),
     r'datasets\[1\]\.pipeline\[0\]\.type'),
    (lambda d: d.update(datasets=[]), r'train_dataloader\.dataset\.datasets'),
])
def test_a_combined_set_hpekit_cannot_build_is_refused_naming_the_key(runtime, edit, key):
    src = combined_config()
    edit(src['train_dataloader']['dataset'])
    cfg, _ = translate(src, runtime)
    with pytest.raises(ConfigError, match=key):
        check_config(cfg, loaders=('train_dataloader', ))


def test_settings_without_counterpart_are_named_not_dropped_silently(runtime):
    src = mmpose_config()
    src['model']['test_cfg']['output_keypoint_indices'] = [0, 1]
    src['model']['data_preprocessor']['pad_size_divisor'] = 32
    cfg, notes = translate(src, runtime)
    assert 'output_keypoint_indices' not in cfg.model.test_cfg
    assert any('model.test_cfg' in n and 'output_keypoint_indices' in n for n in notes)
    assert any('model.data_preprocessor' in n and 'pad_size_divisor' in n for n in notes)
