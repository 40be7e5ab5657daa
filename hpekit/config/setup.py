"""Turn a loaded config plus command-line choices into what mmengine's Runner runs.

``tools/train.py`` and ``tools/test.py`` are thin wrappers around these functions, so
the behaviour of every command-line flag lives (and is tested) here.
"""
import ast
import contextlib
import importlib
import importlib.util
import logging
import os.path as osp
import threading
from typing import Any, Dict, Iterator, Optional

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported)
from mmengine.logging import print_log

from hpekit.config.checks import ConfigError, check_cfg_options
from hpekit.config.cli_options import set_data_root
from hpekit.config.files import PACKAGE_PREFIX, find_config_file, resolve_package_path
from hpekit.config.mmdet import check_mmdet_bases, is_mmdet_config, translate_mmdet_config
from hpekit.config.mmpose import from_mmpose, is_mmpose_config
from hpekit.config.yacs import convert_hint, load_yacs_experiment, warn_ignored


def load_config(path, cfg_options=None):
    """Read a Python config file, or an HRNet/SimpleBaseline YAML experiment
    (``.yaml``/``.yml``: converted in memory by ``hpekit.config.yacs``,
    with a hint to convert it once with ``tools/misc/yacs2py.py``; keys it ignores
    are printed as a warning), and merge ``--cfg-options`` (dict of dotted keys).

    ``path`` may also name a shipped config (``hg2-bottleneck_b24-20e_mpii-256``, a
    path relative to ``configs/`` or ``hpekit::<path relative to configs/>``):
    ``hpekit.config.files.find_config_file``; FileNotFoundError names every place
    searched. A config anywhere inherits hpekit's shipped bases and experiments with
    mmengine's package syntax, ``_base_ = ['hpekit::_base_/default_runtime.py']``
    (see :func:`package_syntax`).

    An MMPose 1.x config (``default_scope='mmpose'``) is translated into the native
    config it means (``hpekit.config.mmpose``); what the translation changes is logged
    as a warning, what it cannot map raises ``MMPoseConfigError``."""
    path = find_config_file(path)
    # ``data_root`` (a variable of the file) in the options is applied with
    # ``hpekit.config.cli_options.set_data_root``: every loader and evaluator file.
    if path.endswith(('.yaml', '.yml')):
        cfg, report = load_yacs_experiment(path)
        warn_ignored(report)
        print(convert_hint(path), flush=True)
    else:
        cfg = _read_python_config(path)
    cfg = native_config(cfg, path)
    cfg_options = dict(cfg_options or {})
    data_root = cfg_options.pop('data_root', None)
    if cfg_options:
        # a mistyped key is an error here, not a new key nothing reads
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:   # `data_root=X` moves every dataset and evaluator file
        set_data_root(cfg, data_root)
    cfg.setdefault('default_scope', 'hpekit')
    return cfg


def native_config(cfg: Config, path: Optional[str] = None) -> Config:
    """``cfg`` itself, or for an MMPose 1.x config the hpekit config it means
    (``hpekit.config.mmpose.from_mmpose``), each change logged once as a warning; for
    an MMDetection 3.x RTMDet config, the native detector config
    (``hpekit.config.mmdet.translate_mmdet_config``).

    Args:
        cfg: a loaded config.
        path: its file, for messages (default ``cfg.filename``).
    """
    if is_mmdet_config(cfg):
        return translate_mmdet_config(cfg, path or cfg.filename)
    if not is_mmpose_config(cfg):
        return cfg
    path = path or cfg.filename or '<config>'
    with package_syntax():
        runtime = Config.fromfile(find_config_file('_base_/default_runtime.py'))
    cfg, notes = from_mmpose(cfg, path, runtime)
    for note in notes:
        print_log(f'MMPose config {path}: {note}', logger='current', level=logging.WARNING)
    return cfg


def _read_python_config(path):
    """``Config.fromfile`` whose failures name the file: a syntax error names the file
    (the config or one of its ``_base_`` files) and the line; a ``custom_imports``
    module that cannot be imported is named with the reason (ConfigError both)."""
    check_mmdet_bases(path)
    try:
        with package_syntax():
            return Config.fromfile(path)
    except SyntaxError as error:
        found = _find_syntax_error(path, set())
        file, line, msg = found if found else (path, error.lineno, error.msg)
        raise ConfigError(f'{file}: line {line}: syntax error: {msg}') from None
    except ImportError as error:
        cause = str(error.__cause__ or error.__context__ or '')
        if not cause.startswith('Failed to import '):
            raise
        module = cause[len('Failed to import '):]
        try:
            importlib.import_module(module)
            reason = cause
        except Exception as inner:   # the real reason: a missing module or a failing import
            reason = f'{type(inner).__name__}: {inner}'
        raise ConfigError(
            f'{path}: custom_imports: cannot import {module!r} ({reason}). Check the name, '
            'or put the folder holding it on PYTHONPATH.') from None


# mmengine's resolver of ``_base_`` paths while package_syntax() is active (depth > 0).
_PACKAGE_SYNTAX = dict(lock=threading.RLock(), depth=0, original=None)


@contextlib.contextmanager
def package_syntax() -> Iterator[None]:
    """Within the block, mmengine's ``Config.fromfile`` resolves ``_base_`` entries
    written ``hpekit::<path relative to hpekit's configs folder>`` (mmengine's package
    syntax, as ``mmpose::`` names MMPose's configs) to the shipped file
    (``hpekit.config.files.resolve_package_path``); other paths are resolved by
    mmengine as before. A wrong path raises FileNotFoundError naming it, the config
    that names it and every file looked at. On leaving, mmengine is as it was.

    Why a scoped hook on ``Config._get_cfg_path`` rather than an entry for hpekit in
    mmengine's ``MODULE2PACKAGE`` table: mmengine looks a package's configs up in
    ``<installed package>/.mim/`` and needs its ``model-index.yml`` there; a source
    checkout (editable install) has neither (its configs are the repository's
    ``configs/``, as ``config_roots`` knows), so the table entry alone cannot work.
    mmengine calls its resolver as ``Config._get_cfg_path`` (a subclass cannot take
    its place), so the resolver is wrapped for the duration of the block only, under a
    re-entrant lock (nested loads share one wrapper): nothing in mmengine is changed at
    import, nor left changed afterwards. The shipped files are read with no scope
    (mmengine would add ``_scope_='hpekit'`` to their dicts), exactly as when named by
    a relative path: their dicts are hpekit's own and ``default_scope`` is hpekit.
    """
    state = _PACKAGE_SYNTAX
    with state['lock']:
        if state['depth'] == 0:
            state['original'] = Config.__dict__['_get_cfg_path']
            Config._get_cfg_path = staticmethod(_get_cfg_path)
        state['depth'] += 1
        try:
            yield
        finally:
            state['depth'] -= 1
            if state['depth'] == 0:
                Config._get_cfg_path = state['original']
                state['original'] = None


def _get_cfg_path(cfg_path, filename):
    """mmengine's ``Config._get_cfg_path`` with ``hpekit::`` paths resolved by hpekit:
    (absolute path, scope None) for those, mmengine's answer otherwise."""
    if isinstance(cfg_path, str) and cfg_path.startswith(PACKAGE_PREFIX):
        return resolve_package_path(cfg_path, referrer=filename), None
    return _PACKAGE_SYNTAX['original'].__func__(cfg_path, filename)


def _find_syntax_error(path, seen):
    """(file, line, message) of the first syntax error in ``path`` or its local
    ``_base_`` files (mmengine reports them as ``<unknown>``), or None."""
    path = osp.abspath(path)
    if path in seen or not osp.isfile(path) or not path.endswith('.py'):
        return None
    seen.add(path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        return path, error.lineno, error.msg
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return None
            for base in [bases] if isinstance(bases, str) else bases:
                if isinstance(base, str) and '::' not in base:
                    found = _find_syntax_error(osp.join(osp.dirname(path), base), seen)
                    if found:
                        return found
    return None


def get_config(name: str, cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """The loaded config of a shipped experiment (or of any config file), as the tools
    load it: ``hpekit.get_config('hg2-bottleneck_b24-20e_mpii-256')``.

    Args:
        name: an experiment config's name, a path relative to ``configs/`` or a file
            path (:func:`find_config_file`); ``.yaml`` experiments are converted.
        cfg_options: dict of dotted keys to override, as ``--cfg-options``.

    Returns:
        mmengine.config.Config: through :func:`load_config`
        (``--cfg-options`` merged, ``default_scope`` set).
    """
    return load_config(name, cfg_options)


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
    _set_model_wrapper(cfg)


def _set_model_wrapper(cfg):
    """DDP wrapper of distributed runs: hpekit's (CPU-capable) unless the config names one.

    ``find_unused_parameters`` (config key or flag) is passed on to the wrapper. The
    Runner ignores ``model_wrapper_cfg`` when ``launcher='none'``.
    """
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        # Scoped name: the Runner looks wrapper types up in mmengine's root registry.
        wrapper = dict(type='hpekit.HpekitDistributedDataParallel', broadcast_buffers=False)
    if cfg.get('find_unused_parameters'):
        wrapper['find_unused_parameters'] = True
    cfg.model_wrapper_cfg = wrapper


def setup_train_config(cfg, config_path, work_dir=None, resume=None, amp=False,
                       launcher='none', seed=None, deterministic=False, sync_bn=False,
                       accumulate=None, clip_grad=None, auto_scale_lr=False,
                       find_unused_parameters=False, pin_memory=False,
                       persistent_workers=False):
    """Apply ``tools/train.py``'s flags to ``cfg`` in place and return it.

    Args:
        resume: None (fresh run), 'auto' (latest checkpoint in the work dir) or a
            checkpoint path.
        amp: mixed precision: False, True (float16 with loss scaling on a GPU,
            bfloat16 on a CPU), 'float16' (GPU only) or 'bfloat16'.
        seed, deterministic: override ``randomness``; ``deterministic`` also seeds
            every rank differently (``randomness.diff_rank_seed``: seed + rank).
        sync_bn: ``sync_bn='torch'``: BatchNorm statistics over all ranks (GPUs only;
            the Runner converts the model when the run is distributed).
        accumulate (int): ``optim_wrapper.accumulative_counts``: step the optimizer
            every N iterations with the mean gradient of N batches.
        clip_grad (float): ``optim_wrapper.clip_grad``: clip the global L2 norm of the
            gradients to this value.
        auto_scale_lr: scale the lr by (world size × batch size) / base_batch_size;
            ``auto_scale_lr.base_batch_size`` of the config, else the config's
            ``train_dataloader.batch_size`` (the lr was set for one process).
        find_unused_parameters: DDP looks for parameters without gradient each step.
        pin_memory, persistent_workers: DataLoader options for the train and val
            loaders (``persistent_workers`` only where ``num_workers > 0``).
    """
    if find_unused_parameters:
        cfg.find_unused_parameters = True
    _common(cfg, config_path, work_dir, launcher)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    if amp:
        _enable_amp(cfg, amp, config_path)
    if seed is not None or deterministic:
        randomness = dict(cfg.get('randomness') or {})
        if seed is not None:
            randomness['seed'] = seed
        randomness['deterministic'] = bool(deterministic or randomness.get('deterministic'))
        if deterministic:
            randomness['diff_rank_seed'] = True
        cfg.randomness = randomness
    if sync_bn:
        cfg.sync_bn = 'torch'
    _check_sync_bn(cfg, config_path)
    _set_optim_options(cfg, config_path, accumulate, clip_grad)
    if auto_scale_lr:
        _enable_auto_scale_lr(cfg, config_path)
    set_loader_options(cfg, ('train_dataloader', 'val_dataloader'), pin_memory,
                       persistent_workers)
    _use_exact_resume_loop(cfg)
    return cfg


def _use_exact_resume_loop(cfg):
    """``train_cfg`` with ``by_epoch=True`` and no ``type`` → hpekit's ExactResumeTrainLoop
    (mmengine's epoch loop that also resumes exactly from mid-epoch checkpoints)."""
    train_cfg = cfg.get('train_cfg')
    if not train_cfg or 'type' in train_cfg or train_cfg.get('by_epoch') is not True:
        return
    train_cfg.pop('by_epoch')
    train_cfg['type'] = 'ExactResumeTrainLoop'


def _check_sync_bn(cfg, config_path):
    """SyncBN needs GPUs: refuse a distributed CPU run that asks for it."""
    sync_bn = cfg.get('sync_bn')
    if sync_bn is None:
        return
    if sync_bn not in ('torch', 'mmcv'):
        raise ValueError(f"{config_path}: sync_bn must be 'torch' or 'mmcv', got {sync_bn!r}")
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        raise ValueError(f'{config_path}: sync_bn={sync_bn!r} (--sync-bn) needs CUDA GPUs; '
                         "torch's SyncBatchNorm does not run on CPU. Drop it, or freeze "
                         'BatchNorm statistics (backbone norm_eval=True) for CPU runs.')


def _set_optim_options(cfg, config_path, accumulate, clip_grad):
    """``--accumulate N`` and ``--clip-grad MAX_NORM`` into ``optim_wrapper``."""
    if accumulate is not None:
        if isinstance(accumulate, bool) or not isinstance(accumulate, int) or accumulate < 1:
            raise ValueError(f'{config_path}: --accumulate must be an int >= 1, '
                             f'got {accumulate!r}')
        cfg.optim_wrapper.accumulative_counts = accumulate
    if clip_grad is not None:
        if not isinstance(clip_grad, (int, float)) or not clip_grad > 0:
            raise ValueError(f'{config_path}: --clip-grad must be a max norm > 0, '
                             f'got {clip_grad!r}')
        cfg.optim_wrapper.clip_grad = dict(max_norm=float(clip_grad), norm_type=2)


def _enable_auto_scale_lr(cfg, config_path):
    """``auto_scale_lr.enable=True``; base batch size from the config or its loader."""
    scale = dict(cfg.get('auto_scale_lr') or {})
    base = scale.get('base_batch_size', cfg.train_dataloader.get('batch_size'))
    if isinstance(base, bool) or not isinstance(base, int) or base < 1:
        raise ValueError(f'{config_path}: --auto-scale-lr needs auto_scale_lr.base_batch_size '
                         f'(or train_dataloader.batch_size), a positive int; got {base!r}')
    scale.update(enable=True, base_batch_size=base)
    cfg.auto_scale_lr = scale


def set_loader_options(cfg, loaders, pin_memory=False, persistent_workers=False):
    """Switch on ``pin_memory`` / ``persistent_workers`` for the named dataloaders.

    ``persistent_workers`` is set only for loaders with ``num_workers > 0`` (PyTorch
    refuses it otherwise); loaders missing from ``cfg`` are skipped.
    """
    for name in loaders:
        loader = cfg.get(name)
        if loader is None:
            continue
        if pin_memory:
            loader.pin_memory = True
        if persistent_workers and loader.get('num_workers', 0) > 0:
            loader.persistent_workers = True


def _enable_amp(cfg, amp, config_path):
    """Mixed precision. ``amp``: True/'auto' (float16 on a GPU, bfloat16 on a CPU),
    'float16' or 'bfloat16'. GPUs use mmengine's AmpOptimWrapper (float16 with dynamic
    loss scaling; bfloat16 needs none); CPUs hpekit's AutocastOptimWrapper (bfloat16:
    CPU autocast has no float16 kernels for most layers) with the model in channels-last
    memory format (``ChannelsLastHook``): oneDNN's bfloat16 convolutions are several
    times faster in it (a training step of the quick hourglass: 2.1× here;
    docs/benchmarks.md, "Roofline and bfloat16 inference")."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper',
                                                   'AutocastOptimWrapper'):
        raise ValueError(f"{config_path}: --amp: optim_wrapper.type is {wrapper.type!r}; "
                         "expected 'OptimWrapper' (or an AMP wrapper) to switch to mixed "
                         'precision')
    if amp not in (True, 'auto', 'float16', 'bfloat16'):
        raise ValueError(f"--amp: expected 'float16' or 'bfloat16' (or no value), got {amp!r}")
    on_gpu = torch.cuda.is_available()
    dtype = amp if amp in ('float16', 'bfloat16') else ('float16' if on_gpu else 'bfloat16')
    if on_gpu:
        wrapper.type, wrapper.dtype = 'AmpOptimWrapper', dtype
        if dtype == 'float16':
            wrapper.setdefault('loss_scale', 'dynamic')
        return
    if dtype != 'bfloat16':
        raise ValueError("--amp float16 needs a GPU; on a CPU use --amp bfloat16 (or --amp)")
    wrapper.type, wrapper.dtype = 'AutocastOptimWrapper', 'bfloat16'
    wrapper.pop('loss_scale', None)
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(hook.get('type') == 'ChannelsLastHook' for hook in hooks):
        cfg.custom_hooks = hooks + [dict(type='ChannelsLastHook')]


def setup_test_config(cfg, config_path, checkpoint, work_dir=None, launcher='none',
                      pin_memory=False, persistent_workers=False, allow_nonfinite=False):
    """Apply ``tools/test.py``'s flags: load ``checkpoint`` (weights only, no resume).

    ``pin_memory`` / ``persistent_workers`` apply to the test loader (see
    ``set_loader_options``). ``allow_nonfinite`` (``--allow-nonfinite-weights``):
    weights holding NaN/Inf load with a warning instead of an error
    (``default_hooks.checkpoint_keys.allow_nonfinite``: ``CheckpointKeysHook`` checks
    the weights when the Runner loads them).
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    _common(cfg, config_path, work_dir, launcher)
    set_loader_options(cfg, ('test_dataloader', ), pin_memory, persistent_workers)
    cfg.load_from = checkpoint
    cfg.resume = False
    if allow_nonfinite:
        hook = (cfg.get('default_hooks') or {}).get('checkpoint_keys')
        if isinstance(hook, dict):
            hook['allow_nonfinite'] = True
    return cfg


def enable_tensorboard(cfg):
    """``--tensorboard``: add mmengine's ``TensorboardVisBackend`` to the visualizer.

    Scalars (losses, metrics) and the ``PoseVisualizationHook`` pictures then also go
    to TensorBoard event files under ``<work_dir>/<timestamp>/vis_data/``
    (``tensorboard --logdir <work_dir>``); the configured backends stay. TensorBoard
    is optional: without the ``tensorboard`` package this raises ImportError saying
    how to install it, before anything runs.
    """
    if importlib.util.find_spec('tensorboard') is None:
        raise ImportError('--tensorboard needs the tensorboard package, which is not '
                          'installed: pip install tensorboard')
    visualizer = dict(cfg.get('visualizer') or dict(type='Visualizer'))
    backends = [dict(b) for b in visualizer.get('vis_backends') or
                [dict(type='LocalVisBackend')]]
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer['vis_backends'] = backends
    cfg.visualizer = visualizer
    return cfg
