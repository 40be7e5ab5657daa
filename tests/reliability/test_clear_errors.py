"""Issue 25: raw crashes and unclear errors become clear errors before any work.

Each test is named after the case it covers; the configs are loaded and checked in
process (``load_config`` + ``check_config``), as ``tools/train.py`` does before the
Runner is built.
"""
from pathlib import Path

import numpy as np
import pytest

from hpekit.config.checks import ConfigError, check_config
from hpekit.config.setup import load_config

ROOT = Path(__file__).resolve().parents[2]
VIDEO = str(ROOT / 'tests' / 'configs' / 'video_tiny.py')


def _check(path=VIDEO, **options):
    check_config(load_config(path, options), loaders=())


# 1 ------------------------------------------------------------------------------
def test_model_head_none_names_the_key():
    with pytest.raises(ConfigError, match=r'^model\.head: .*VideoPoseRegressor.*needs'):
        _check(**{'model.head': None})


# 2 ------------------------------------------------------------------------------
def test_dataloader_without_dataset_names_the_key():
    cfg = load_config(VIDEO)
    del cfg.train_dataloader['dataset']
    with pytest.raises(ConfigError, match=r"^train_dataloader: no 'dataset' given"):
        check_config(cfg, loaders=())


# 3 ------------------------------------------------------------------------------
@pytest.mark.parametrize('seed', ['abc', 1.5, True])
def test_randomness_seed_not_an_int(seed):
    with pytest.raises(ConfigError, match=r'^randomness\.seed: expected an int'):
        _check(**{'randomness.seed': seed})


def test_randomness_seed_int_or_none_accepted():
    _check(**{'randomness.seed': 3})
    _check(**{'randomness.seed': None})


# 4 ------------------------------------------------------------------------------
@pytest.mark.parametrize('milestones', [-1, [-1], [1, 'x'], 3])
def test_scheduler_milestones_not_a_list_of_ints(milestones):
    with pytest.raises(ConfigError, match=r'^param_scheduler\[0\]\.milestones: expected a list '
                                          r'of ints >= 0'):
        _check(**{'param_scheduler.0.milestones': milestones})


def test_scheduler_milestones_list_accepted():
    _check(**{'param_scheduler.0.milestones': [1, 3]})


# 5 ------------------------------------------------------------------------------
def test_log_processor_window_size_zero_refused():
    with pytest.raises(ConfigError, match=r'^log_processor\.window_size: expected an int >= 1, '
                                          r'got 0'):
        _check(**{'log_processor.window_size': 0})
    with pytest.raises(ConfigError, match=r"^log_processor: LogProcessor takes no argument "
                                          r"'window'"):
        _check(**{'log_processor.window': 3})


# 8 ------------------------------------------------------------------------------
def test_model_without_type_names_the_key():
    cfg = load_config(VIDEO)
    del cfg.model['type']
    with pytest.raises(ConfigError, match=r"^model: no 'type' given"):
        check_config(cfg, loaders=())
    cfg = load_config(VIDEO)
    del cfg.model.backbone['type']
    with pytest.raises(ConfigError, match=r"^model\.backbone: no 'type' given"):
        check_config(cfg, loaders=())


def test_custom_imports_missing_module_named(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text(f"_base_ = [{VIDEO!r}]\n"
                    "custom_imports = dict(imports=['no_such_module_xyz'], "
                    "allow_failed_imports=False)\n")
    with pytest.raises(ConfigError, match=r"custom_imports: cannot import 'no_such_module_xyz'"):
        load_config(str(path))


def test_config_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text("a = 1\nmodel = dict(type='X'\nb = 2\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value).startswith(f'{path}: line 2: syntax error')


def test_config_syntax_error_in_base_names_the_base(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text("x = [1,\n")
    path = tmp_path / 'cfg.py'
    path.write_text("_base_ = ['base.py']\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value).startswith(f'{base}: line 1: syntax error')


# 9 ------------------------------------------------------------------------------
def test_registry_did_you_mean_lists_each_name_once():
    from hpekit.registry import MODELS
    with pytest.raises(KeyError) as err:
        MODELS.get('ResNe')
    message = str(err.value)
    hint = message.split('Did you mean: ')[1].split('?')[0].split(', ')
    assert len(hint) == len(set(hint)), message


def test_did_you_mean_lists_each_name_once_for_cfg_options():
    with pytest.raises(ConfigError) as err:
        load_config(VIDEO, {'train_cfgg.max_epochs': 5})
    assert 'Did you mean: train_cfg?' in str(err.value), str(err.value)


# 6 ------------------------------------------------------------------------------
def test_empty_mpii_gt_mat_refused_when_the_metric_is_built(tmp_path):
    from hpekit.evaluation.metrics import MPIIPCKh
    path = tmp_path / 'mpii_gt_val.mat'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match=rf'^{path}: not a readable MATLAB \.mat file'):
        MPIIPCKh(gt_file=str(path))
    MPIIPCKh(gt_file=str(tmp_path / 'not_yet_written.mat'))   # read at evaluation then


# 7 ------------------------------------------------------------------------------
@pytest.mark.parametrize('alignment', ['none', 'scale', 'procrustes'])
def test_nan_predictions_in_3d_metric_name_the_frame_count(alignment):
    from hpekit.evaluation.functional import mpjpe
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(5, 17, 3))
    pred = gt + 0.01
    pred[1, 3] = np.nan
    pred[4] = np.inf
    with pytest.raises(ValueError, match=r'^pred holds NaN or Inf in 2 of 5 frames'):
        mpjpe(pred, gt, alignment=alignment)
    mask = np.ones((5, 17), bool)
    mask[1, 3] = mask[4] = False   # not counted: fine
    assert np.isfinite(mpjpe(pred, gt, mask=mask, alignment=alignment))


def test_nan_predictions_in_mpjpe_metric_raise_not_svd_error():
    import torch

    from hpekit.evaluation.metrics import MPJPE
    metric = MPJPE()
    gt = torch.zeros(4, 17, 3).normal_()
    pred = gt.clone()
    pred[2] = float('nan')
    metric.process({}, [dict(pred_joints_3d=pred, gt_joints_3d=gt)])
    with pytest.raises(ValueError, match=r'pred holds NaN or Inf in 1 of 4 frames'):
        metric.compute_metrics(metric.results)


# 10 -----------------------------------------------------------------------------
@pytest.fixture(scope='module')
def h36m_root(tmp_path_factory):
    from hpekit.datasets.synthetic.h36m_full import write_h36m_full
    root = tmp_path_factory.mktemp('h36m_full')
    write_h36m_full(str(root), subjects=('S1', 'S9'), actions=('Walking', ),
                    subactions=1, num_cameras=1, num_frames=5, image_size=32,
                    progress=False)
    return root


def test_empty_h36m_split_names_file_and_filters(h36m_root):
    from hpekit.datasets.h36m_video import H36MVideoDataset
    with pytest.raises(ValueError) as err:
        H36MVideoDataset(str(h36m_root), split='train', subjects=['S7'], seq_len=2,
                         seq_step=2)
    message = str(err.value)
    assert message.startswith(f"{h36m_root / 'annotation_body3d' / 'fps50' / 'h36m_train.npz'}"
                              f': the train split is empty'), message
    assert "no row matches subjects=['S7'] (not in the file: subjects S7)" in message
    assert 'The file holds subjects S1' in message
    with pytest.raises(ValueError, match=r"actions=\['Eating'\] \(not in the file: actions "
                                         r"Eating\)"):
        H36MVideoDataset(str(h36m_root), split='train', subjects=['S1'], actions=['Eating'],
                         seq_len=2, seq_step=2)
    with pytest.raises(ValueError, match=r'1 sequence\(s\) match, but the longest has 5 '
                                         r'frames, fewer than one clip needs \(seq_len=8'):
        H36MVideoDataset(str(h36m_root), split='train', subjects=['S1'], seq_len=8)


def test_empty_mpii_preds_mat_names_the_file(tmp_path):
    from hpekit.datasets.mpii_mat import load_mpii_preds
    path = tmp_path / 'preds.mat'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match=rf'^{path}: not a readable MATLAB \.mat file'):
        load_mpii_preds(str(path))
