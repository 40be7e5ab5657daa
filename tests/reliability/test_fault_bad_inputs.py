"""Bad inputs a careful user or an attacker would try: mistyped or wrong config values
(refused before anything is built, naming the config path), checkpoints that do not
fit the model (refused before a weight is loaded, naming the keys), and pickle files
(never unpickled)."""
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, TINY, build_runner

from hpekit.config.checks import ConfigError, check_config
from hpekit.config.setup import load_config
from hpekit.engine.hooks import CheckpointMismatchError
from hpekit.fileio import UnsafeFormatError, load_predictions, save_predictions

sys.path.insert(0, str(ROOT / 'tests'))
from tool_loader import load_tool  # noqa: E402

# ----------------------------------------------------------------------- configs
CONFIG_CASES = [
    ({'train_cfgg.max_epochs': 50},
     r"--cfg-options train_cfgg.max_epochs: the config has no top-level key 'train_cfgg'\. "
     r'Did you mean: train_cfg'),
    ({'default_hooks.checkpoint.intervall': 5},
     r"default_hooks\.checkpoint: SafeCheckpointHook takes no argument 'intervall'\. "
     r'Did you mean: interval'),
    ({'default_hooks.chekpoint.interval': 5},
     r"default_hooks\.chekpoint: no hook type given.*Did you mean: checkpoint"),
    ({'model.backbone.init_cfgg.x': 1}, r"model\.backbone: ResNet takes no argument "
                                        r"'init_cfgg'"),
    ({'train_dataloader.dataset.pipeline.0.probb': 0.5},
     r"pipeline\[0\]: ClipRandomFlip takes no argument 'probb'"),
    ({'train_dataloader.batch_sizee': 8},
     r"train_dataloader: unknown key 'batch_sizee'\. Did you mean: batch_size"),
    ({'train_cfg.val_interval': 0}, r'train_cfg\.val_interval: expected an int >= 1, got 0'),
    ({'train_cfg.max_epochs': -1}, r'train_cfg\.max_epochs: expected an int >= 1, got -1'),
    ({'train_cfg.max_epochs': '2'}, r"train_cfg\.max_epochs: EpochBasedTrainLoop expects a "
                                    r"number, got the string '2'"),
    ({'train_dataloader.batch_size': 0},
     r'train_dataloader\.batch_size: expected an int >= 1, got 0'),
    ({'val_dataloader.num_workers': -2},
     r'val_dataloader\.num_workers: expected an int >= 0, got -2'),
    ({'default_hooks.checkpoint.interval': 0},
     r'default_hooks\.checkpoint\.interval: expected an int >= 1, or -1 \(never\); got 0'),
    ({'default_hooks.checkpoint.max_keep_ckpts': 0},
     r'max_keep_ckpts: expected an int >= 1, or -1 \(keep all\); got 0'),
    ({'default_hooks.logger.interval': 0},
     r'default_hooks\.logger\.interval: expected an int >= 1, or -1'),
    ({'optim_wrapper.optimizer.lr': '1e-3'},
     r"optim_wrapper\.optimizer\.lr: Adam expects a number, got the string '1e-3'"),
    ({'optim_wrapper.optimizer.lr': -0.1},
     r'optim_wrapper\.optimizer\.lr: the learning rate must be >= 0'),
    ({'model.temporal_neck': dict(_delete_=True, type='RecurrentNeck', cell='lstm',
                                  in_channels=64)},
     r"model\.temporal_neck: RecurrentNeck needs the argument\(s\) 'hidden_size' "
     r'\(no default\)'),
    ({'train_cfg.max_epoch': 3},
     r"train_cfg: EpochBasedTrainLoop takes no argument 'max_epoch'.*Did you mean: "
     r'max_epochs'),
    ({'randomness.sed': 1}, r"randomness: unknown key 'sed'\. Did you mean: seed"),
    ({'train_cfg.max_epochs.x': 1},
     r'train_cfg\.max_epochs is 2, not a dict or list'),
]


@pytest.mark.parametrize('options, expected', CONFIG_CASES,
                         ids=[next(iter(options)) for options, _ in CONFIG_CASES])
def test_bad_config_values_fail_before_anything_is_built(options, expected, monkeypatch,
                                                         tmp_path):
    train = load_tool('train')

    def no_runner(cfg):
        raise AssertionError('the Runner (model, data) was built despite a bad config')

    monkeypatch.setattr(train.Runner, 'from_cfg', staticmethod(no_runner))
    with pytest.raises(ConfigError, match=expected):
        cfg = load_config(str(TINY), options)
        check_config(cfg, loaders=())


def test_cfg_options_from_the_command_line_are_checked(monkeypatch, tmp_path):
    train = load_tool('train')
    monkeypatch.setattr(train.Runner, 'from_cfg', staticmethod(
        lambda cfg: pytest.fail('the Runner was built despite a bad option')))
    with pytest.raises(ConfigError, match='train_cfgg'):
        train.main([str(TINY), '--work-dir', str(tmp_path),
                    '--cfg-options', 'train_cfgg.max_epochs=50'])


def test_legitimate_new_keys_are_accepted():
    cfg = load_config(str(TINY), {
        'default_hooks.checkpoint.by_epoch': False,       # a new argument of a part
        'train_cfg.reseed_per_iter': False,               # of the loop
        'train_dataloader.pin_memory': True,              # of the loader
        'env_cfg.dist_cfg.timeout': 60,                   # a free-form dict
        'model.backbone.init_cfg': dict(type='Kaiming'),  # a *_cfg key
        'resume': True,                                   # a Runner key
    })
    from hpekit.config.setup import setup_train_config
    check_config(setup_train_config(cfg, str(TINY)), loaders=())


def test_setting_a_config_variable_warns_that_derived_values_keep_the_old_one(tmp_path):
    config = tmp_path / 'with_variable.py'
    config.write_text(f'_base_ = [{str(TINY)!r}]\nmax_epochs = 2\n'
                      'train_cfg = dict(max_epochs=max_epochs)\n')
    with pytest.warns(UserWarning, match="'max_epochs' is a variable of the config file"):
        load_config(str(config), {'max_epochs': 5})


# ------------------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def test_runner(tmp_path_factory, fault_config, data_root):
    return build_runner(fault_config, tmp_path_factory.mktemp('strict'), data_root)


def _load(runner, path):
    """What load_or_resume does for load_from / tools/test.py."""
    runner._load_from = str(path)
    return runner.load_checkpoint(str(path))


def test_checkpoints_that_do_not_fit_are_refused_naming_the_keys(test_runner, tmp_path):
    model_state = test_runner.model.state_dict()
    before = {k: v.clone() for k, v in model_state.items()}
    cases = {
        'empty.pth': ({'state_dict': {}, 'meta': {}}, r"state_dict is empty"),
        'wrapped.pth': ({'model': dict(model_state)},
                        r"has no 'state_dict'; its top-level keys are \['model'\]"),
        'foreign.pth': ({'state_dict': {f'encoder.{k}': v for k, v in model_state.items()}},
                        r'(?s)missing in the checkpoint \(\d+ of \d+ model keys\): backbone\..*'
                        r'unexpected .*: encoder\.backbone.*another model'),
        'partial.pth': ({'state_dict': {k: v for k, v in model_state.items()
                                        if not k.startswith('head.')}},
                        r'(?s)missing in the checkpoint \(\d+ of \d+ model keys\): head\..*'
                        r'allow_partial=True'),
    }
    for name, (checkpoint, expected) in cases.items():
        path = tmp_path / name
        torch.save(checkpoint, path)
        with pytest.raises(CheckpointMismatchError, match=expected) as err:
            _load(test_runner, path)
        assert str(err.value).startswith(f'{path}: checkpoint keys do not fit the model')
    for key, value in test_runner.model.state_dict().items():   # nothing was loaded
        assert torch.equal(value, before[key]), key


def test_a_partial_load_needs_the_explicit_option(tmp_path, fault_config, data_root):
    runner = build_runner(fault_config, tmp_path / 'work', data_root,
                          **{'default_hooks.checkpoint_keys.allow_partial': True})
    state = {k: torch.zeros_like(v) for k, v in runner.model.state_dict().items()
             if k.startswith('backbone.')}
    path = tmp_path / 'backbone_only.pth'
    torch.save({'state_dict': state}, path)
    _load(runner, path)   # warned, loaded
    assert all(torch.equal(runner.model.state_dict()[k], v) for k, v in state.items())


def test_load_from_a_foreign_checkpoint_stops_before_training(tmp_path, fault_config,
                                                             data_root):
    path = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {'conv.weight': torch.zeros(3, 3)}}, path)
    runner = build_runner(fault_config, tmp_path / 'work', data_root,
                          load_from=str(path))
    with pytest.raises(CheckpointMismatchError, match='another model'):
        runner.train()
    assert not list((tmp_path / 'work').glob('iter_*.pth'))


# ----------------------------------------------------------------- pickle files
class _RunsCode:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_plot_tool_never_unpickles_a_crafted_file(tmp_path):
    plot = load_tool('plot_pose3d')
    marker = tmp_path / 'pwned'
    crafted = tmp_path / 'preds.pkl'
    crafted.write_bytes(pickle.dumps([{'pred_joints_3d': _RunsCode(str(marker))}]))
    with pytest.raises(UnsafeFormatError, match='unpickling a file can run any code'):
        plot.main([str(crafted), '--out', str(tmp_path / 'out.png')])
    # The same payload inside an .npz (an object array): numpy would unpickle it only
    # with allow_pickle=True, which hpekit never passes.
    disguised = tmp_path / 'preds.npz'
    np.savez(disguised, __num_samples__=np.asarray(1),
             pred_joints_3d=np.array([_RunsCode(str(marker))], dtype=object))
    with pytest.raises(ValueError, match='cannot be read without unpickling'):
        plot.main([str(disguised), '--out', str(tmp_path / 'out.png')])
    assert not marker.exists()


def test_test_tool_refuses_a_pickle_dump_before_anything_runs(tmp_path, monkeypatch):
    test = load_tool('test')
    monkeypatch.setattr(test.Runner, 'from_cfg', staticmethod(
        lambda cfg: pytest.fail('the Runner was built')))
    with pytest.raises(UnsafeFormatError, match=r'--dump preds\.pkl: .*Use a \.npz file'):
        test.main([str(TINY), str(tmp_path / 'missing.pth'), '--dump', 'preds.pkl'])


@pytest.mark.parametrize('suffix', ['.npz', '.json'])
def test_predictions_round_trip_in_the_safe_formats(tmp_path, suffix):
    from mmengine.structures import BaseDataElement
    samples = [BaseDataElement(pred_joints_3d=torch.full((2, 17, 3), float(i)),
                               sample_idx=i, gt=dict(joints=np.ones((2, 17, 3))),
                               img_path=f'clip{i}.npy', extra=None) for i in range(3)]
    path = tmp_path / f'preds{suffix}'
    skipped = save_predictions(path, samples)
    assert skipped == ['extra']
    loaded = load_predictions(path)
    assert len(loaded) == 3
    assert np.array_equal(loaded[2]['pred_joints_3d'], np.full((2, 17, 3), 2.0))
    assert int(loaded[1]['sample_idx']) == 1 and str(loaded[0]['img_path']) == 'clip0.npy'
    assert loaded[0]['gt/joints'].shape == (2, 17, 3)
    assert Path(path).read_bytes()[:2] in (b'PK', b'[\n')
