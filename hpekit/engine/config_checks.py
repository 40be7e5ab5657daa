"""Check a config before any heavy work: part names, their arguments, data folders.

``tools/train.py`` and ``tools/test.py`` call ``check_config`` right after reading the
config, before the Runner builds the model or opens any data, so a typo fails in a
second with a message naming the config key, the part and the argument, instead of
minutes later (or, for a data loader, after the model was built).
"""
import difflib
import inspect
import os.path as osp
import sys

from hpekit.registry import (BLOCKS, DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPERS,
                             OPTIMIZERS, PARAM_SCHEDULERS, TRANSFORMS)

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
GENERIC_MAKE_DATA = 'python tools/make_synthetic_data.py {h36m,mpii} --out {root}'


class ConfigError(ValueError):
    """A config names an unknown part or argument (the key path is named)."""


def _accepted(cls):
    """Names of the keyword arguments ``cls`` takes, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):   # builtins without a signature: cannot check
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _resolve(registries, name, where):
    """The class ``name`` names in the first of ``registries`` that has it."""
    for registry in registries:
        if name in registry:
            return registry.get(name)
    try:
        registries[0].get(name)   # raises KeyError with the closest names
    except KeyError as err:
        raise ConfigError(f'{where}: {err.args[0]}') from None
    return None   # pragma: no cover  (get raised)


def check_part(cfg, registries, where, fixed=(), skip=()):
    """Check one ``dict(type=..., **kwargs)`` and the parts nested in it.

    Args:
        cfg (dict): the part's config.
        registries (sequence[Registry]): where ``type`` is looked up, first match wins.
        where (str): its key path in the config, for messages (e.g. 'model.backbone').
        fixed (sequence[str]): keys the builder consumes or passes itself.
        skip (sequence[str]): keys not to look into (checked elsewhere).

    Raises:
        ConfigError: unknown type (closest names suggested) or an argument the part
            does not take (the part, the argument and close argument names).
    """
    if not isinstance(cfg.get('type'), str):
        return
    cls = _resolve(registries, cfg['type'], where)
    accepted = _accepted(cls)
    if accepted is not None:
        for key in cfg:
            if key != 'type' and key not in accepted and key not in fixed:
                close = difflib.get_close_matches(key, accepted, n=3, cutoff=0.6)
                hint = f' Did you mean: {", ".join(close)}?' if close else ''
                raise ConfigError(
                    f"{where}: {cfg['type']} takes no argument {key!r}.{hint} "
                    f"Its arguments: {', '.join(a for a in accepted if a != 'self')}.")
    for key, value in cfg.items():
        if key.endswith('_cfg') or key == 'type' or key in skip:   # norm_cfg, init_cfg …
            continue
        nested = TRANSFORMS if key == 'pipeline' else None
        _check_nested(value, f'{where}.{key}', nested, registries)


def _check_nested(value, where, registry, parents):
    """Parts inside a part: in ``registry`` if given, else the parent's registries."""
    registries = [registry] if registry is not None else [*parents, BLOCKS]
    if isinstance(value, dict) and 'type' in value:
        check_part(value, registries, where)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, dict) and 'type' in item:
                check_part(item, registries, f'{where}[{i}]')


def check_data_root(dataset, where):
    """A dataset's ``data_root`` must exist; the message says how to make synthetic data."""
    root = dataset.get('data_root')
    if not isinstance(root, str) or osp.isdir(root):
        return
    command = GENERIC_MAKE_DATA
    if isinstance(dataset.get('type'), str) and dataset['type'] in DATASETS:
        module = sys.modules.get(DATASETS.get(dataset['type']).__module__)
        command = getattr(module, 'MAKE_SYNTHETIC_CMD', command)
    raise FileNotFoundError(
        f'{where}.data_root: folder {root} does not exist. Point it at the data '
        f'(--cfg-options {where}.data_root=DIR) or make a small synthetic stand-in with: '
        f'{command.replace("{root}", root)}')


def check_config(cfg, loaders=LOADERS):
    """Check the parts of a full config and the data roots of ``loaders``.

    Looks at: model (MODELS, nested parts too), the train/val/test datasets (DATASETS,
    their pipelines in TRANSFORMS), the data_root of the datasets of ``loaders`` (the
    ones the tool will use), val/test evaluators (METRICS),
    default_hooks / custom_hooks (HOOKS), optim_wrapper and its optimizer,
    param_scheduler. Builds nothing and reads no data.

    Raises:
        ConfigError: see ``check_part``.
        FileNotFoundError: a data_root folder is missing (see ``check_data_root``).
    """
    if cfg.get('model'):
        check_part(cfg.model, [MODELS], 'model')
    for name in LOADERS:
        dataset = (cfg.get(name) or {}).get('dataset')
        if dataset:
            check_part(dataset, [DATASETS], f'{name}.dataset')
            if name in loaders:
                check_data_root(dataset, f'{name}.dataset')
    for name in ('val_evaluator', 'test_evaluator'):
        _check_nested(cfg.get(name), name, METRICS, ())
    for name, hook in (cfg.get('default_hooks') or {}).items():
        _check_nested(hook, f'default_hooks.{name}', HOOKS, ())
    _check_nested(cfg.get('custom_hooks'), 'custom_hooks', HOOKS, ())
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper:
        check_part(dict(wrapper, type=wrapper.get('type', 'OptimWrapper')), [OPTIM_WRAPPERS],
                   'optim_wrapper', fixed=('optimizer', 'paramwise_cfg', 'constructor'),
                   skip=('optimizer', ))
    _check_nested(wrapper.get('optimizer'), 'optim_wrapper.optimizer', OPTIMIZERS, ())
    schedulers = cfg.get('param_scheduler')
    for i, scheduler in enumerate(schedulers if isinstance(schedulers, list)
                                  else [schedulers] if schedulers else []):
        check_part(scheduler, [PARAM_SCHEDULERS], f'param_scheduler[{i}]',
                   fixed=('optimizer', 'by_epoch'))
