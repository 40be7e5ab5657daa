"""Bad configs fail before any heavy work, naming the key, the part and the argument."""
import glob
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

from hpekit.config.checks import ConfigError, check_config
from hpekit.config.setup import load_config

ROOT = Path(__file__).resolve().parents[2]
VIDEO = str(ROOT / 'tests' / 'configs' / 'video_tiny.py')
MPII = str(ROOT / 'tests' / 'configs' / 'mpii_tiny.py')


def _check(path, loaders=(), **options):
    check_config(load_config(path, options), loaders=loaders)


def test_unknown_argument_names_key_part_argument_and_suggestion():
    with pytest.raises(ConfigError) as err:
        _check(VIDEO, **{'model.backbone.dpeth': 18})
    message = str(err.value)
    assert message.startswith('model.backbone: ResNet takes no argument ')
    assert "'dpeth'" in message and 'Did you mean: depth?' in message


def test_unknown_argument_deep_in_a_model_and_in_a_pipeline():
    with pytest.raises(ConfigError, match=r"model\.head\.loss: MSELoss takes no argument "
                                          r"'weight'"):
        _check(VIDEO, **{'model.head.loss': dict(type='MSELoss', weight=2.0)})
    with pytest.raises(ConfigError, match=r"model\.backbone\.block: PreActBottleneck takes "
                                          r"no argument 'dilaton'.*Did you mean: dilation"):
        _check(MPII, **{'model.backbone.block.dilaton': 2})
    with pytest.raises(ConfigError, match=r"train_dataloader\.dataset\.pipeline\[0\]: "
                                          r"ClipRandomFlip takes no argument 'probability'"):
        _check(VIDEO, **{'train_dataloader.dataset.pipeline': [
            dict(type='ClipRandomFlip', probability=0.5)]})


def test_unknown_type_names_key_and_closest_names():
    with pytest.raises(ConfigError) as err:
        _check(VIDEO, **{'model.temporal_neck.type': 'RecurentNeck'})
    assert str(err.value).startswith('model.temporal_neck: ')
    assert 'Did you mean: RecurrentNeck' in str(err.value)
    with pytest.raises(ConfigError, match=r"val_evaluator: 'MPJEP' .*Did you mean: MPJPE"):
        _check(VIDEO, val_evaluator=dict(type='MPJEP'))
    with pytest.raises(ConfigError, match=r"optim_wrapper\.optimizer: Adam takes no "
                                          r"argument 'learning_rate'"):
        _check(VIDEO, optim_wrapper=dict(optimizer=dict(type='Adam', learning_rate=1e-3)))
    with pytest.raises(ConfigError, match=r"optim_wrapper: OptimWrapper takes no argument "
                                          r"'clip_grads'"):
        _check(VIDEO, **{'optim_wrapper.clip_grads': dict(max_norm=1.0)})


@pytest.mark.parametrize('config, dataset, command', [
    (VIDEO, 'H36M', 'python tools/make_synthetic_data.py h36m --out {root}'),
    (MPII, 'MPII', 'python tools/make_synthetic_data.py mpii --out {root}'),
])
def test_missing_data_root_says_what_to_run(tmp_path, config, dataset, command):
    root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        _check(config, loaders=('train_dataloader', ),
               **{'train_dataloader.dataset.data_root': root})
    message = str(err.value)
    assert message.startswith(f'train_dataloader.dataset.data_root: folder {root} does not')
    assert command.format(root=root) in message


def _train_tool():
    spec = importlib.util.spec_from_file_location('hpekit_train_tool',
                                                  ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_tool_fails_before_building_anything(tmp_path, monkeypatch):
    tool = _train_tool()

    def no_runner(cfg):
        raise AssertionError('the Runner (model, data) was built despite a bad config')

    monkeypatch.setattr(tool.Runner, 'from_cfg', staticmethod(no_runner))
    with pytest.raises(ConfigError, match='dpeth'):
        tool.main([VIDEO, '--work-dir', str(tmp_path),
                   '--cfg-options', 'model.backbone.dpeth=18'])
    with pytest.raises(FileNotFoundError, match='make_synthetic_data.py h36m'):
        tool.main([VIDEO, '--work-dir', str(tmp_path),
                   '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/none'])


def test_every_shipped_config_passes_the_check():
    paths = sorted(glob.glob(str(ROOT / 'configs' / '*' / '*.py')))
    assert len(paths) > 10
    for path in paths:
        check_config(Config.fromfile(path), loaders=())
