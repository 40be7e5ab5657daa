"""The MPII configs: each builds its model from the config file with DESIGN.md's
parameter count, and its data, metric, optimizer and schedule resolve."""
import importlib
from pathlib import Path

import pytest
import torch

from hpekit.config.setup import load_config
from hpekit.registry import (DATASETS, FUNCTIONS, HOOKS, METRICS, MODELS, OPTIMIZERS,
                             PARAM_SCHEDULERS)

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'mpii_hourglass'

# config file → parameters in millions, from DESIGN.md's block table (2 stacks).
EXPECTED_PARAMS_M = {
    'hg2-bottleneck_b24-20e_mpii-256.py': 6.73,
    'hg2-bottleneck_b24-20e_mpii-256-personcache.py': 6.73,
    'hg2-bottleneck-merge37_b24-20e_mpii-256.py': 6.73,
    'hg2-bottleneck-merge73_b24-20e_mpii-256.py': 6.73,
    'hg2-dilated_b24-20e_mpii-256.py': 6.73,
    'hg2-patchify_b24-20e_mpii-256.py': 6.72,
    'hg2-noskip_b24-20e_mpii-256.py': 6.69,
    'hg2-dwsep3_b24-20e_mpii-256.py': 2.92,
    'hg2-dwsep-mid_b24-20e_mpii-256.py': 2.80,
    'hg2-dwsep2_b24-20e_mpii-256.py': 2.37,
    'hg2-dwsep2-dilated_b24-20e_mpii-256.py': 2.37,
    'hg2-conv2_b24-20e_mpii-256.py': 17.95,
    'simplebaseline-res50_b32-140e_mpii-256.py': 34.0,
    'simplebaseline-timm-resnet18_b32-140e_mpii-256.py': 15.38,
}
# configs whose model needs an optional package (built only where it imports)
REQUIRES = {'simplebaseline-timm-resnet18_b32-140e_mpii-256.py': 'timm'}
HG2_CONFIGS = sorted(name for name in EXPECTED_PARAMS_M if name.startswith('hg2-'))
TOLERANCE_M = 0.05


def load(name):
    """The config file ``name`` of configs/mpii_hourglass/, loaded as the tools load it."""
    return load_config(str(CONFIG_DIR / name))


def count_params_m(model):
    """Number of parameters of a module, in millions."""
    return sum(p.numel() for p in model.parameters()) / 1e6


def test_every_config_of_the_folder_is_covered():
    shipped = {p.name for p in CONFIG_DIR.glob('*.py')}
    assert set(EXPECTED_PARAMS_M) <= shipped
    assert shipped - set(EXPECTED_PARAMS_M) == {'hg2_synthetic-quick.py'}


@pytest.mark.parametrize('name', sorted(EXPECTED_PARAMS_M))
def test_model_parameter_count_matches_design(name):
    if name in REQUIRES:
        try:
            importlib.import_module(REQUIRES[name])
        except Exception as err:   # noqa: BLE001 - missing, or e.g. a mismatched torchvision
            pytest.skip(f'{REQUIRES[name]} cannot be imported: {err}')
    model = MODELS.build(load(name).model)   # no init_weights: no checkpoint is read
    assert count_params_m(model) == pytest.approx(EXPECTED_PARAMS_M[name], abs=TOLERANCE_M)


@pytest.mark.parametrize('name', sorted(EXPECTED_PARAMS_M))
def test_data_metric_and_hooks_resolve(name):
    cfg = load(name)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset_cfg = dict(cfg[loader].dataset, lazy_init=True)  # builds the pipeline only
        dataset = DATASETS.build(dataset_cfg)
        assert type(dataset).__name__ == 'MPIIDataset'
        assert dataset.ann_file.endswith(('mpii_train.json', 'mpii_val.json'))
    assert cfg.train_dataloader.worker_init_fn.type == 'hpekit.seed_worker'
    from mmengine.registry import FUNCTIONS as ROOT_FUNCTIONS
    assert ROOT_FUNCTIONS.get(cfg.train_dataloader.worker_init_fn.type) is \
        FUNCTIONS.get('seed_worker')
    for key in ('val_evaluator', 'test_evaluator'):
        metric = METRICS.build(cfg[key])
        assert type(metric).__name__ == 'MPIIPCKh'
        assert metric.gt_file == cfg.data_root + 'annotations/mpii_gt_val.mat'
    checkpoint = cfg.default_hooks.checkpoint
    assert HOOKS.get(checkpoint.type) is not None
    assert (checkpoint.save_best, checkpoint.rule) == ('PCKh', 'greater')
    assert OPTIMIZERS.get(cfg.optim_wrapper.optimizer.type) is not None
    for scheduler in cfg.param_scheduler:
        assert PARAM_SCHEDULERS.get(scheduler.type) is not None


@pytest.mark.parametrize('name', HG2_CONFIGS)
def test_hourglass_schedule_and_sizes(name):
    cfg = load(name)
    assert cfg.train_dataloader.batch_size == 24
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    [scheduler] = cfg.param_scheduler
    assert (scheduler.type, scheduler.milestones, scheduler.gamma) == \
        ('MultiStepLR', [15, 17], 0.1)
    assert cfg.codec == dict(type='MSRAHeatmap', input_size=(256, 256),
                             heatmap_size=(64, 64), sigma=2)
    affine = [t for t in cfg.train_pipeline if t.type == 'TopdownAffine'][0]
    target = [t for t in cfg.train_pipeline if t.type == 'GenerateTarget'][0]
    assert tuple(affine.input_size) == (256, 256)
    assert target.encoder == cfg.codec and cfg.model.head.decoder == cfg.codec
    assert cfg.model.backbone.num_stacks == 2 and cfg.model.backbone.channels == 256


def test_simplebaseline_schedule_and_pretrained_path():
    cfg = load('simplebaseline-res50_b32-140e_mpii-256.py')
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_cfg.max_epochs == 140
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    assert cfg.param_scheduler[0].milestones == [90, 120]
    assert cfg.model.backbone.init_cfg.checkpoint == 'checkpoints/resnet50_imagenet.pth'


def test_merge_configs_set_the_stack_weights():
    assert load('hg2-bottleneck-merge37_b24-20e_mpii-256.py').model.head.merge_weights == \
        [0.3, 0.7]
    assert load('hg2-bottleneck-merge73_b24-20e_mpii-256.py').model.head.merge_weights == \
        [0.7, 0.3]


def test_quick_config_builds_with_matching_sizes():
    cfg = load('hg2_synthetic-quick.py')
    model = MODELS.build(cfg.model).eval()
    affine = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'TopdownAffine'][0]
    target = [t for t in cfg.train_dataloader.dataset.pipeline
              if t.type == 'GenerateTarget'][0]
    assert tuple(affine.input_size) == tuple(cfg.codec.input_size) == (128, 128)
    assert target.encoder == cfg.codec and model.head.decoder.input_size == (128, 128)
    # The hourglass outputs heatmaps at a quarter of the input size: the codec's size.
    assert tuple(cfg.codec.heatmap_size) == tuple(s // 4 for s in affine.input_size)
    with torch.no_grad():
        heatmaps = model(torch.zeros(model.spec.input_shape(1)), mode='tensor')[-1]
    width, height = cfg.codec.heatmap_size
    assert heatmaps.shape == (1, 16, height, width)
    assert cfg.data_root == 'data/mpii_synthetic/'
    assert cfg.val_evaluator.gt_file == 'data/mpii_synthetic/annotations/mpii_gt_val.mat'
    assert count_params_m(model) < 2.0
