"""Command-line flags of tools/train.py and tools/test.py, applied to configs."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from tool_loader import load_tool

from hpekit.config.setup import load_config, setup_test_config, setup_train_config
from hpekit.registry import OPTIM_WRAPPERS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs' / 'h36m_video' / 'r18-lstm-fc_b2-3e_h36m-224.py')


def test_defaults_and_work_dir():
    cfg = setup_train_config(load_config(CONFIG), CONFIG)
    assert cfg.work_dir == 'work_dirs/r18-lstm-fc_b2-3e_h36m-224'
    assert cfg.resume is False and cfg.launcher == 'none'
    assert cfg.default_scope == 'hpekit'
    cfg = setup_train_config(load_config(CONFIG), CONFIG, work_dir='/tmp/x')
    assert cfg.work_dir == '/tmp/x'


def test_cfg_options_merge():
    cfg = load_config(CONFIG, {'train_dataloader.batch_size': 7,
                               'model.temporal_neck.cell': 'gru'})
    assert cfg.train_dataloader.batch_size == 7
    assert cfg.model.temporal_neck.cell == 'gru'


def test_missing_config_file_is_named():
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config('nope.py')


def test_resume_auto_and_path():
    cfg = setup_train_config(load_config(CONFIG), CONFIG, resume='auto')
    assert cfg.resume is True and cfg.load_from is None
    cfg = setup_train_config(load_config(CONFIG), CONFIG, resume='a/epoch_3.pth')
    assert cfg.resume is True and cfg.load_from == 'a/epoch_3.pth'


def test_seed_and_deterministic():
    cfg = setup_train_config(load_config(CONFIG), CONFIG, seed=42, deterministic=True)
    assert cfg.randomness == {'seed': 42, 'deterministic': True, 'diff_rank_seed': True}


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU behaviour')
def test_amp_on_cpu_uses_bfloat16_autocast_and_gloo():
    cfg = setup_train_config(load_config(CONFIG), CONFIG, amp=True)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU behaviour')
def test_amp_dtype_choice_on_cpu():
    cfg = setup_train_config(load_config(CONFIG), CONFIG, amp='bfloat16')
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype) == ('AutocastOptimWrapper',
                                                                 'bfloat16')
    # channels-last with it (oneDNN's bfloat16 convolutions), added once
    assert [h['type'] for h in cfg.custom_hooks].count('ChannelsLastHook') == 1
    again = load_config(CONFIG)
    again.custom_hooks = [dict(type='ChannelsLastHook')]
    again = setup_train_config(again, CONFIG, amp='bfloat16')
    assert [h['type'] for h in again.custom_hooks].count('ChannelsLastHook') == 1
    plain = setup_train_config(load_config(CONFIG), CONFIG)
    assert 'ChannelsLastHook' not in [h['type'] for h in plain.get('custom_hooks', [])]
    with pytest.raises(ValueError, match='float16 needs a GPU'):
        setup_train_config(load_config(CONFIG), CONFIG, amp='float16')


def test_amp_dtype_choice_on_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = setup_train_config(load_config(CONFIG), CONFIG, amp='bfloat16')
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype) == ('AmpOptimWrapper',
                                                                 'bfloat16')
    assert 'loss_scale' not in cfg.optim_wrapper
    cfg = setup_train_config(load_config(CONFIG), CONFIG, amp=True)
    assert (cfg.optim_wrapper.dtype, cfg.optim_wrapper.loss_scale) == ('float16', 'dynamic')


def test_amp_flag_parsing():
    parse_args = load_tool('train').parse_args
    assert parse_args(['c.py']).amp is None   # automatic (hpekit.runtime.hardware.resolve_amp)
    assert parse_args(['c.py', '--amp', 'off']).amp == 'off'
    assert parse_args(['c.py', '--amp']).amp is True
    assert parse_args(['c.py', '--amp', 'bfloat16']).amp == 'bfloat16'
    with pytest.raises(SystemExit):
        parse_args(['c.py', '--amp', 'int8'])


def test_amp_refuses_an_unknown_wrapper():
    cfg = load_config(CONFIG)
    cfg.optim_wrapper.type = 'SomethingElse'
    with pytest.raises(ValueError, match='optim_wrapper.type'):
        setup_train_config(cfg, CONFIG, amp=True)


def test_autocast_wrapper_runs_forward_in_bfloat16():
    model = nn.Linear(4, 2)
    wrapper = OPTIM_WRAPPERS.build(dict(type='AutocastOptimWrapper', dtype='bfloat16',
                                        optimizer=torch.optim.SGD(model.parameters(), 0.1)))
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(before, model.weight)
    with pytest.raises(ValueError, match='dtype'):
        OPTIM_WRAPPERS.build(dict(type='AutocastOptimWrapper', dtype='int8',
                                  optimizer=torch.optim.SGD(model.parameters(), 0.1)))


def test_test_config_loads_checkpoint_without_resume(tmp_path):
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'x')
    cfg = setup_test_config(load_config(CONFIG), CONFIG, str(ckpt))
    assert cfg.load_from == str(ckpt) and cfg.resume is False
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        setup_test_config(load_config(CONFIG), CONFIG, str(tmp_path / 'missing.pth'))


def test_every_shipped_video_config_builds_its_model():
    from hpekit.registry import MODELS
    for path in sorted((ROOT / 'configs' / 'h36m_video').glob('*.py')):
        cfg = load_config(str(path))
        if cfg.model.type != 'VideoPoseRegressor':
            continue
        model_cfg = cfg.model.copy()
        model_cfg['backbone'] = dict(model_cfg['backbone'], init_cfg=None)
        model = MODELS.build(model_cfg).eval()
        width, height = cfg.codec['input_size']      # the frame size the config's codec sets
        with torch.no_grad():
            out = model(torch.randn(1, 2, 3, height, width), mode='tensor')
        assert out.shape == (1, 2, 17, 3), path.name
