"""Turn a loaded config plus command-line choices into what mmengine's Runner runs.

``tools/train.py`` and ``tools/test.py`` are thin wrappers around these functions, so
the behaviour of every command-line flag lives (and is tested) here.
"""
import os.path as osp

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported)


def load_config(path, cfg_options=None):
    """Read a Python config file and merge ``--cfg-options`` (dict of dotted keys)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault('default_scope', 'hpekit')
    return cfg


def _common(cfg, config_path, work_dir, launcher):
    """Work dir (flag > config > work_dirs/<config name>), launcher, dist backend."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])
    cfg.launcher = launcher
    # NCCL needs GPUs; gloo runs everywhere, so CPU-only machines (and CI) use it.
    if not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'


def setup_train_config(cfg, config_path, work_dir=None, resume=None, amp=False,
                       launcher='none', seed=None, deterministic=False):
    """Apply ``tools/train.py``'s flags to ``cfg`` in place and return it.

    Args:
        resume: None (fresh run), 'auto' (latest checkpoint in the work dir) or a
            checkpoint path.
        amp: mixed precision — mmengine's AmpOptimWrapper (float16 with loss scaling)
            on a GPU, hpekit's AutocastOptimWrapper (bfloat16) on a CPU.
        seed, deterministic: override ``randomness``.
    """
    _common(cfg, config_path, work_dir, launcher)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    if amp:
        _enable_amp(cfg)
    if seed is not None or deterministic:
        randomness = dict(cfg.get('randomness') or {})
        if seed is not None:
            randomness['seed'] = seed
        randomness['deterministic'] = bool(deterministic or randomness.get('deterministic'))
        cfg.randomness = randomness
    return cfg


def _enable_amp(cfg):
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper',
                                                   'AutocastOptimWrapper'):
        raise ValueError(f"--amp: optim_wrapper.type is {wrapper.type!r}; expected "
                         "'OptimWrapper' (or an AMP wrapper) to switch to mixed precision")
    if torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('dtype', 'float16')
        wrapper.setdefault('loss_scale', 'dynamic')
    else:
        wrapper.type = 'AutocastOptimWrapper'
        wrapper.dtype = 'bfloat16'
        wrapper.pop('loss_scale', None)


def setup_test_config(cfg, config_path, checkpoint, work_dir=None, launcher='none'):
    """Apply ``tools/test.py``'s flags: load ``checkpoint`` (weights only, no resume)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    _common(cfg, config_path, work_dir, launcher)
    cfg.load_from = checkpoint
    cfg.resume = False
    return cfg
