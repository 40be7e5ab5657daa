"""Check a config before any heavy work: part names, arguments, values, data folders.

``tools/train.py`` and ``tools/test.py`` call ``check_config`` right after reading the
config, before the Runner builds the model or opens any data, so a typo fails in a
second with a message naming the config key, the part and the argument, instead of
minutes later (or, for a data loader, after the model was built). ``load_config``
(``hpekit.config.setup``) calls ``check_cfg_options`` before it merges
``--cfg-options``, so a mistyped key there is an error rather than a new, unused key.

What is checked, each error naming its config path:

- every part's ``type`` is registered; its arguments are ones its class takes, and
  the ones it requires (no default) are given — a missing ``encoder`` / ``decoder``
  / ``input_size`` with a message saying to write ``encoder=codec`` (…);
- the config's ``codec`` (``check_codec``): every part that takes the codec or its
  input size is given it, and no part holds another one — so a child config that
  changes only ``codec`` (the base's pipelines and head were computed with the base's
  codec when the base was read) is refused, naming the keys to re-state;
- a value given as a string where the argument's default (or annotation) is a number
  (``lr='1e-3'``);
- intervals, epochs, iterations and sizes are positive ints (``val_interval=0``,
  ``batch_size=0``), ``num_workers >= 0``, ``lr >= 0``;
- a hook, the visualizer or the optimizer given without ``type``: a partial override
  in a config that does not inherit the base it overrides (mmengine would fail with
  ``KeyError: ... must contain the key "type"``); the error says to inherit it,
  ``_base_ = ['hpekit::_base_/default_runtime.py']``;
- the keys of the loops (``train_cfg``/``val_cfg``/``test_cfg``), data loaders,
  ``randomness`` and ``auto_scale_lr``;
- the steps of keypoint pipelines (``check_pipelines``): an image-only geometric
  transform of mmcv/mmengine (``Resize``, ``CenterCrop``, …: the image moves, the
  keypoints do not) and a ``RandomFlip`` that no ``TopdownAffine`` applies;
- the ``data_root`` folders of the loaders a tool uses.
"""
import difflib
import inspect
import numbers
import os.path as osp
import sys
import warnings
from typing import Optional

from torch.utils.data import DataLoader

from hpekit.registry import (BLOCKS, DATA_SAMPLERS, DATASETS, HOOKS, KEYPOINT_CODECS,
                             LOG_PROCESSORS, LOOPS, METRICS, MODELS, OPTIM_WRAPPERS, OPTIMIZERS,
                             PARAM_SCHEDULERS, TRANSFORMS)

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
GENERIC_MAKE_DATA = 'python tools/make_synthetic_data.py {h36m,mpii} --out {root}'
# Nested keys whose parts live in the codec registry.
CODEC_KEYS = ('encoder', 'decoder', 'codec')
# Nested keys holding a list of transforms (PipelineSwitchHook's switch_pipeline).
PIPELINE_KEYS = ('pipeline', 'switch_pipeline')

# Top-level keys the Runner or hpekit's tools read (a config may add its own variables).
KNOWN_TOP_LEVEL = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name', 'model_wrapper_cfg',
    'find_unused_parameters', 'sync_bn', 'compile', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'custom_imports', 'codec', 'gpu_ids', 'strategy',
    'mmpose_untranslated')
# Dicts without ``type`` whose keys check_config checks (so --cfg-options may add keys).
CHECKED_PLAIN = ('train_cfg', 'val_cfg', 'test_cfg', *LOADERS, 'randomness',
                 'auto_scale_lr', 'optim_wrapper', 'default_hooks')
# Dicts whose keys are free-form (passed on as **kwargs): any key may be added.
OPEN_PLAIN = ('env_cfg', 'model_wrapper_cfg', 'optim_wrapper.paramwise_cfg')
# mmengine's default hooks: a ``default_hooks.<name>`` without ``type`` is taken for an
# override of the base's hook of that name (the error says to inherit the base).
DEFAULT_HOOK_NAMES = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                      'checkpoint')
# Keys that must be positive ints wherever they appear (-1 allowed where noted).
POSITIVE_INTS = ('max_epochs', 'max_iters', 'batch_size', 'val_interval', 'window_size')
POSITIVE_OR_NEVER = ('interval', 'max_keep_ckpts')   # -1: never / keep all
# Arguments of a model part that are themselves parts: a dict there needs a ``type``.
MODEL_PART_KEYS = ('backbone', 'neck', 'head', 'spatial_neck', 'temporal_neck',
                   'data_preprocessor', 'loss')
DATALOADER_EXTRA = ('dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
                    'num_batch_per_epoch', 'disable_subprocess_warning')
#: hpekit's transforms that make a pipeline a keypoint pipeline (``check_pipelines``).
KEYPOINT_STEPS = ('TopdownAffine', 'GenerateTarget', 'PackPoseInputs')
#: Geometric transforms of mmcv (and OpenMMLab names a parent registry may hold) that
#: move the image's pixels but not the keypoints, with what to use instead in a
#: keypoint pipeline (``check_pipelines``).
_CROP = "TopdownAffine(input_size=codec['input_size']) crops the person box to the input"
IMAGE_ONLY_GEOMETRIC = {
    'RandomFlip': "use hpekit's dict(type='RandomFlip', direction='horizontal') (no scope "
                  'prefix) before TopdownAffine, or TopdownAffine(flip_prob=0.5)',
    'Resize': f'{_CROP} and resizes it; scale augmentation is TopdownAffine(scale_factor=...)',
    'RandomResize': f'{_CROP}; scale augmentation is TopdownAffine(scale_factor=...)',
    'RandomChoiceResize': f'{_CROP}; scale augmentation is TopdownAffine(scale_factor=...)',
    'CenterCrop': f'{_CROP}; RandomHalfBody crops to half the body',
    'RandomCrop': f'{_CROP}; jitter it with TopdownAffine(scale_factor=..., '
                  'rotate_factor=...) or RandomHalfBody',
    'Pad': 'TopdownAffine fills what lies outside the image with black: no padding step',
    'MultiScaleFlipAug': 'flip test is model.test_cfg.flip_test=True',
    'TestTimeAug': 'flip test is model.test_cfg.flip_test=True',
    'RandomRotate': 'rotation is TopdownAffine(rotate_factor=..., rotate_prob=...)',
    'Rotate': 'rotation is TopdownAffine(rotate_factor=..., rotate_prob=...)',
    'RandomAffine': "TopdownAffine draws scale, rotation and flip in its one crop matrix",
}


class ConfigError(ValueError):
    """A config names an unknown part or argument, or a bad value (the key path is named)."""


#: The arguments through which a part takes the config's codec (or its input size).
CODEC_ARGS = ('encoder', 'decoder', 'input_size')


class CodecNotSetError(TypeError, ValueError):
    """A part that needs the config's codec (``encoder``, ``decoder``) or its input size
    (``input_size``) was not given it. hpekit fills nothing from a config's ``codec``
    variable: a config passes it explicitly, as MMPose's configs do. A TypeError (a
    missing argument) and a ValueError (a missing value), so either is caught."""


def codec_not_set(key: str, part: Optional[str] = None, alternative: Optional[str] = None,
                  explain: bool = True) -> CodecNotSetError:
    """The error for the config key ``key`` (a dotted path ending in ``encoder``,
    ``decoder`` or ``input_size``, e.g. ``'model.head.decoder'``) left unset on a part
    (of type ``part``): the message says what to write there (or ``alternative``),
    and with ``explain`` how a config writes its codec."""
    arg = key.rsplit('.', 1)[-1]
    value = "codec['input_size']" if arg == 'input_size' else 'codec'
    what = "the config's codec dict" if arg != 'input_size' else \
        "the (W, H) input size of the config's codec dict"
    message = (f"{key} is not set{f' ({part})' if part else ''}: add {arg}={value} "
               f"({what}){f', or {alternative}' if alternative else ''}")
    if explain:
        message += ('. A config writes its codec once, e.g. codec = dict(type='
                    "'MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2), "
                    'and passes it to every part that uses it, as MMPose configs do (hpekit '
                    'fills nothing from `codec`).')
    return CodecNotSetError(message)


def _close(key, names):
    names = list(dict.fromkeys(str(n) for n in names))   # each name once
    close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.6)
    return f' Did you mean: {", ".join(close)}?' if close else ''


def _parameters(cls):
    """``inspect.signature(cls).parameters`` or None when there is no signature."""
    try:
        return inspect.signature(cls).parameters
    except (TypeError, ValueError):   # builtins without a signature: cannot check
        return None


def _accepted(cls):
    """Names of the keyword arguments ``cls`` takes, or None when it takes ``**kwargs``."""
    params = _parameters(cls)
    if params is None or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return [p.name for p in params.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


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


def _is_number_param(param):
    """True when ``param``'s default (or annotation) says it takes a number."""
    default = param.default
    if default is not param.empty and default is not None:
        return isinstance(default, numbers.Number) and not isinstance(default, bool)
    annotation = param.annotation
    return annotation in (int, float, 'int', 'float')


#: What a config of the user's own writes first to override only some keys of hpekit's.
RUNTIME_BASE = "_base_ = ['hpekit::_base_/default_runtime.py']"


def partial_override_error(where: str, value: dict, what: str) -> ConfigError:
    """The error for a dict at ``where`` that gives no ``type``: a part of the Runner
    (a hook, the visualizer, the optimizer) overridden in part, in a config that does
    not inherit the base it overrides, so mmengine would get a part without a type.

    Args:
        where: the config key, e.g. ``'default_hooks.checkpoint'``.
        value: the dict found there.
        what: the kind of part, for the message (``'hook'``).
    """
    return ConfigError(
        f"{where}: no {what} type given (found {dict(value)!r:.120}): a partial override "
        f'needs the base it overrides. Inherit it first, {RUNTIME_BASE} (or a shipped '
        f"experiment, e.g. _base_ = ['hpekit::coco/rtmpose_synthetic-quick.py']), or "
        f"give the whole part, dict(type='...', ...).")


def check_value(where, key, value):
    """Range and type rules for interval/size keys (see module doc)."""
    path = f'{where}.{key}' if where else key
    if key in POSITIVE_INTS or key in POSITIVE_OR_NEVER or key == 'num_workers':
        if isinstance(value, bool) or not isinstance(value, int):
            what = 'the string ' if isinstance(value, str) else ''
            raise ConfigError(f'{path}: expected an int, got {what}{value!r}')
        if key == 'num_workers' and value < 0:
            raise ConfigError(f'{path}: expected an int >= 0, got {value}')
        if key in POSITIVE_INTS and value < 1:
            raise ConfigError(f'{path}: expected an int >= 1, got {value}')
        if key in POSITIVE_OR_NEVER and value < 1 and value != -1:
            meaning = 'never' if key == 'interval' else 'keep all'
            raise ConfigError(f'{path}: expected an int >= 1, or -1 ({meaning}); got {value}')
    if key == 'seed' and value is not None and \
            (isinstance(value, bool) or not isinstance(value, int)):
        what = 'the string ' if isinstance(value, str) else ''
        raise ConfigError(f'{path}: expected an int (or None for a random seed), got '
                          f'{what}{value!r}')
    if key == 'milestones' and (
            not isinstance(value, (list, tuple)) or
            any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in value)):
        raise ConfigError(f'{path}: expected a list of ints >= 0 (the epochs or iterations '
                          f'at which the value changes), got {value!r}')
    if key == 'lr' and isinstance(value, numbers.Number) and not isinstance(value, bool) \
            and value < 0:
        raise ConfigError(f'{path}: the learning rate must be >= 0, got {value}')


def check_part(cfg, registries, where, fixed=(), skip=()):
    """Check one ``dict(type=..., **kwargs)`` and the parts nested in it.

    Args:
        cfg (dict): the part's config.
        registries (sequence[Registry]): where ``type`` is looked up, first match wins.
        where (str): its key path in the config, for messages (e.g. 'model.backbone').
        fixed (sequence[str]): keys the builder consumes or passes itself.
        skip (sequence[str]): keys not to look into (checked elsewhere).

    Raises:
        ConfigError: unknown type (closest names suggested), an argument the part
            does not take (the part, the argument and close argument names), a
            required argument missing (a codec argument: ``codec_not_set``'s message,
            e.g. "model.head.decoder is not set: add decoder=codec …"), a number given
            as a string, or a bad value.
    """
    if not isinstance(cfg.get('type'), str):
        return
    cls = _resolve(registries, cfg['type'], where)
    params = _parameters(cls)
    accepted = _accepted(cls)
    if accepted is not None:
        for key in cfg:
            if key != 'type' and key not in accepted and key not in fixed:
                raise ConfigError(
                    f"{where}: {cfg['type']} takes no argument {key!r}."
                    f"{_close(key, accepted)} Its arguments: "
                    f"{', '.join(a for a in accepted if a != 'self')}.")
    # Parts of the block registry get channel arguments from the backbone that builds them.
    if params is not None and cls not in BLOCKS.module_dict.values():
        missing = [p.name for p in params.values()
                   if p.default is p.empty and p.name != 'self'
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                   and p.name not in cfg and p.name not in fixed]
        for name in missing:
            if name in CODEC_ARGS:
                raise ConfigError(str(codec_not_set(f'{where}.{name}', cfg['type'])))
        if missing:
            raise ConfigError(
                f"{where}: {cfg['type']} needs the argument(s) {', '.join(map(repr, missing))} "
                f"(no default), which the config does not set.")
        for name in (p.name for p in params.values() if p.default is p.empty and
                     p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)):
            if name in cfg and cfg[name] is None and name in CODEC_ARGS:
                raise ConfigError(str(codec_not_set(f'{where}.{name}', cfg['type'])))
            if name in cfg and cfg[name] is None:
                raise ConfigError(f"{where}.{name}: is None, but {cfg['type']} needs it (no "
                                  f'default): give it a value (a dict(type=...) for a part).')
    if MODELS in registries:
        for key in MODEL_PART_KEYS:
            if isinstance(cfg.get(key), dict) and 'type' not in cfg[key]:
                raise ConfigError(f"{where}.{key}: no 'type' given: a part is a "
                                  f"dict(type='ClassName', ...).")
    for key, value in cfg.items():
        if key == 'type':
            continue
        param = params.get(key) if params is not None else None
        if isinstance(value, str) and param is not None and _is_number_param(param):
            raise ConfigError(
                f'{where}.{key}: {cfg["type"]} expects a number, got the string {value!r} '
                f'(write it without quotes)')
        check_value(where, key, value)
    for key, value in cfg.items():
        if key.endswith('_cfg') or key == 'type' or key in skip:   # norm_cfg, init_cfg …
            continue
        if key == 'transforms' and cfg['type'] == 'Albumentation':
            continue   # albumentations' own class names, checked when it is built
        nested = TRANSFORMS if key in PIPELINE_KEYS else \
            KEYPOINT_CODECS if key in CODEC_KEYS else None
        _check_nested(value, f'{where}.{key}', nested, registries)


def _check_nested(value, where, registry, parents, fixed=()):
    """Parts inside a part: in ``registry`` if given, else the parent's registries."""
    registries = [registry] if registry is not None else [*parents, BLOCKS]
    if isinstance(value, dict) and 'type' in value:
        check_part(value, registries, where, fixed=fixed)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, dict) and 'type' in item:
                check_part(item, registries, f'{where}[{i}]', fixed=fixed)


def _check_plain(cfg, where, accepted, fixed=()):
    """A dict without ``type`` whose keys are known (``accepted``)."""
    for key, value in cfg.items():
        if key not in accepted and key not in fixed:
            raise ConfigError(f'{where}: unknown key {key!r}.{_close(key, accepted)} '
                              f'Known keys: {", ".join(accepted)}.')
        check_value(where, key, value)


def check_loop(cfg, name):
    """``train_cfg``/``val_cfg``/``test_cfg``: keys against the loop that will run them."""
    loop = cfg.get(name)
    if not loop:
        return
    loop = dict(loop)
    fixed = ('runner', 'dataloader', 'evaluator')
    if 'type' not in loop:
        if name == 'train_cfg':
            by_epoch = loop.pop('by_epoch', None)
            if by_epoch is None:
                return   # mmengine refuses it itself with a clear message
            loop['type'] = 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'
        else:
            loop['type'] = 'ValLoop' if name == 'val_cfg' else 'TestLoop'
    check_part(loop, [LOOPS], name, fixed=fixed)


def check_dataloader(loader, where):
    """A data loader's own keys (DataLoader's arguments and mmengine's extras)."""
    accepted = [*(_accepted(DataLoader) or []), *DATALOADER_EXTRA]
    _check_plain(loader, where, list(dict.fromkeys(accepted)))
    sampler = loader.get('sampler')
    if isinstance(sampler, dict) and 'type' in sampler:
        check_part(sampler, [DATA_SAMPLERS], f'{where}.sampler', fixed=('dataset', 'seed'))


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


def _check_translated(cfg, loaders):
    """Raise the translation error of an MMPose config's section a tool needs: its
    ``loaders``, their evaluators, and for training its custom hooks."""
    untranslated = cfg.get('mmpose_untranslated') or {}
    needed = [*loaders, *(name.replace('dataloader', 'evaluator') for name in loaders
                          if name != 'train_dataloader')]
    needed += ['custom_hooks'] if 'train_dataloader' in loaders else []
    for name in needed:
        if name in untranslated:
            raise ConfigError(untranslated[name])


def check_config(cfg, loaders=LOADERS):
    """Check the parts of a full config and the data roots of ``loaders``.

    Looks at: model (MODELS, nested parts too; codecs in KEYPOINT_CODECS), the
    train/val/test loaders and datasets (DATASETS, their pipelines in TRANSFORMS), the
    data_root of the datasets of ``loaders`` (the ones the tool will use), the loops,
    val/test evaluators (METRICS), default_hooks / custom_hooks (HOOKS), optim_wrapper
    and its optimizer, param_scheduler, randomness and auto_scale_lr; a hook, the
    visualizer or the optimizer without ``type`` (``partial_override_error``). Builds
    nothing and reads no data.

    Raises:
        ConfigError: see ``check_part`` and the module doc.
        FileNotFoundError: a data_root folder is missing (see ``check_data_root``).
    """
    _check_translated(cfg, loaders)
    if isinstance(cfg.get('codec'), dict):
        check_part(cfg.codec, [KEYPOINT_CODECS], 'codec')
    if cfg.get('model'):
        if isinstance(cfg.model, dict) and 'type' not in cfg.model:
            raise ConfigError("model: no 'type' given: the model is a dict(type='ClassName', "
                              "...), e.g. type='TopDownPoseEstimator'.")
        check_part(cfg.model, [MODELS], 'model')
    for name in LOADERS:
        loader = cfg.get(name) or {}
        if loader:
            check_dataloader(loader, name)
            if loader.get('dataset') is None:
                raise ConfigError(f"{name}: no 'dataset' given: a data loader needs "
                                  f"dataset=dict(type=..., data_root=..., pipeline=...).")
        dataset = loader.get('dataset')
        if dataset:
            check_part(dataset, [DATASETS], f'{name}.dataset')
            if name in loaders:
                check_data_root(dataset, f'{name}.dataset')
    check_codec(cfg)
    for name in ('train_cfg', 'val_cfg', 'test_cfg'):
        check_loop(cfg, name)
    for name in ('val_evaluator', 'test_evaluator'):
        _check_nested(cfg.get(name), name, METRICS, ())
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, dict) and 'type' not in hook:
            close = _close(name, [k for k in cfg.default_hooks if k != name])
            if name not in DEFAULT_HOOK_NAMES and close:
                raise ConfigError(f'default_hooks.{name}: no hook type given, and '
                                  f"{name!r} is not a hook of the config.{close}")
            raise partial_override_error(f'default_hooks.{name}', hook, 'hook')
        _check_nested(hook, f'default_hooks.{name}', HOOKS, ())
    _check_nested(cfg.get('custom_hooks'), 'custom_hooks', HOOKS, ())
    if isinstance(cfg.get('visualizer'), dict) and 'type' not in cfg.visualizer:
        raise partial_override_error('visualizer', cfg.visualizer, 'visualizer')
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper:
        check_part(dict(wrapper, type=wrapper.get('type', 'OptimWrapper')), [OPTIM_WRAPPERS],
                   'optim_wrapper', fixed=('optimizer', 'paramwise_cfg', 'constructor'),
                   skip=('optimizer', ))
    if isinstance(wrapper.get('optimizer'), dict) and 'type' not in wrapper.optimizer:
        raise partial_override_error('optim_wrapper.optimizer', wrapper.optimizer,
                                     'optimizer')
    _check_nested(wrapper.get('optimizer'), 'optim_wrapper.optimizer', OPTIMIZERS, (),
                  fixed=('params', ))
    schedulers = cfg.get('param_scheduler')
    for i, scheduler in enumerate(schedulers if isinstance(schedulers, list)
                                  else [schedulers] if schedulers else []):
        check_part(scheduler, [PARAM_SCHEDULERS], f'param_scheduler[{i}]',
                   fixed=('optimizer', 'by_epoch'))
    processor = cfg.get('log_processor')
    if isinstance(processor, dict):
        check_part(dict(processor, type=processor.get('type', 'LogProcessor')),
                   [LOG_PROCESSORS], 'log_processor')
    if isinstance(cfg.get('randomness'), dict):
        _check_plain(cfg.randomness, 'randomness', ('seed', 'diff_rank_seed', 'deterministic'))
    if isinstance(cfg.get('auto_scale_lr'), dict):
        _check_plain(cfg.auto_scale_lr, 'auto_scale_lr', ('enable', 'base_batch_size'))
    check_pipelines(cfg)


def _pipelines(node, where):
    """(key path, list of steps) of every pipeline below ``node`` (``PIPELINE_KEYS``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f'{where}.{key}' if where else str(key)
            if key in PIPELINE_KEYS and isinstance(value, (list, tuple)):
                yield path, value
            else:
                yield from _pipelines(value, path)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _pipelines(item, f'{where}[{i}]')


def _steps(steps, where, own):
    """(index in the pipeline, key path, step dict, class or None) of the steps, and of
    the steps inside mmcv's wrappers (``RandomApply(transforms=[...])``,
    ``RandomChoice``, …; not inside hpekit's own parts, e.g. ``Albumentation``'s
    albumentations names)."""
    def walk(node, path, index):
        if isinstance(node, dict) and 'type' in node:
            cls = _transform_class(node['type'])
            yield index, path, node, cls
            if 'transforms' in node and cls is not None and cls not in own:
                yield from walk(node['transforms'], f'{path}.transforms', index)
        elif isinstance(node, (list, tuple)):
            for j, item in enumerate(node):
                yield from walk(item, f'{path}[{j}]', index)
    for i, step in enumerate(steps):
        yield from walk(step, f'{where}[{i}]', i)


def _transform_class(type_name):
    """The class a transform ``type`` names (a class as it is), or None if unknown."""
    if inspect.isclass(type_name):
        return type_name
    if isinstance(type_name, str) and type_name in TRANSFORMS:
        return TRANSFORMS.get(type_name)
    return None


def check_pipelines(cfg):
    """The steps of every keypoint pipeline do what their names promise.

    A keypoint pipeline is one holding hpekit's ``TopdownAffine``, ``GenerateTarget``
    or ``PackPoseInputs`` (in any data loader's dataset, nested datasets included, or
    ``custom_hooks[i].switch_pipeline``). ConfigError, naming the step's key path
    (e.g. ``train_dataloader.dataset.pipeline[2]``):

    - a step that resolves to a transform hpekit does not register, found in a parent
      registry (mmcv's, mmengine's), that is image-only geometric
      (``IMAGE_ONLY_GEOMETRIC``: ``Resize``, ``RandomResize``, ``CenterCrop``,
      ``RandomCrop``, ``Pad``, ``RandomFlip`` named as ``mmengine.RandomFlip``, …):
      it moves the pixels and not the keypoints, so every label would be silently
      wrong; the message says what to use instead. Pixel-only parent transforms
      (``RandomGrayscale``, …) stay allowed;
    - hpekit's ``RandomFlip`` (it only draws the flip) with no ``TopdownAffine`` after
      it in its pipeline; beside a ``TopdownAffine`` given an explicit
      ``flip_prob`` > 0 (two flip draws, of which ``TopdownAffine`` would use only
      ``RandomFlip``'s); or in a val/test loader's pipeline (a mirrored crop would be
      decoded back with left and right swapped).
    """
    own = set(TRANSFORMS.module_dict.values())
    for child in TRANSFORMS.children.values():
        own.update(child.module_dict.values())
    sections = [(name, cfg.get(name)) for name in (*LOADERS, 'custom_hooks')]
    for section, node in sections:
        for where, steps in _pipelines(node, section):
            found = list(_steps(steps, where, own))
            ours = [(i, path, cls.__name__) for i, path, _, cls in found if cls in own]
            if not any(name in KEYPOINT_STEPS for *_, name in ours):
                flips = [path for _, path, name in ours if name == 'RandomFlip']
                if flips:
                    raise ConfigError(
                        f'{flips[0]}: RandomFlip is the top-down keypoint flip (it draws '
                        'the flip, TopdownAffine applies it), and this pipeline has no '
                        'TopdownAffine. For video clips use ClipRandomFlip, for 2D → 3D '
                        'lifting LiftingRandomFlip.')
                continue
            for i, path, step, cls in found:
                if cls is None:
                    continue
                if cls not in own and cls.__name__ in IMAGE_ONLY_GEOMETRIC:
                    raise ConfigError(
                        f"{path}: {step['type']!r} is {cls.__module__}.{cls.__name__}, an "
                        'image-only transform hpekit does not register (its TRANSFORMS '
                        "registry falls back to mmcv's/mmengine's): in a keypoint "
                        'pipeline it moves the pixels but not the keypoints, so every '
                        'label would be silently wrong. Instead: '
                        f'{IMAGE_ONLY_GEOMETRIC[cls.__name__]}.')
                if cls in own and cls.__name__ == 'RandomFlip':
                    _check_random_flip(section, path, i, where, found, own)


def _check_random_flip(section, path, index, where, found, own):
    """hpekit's RandomFlip, step ``index`` of the pipeline at ``where`` (its steps
    ``found`` by ``_steps``): see ``check_pipelines``."""
    if section in ('val_dataloader', 'test_dataloader'):
        raise ConfigError(
            f'{path}: RandomFlip in a {section} pipeline: the mirrored crop would be '
            'predicted and decoded back with left and right swapped. Remove it; flip '
            'test (the crop and its mirror averaged) is model.test_cfg.flip_test=True.')
    affines = [(i, step) for i, _, step, cls in found
               if cls in own and cls.__name__ == 'TopdownAffine']
    after = [(i, step) for i, step in affines if i > index]
    if not after:
        before = f' (the one at {where}[{affines[0][0]}] comes before it)' if affines else ''
        raise ConfigError(
            f'{path}: RandomFlip only draws the flip; the TopdownAffine after it applies '
            f'it, and there is none after it{before}: the flip would be lost. Put '
            'RandomFlip before TopdownAffine.')
    j, affine = after[0]
    flip_prob = affine.get('flip_prob')
    if isinstance(flip_prob, numbers.Number) and flip_prob > 0:
        raise ConfigError(
            f'{path} (RandomFlip) and {where}[{j}].flip_prob={flip_prob} (TopdownAffine) '
            'both draw a flip; TopdownAffine would use RandomFlip\'s draw and ignore '
            f'flip_prob. Keep one: remove the RandomFlip, or set {where}[{j}].flip_prob=0 '
            '(or leave it out).')


def _codec_part_class(type_name):
    """The class a transform or model part config names, or None (unknown, or a codec)."""
    if inspect.isclass(type_name):
        cls = type_name
    elif isinstance(type_name, str):
        cls = next((r.get(type_name) for r in (TRANSFORMS, MODELS) if type_name in r), None)
    else:
        cls = None
    return None if cls is None or cls in KEYPOINT_CODECS.module_dict.values() else cls


def _plain_value(value):
    """Lists → tuples and ConfigDicts → dicts, all the way down (for comparing)."""
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_plain_value(v) for v in value)
    return value


def _codec_problems(node, where, codec, input_size, problems):
    """Collect, below ``node`` (at key path ``where``), the parts that take the codec
    (or its input size) and are not given it, or are given another one."""
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _codec_problems(item, f'{where}[{i}]', codec, input_size, problems)
        return
    if not isinstance(node, dict):
        return
    cls = _codec_part_class(node.get('type')) if 'type' in node else None
    params = _parameters(cls) if cls is not None else None
    for arg in CODEC_ARGS if params else ():
        param = params.get(arg)
        if param is None or param.default not in (None, param.empty):
            continue   # not a codec argument of this class (e.g. LoadImage's decoder='auto')
        expected = codec if arg != 'input_size' else input_size
        value = node.get(arg)
        if value is None:
            if arg == 'input_size' and (expected is None or node.get('size') is not None):
                continue   # a codec without input size (lifting); ClipResize(size=...)
            problems.append(str(codec_not_set(f'{where}.{arg}', node['type'],
                                              explain=False)))
        elif expected is not None and _plain_value(value) != _plain_value(expected):
            wanted = 'codec' if arg != 'input_size' else "codec['input_size']"
            problems.append(f'{where}.{arg} is {_plain_value(value)!r}, not the config\'s '
                            f'{wanted} ({_plain_value(expected)!r})')
    for key, value in node.items():
        if key not in ('encoder', 'decoder'):
            _codec_problems(value, f'{where}.{key}' if where else key, codec, input_size,
                            problems)


def check_codec(cfg):
    """The config's ``codec`` is what its parts use: ConfigError otherwise.

    A config with a top-level ``codec = dict(type=..., input_size=..., ...)`` passes it
    to every part that uses it (MMPose's style): ``GenerateTarget(encoder=codec)``, the
    head's ``decoder=codec``, ``input_size=codec['input_size']`` on the transforms that
    take one. hpekit fills nothing; this check refuses, naming every key:

    - a transform or model part whose class takes ``encoder``, ``decoder`` or
      ``input_size`` (no default, or None) and is not given it;
    - a part given another codec or input size than ``codec``: what a child config
      that changes only ``codec`` (or ``--cfg-options codec.input_size=...``) leads
      to, since the base's pipelines and head were computed with the base's codec
      when it was read. Such a child re-states the parts that use the codec.

    Looks at what the Runner builds (``model``, the data loaders and the custom hooks,
    e.g. ``PipelineSwitchHook``'s ``switch_pipeline``), not at the config's variables
    (``train_pipeline`` …). A config without ``codec`` is not checked.
    """
    codec = cfg.get('codec')
    if not isinstance(codec, dict):
        return
    input_size = codec.get('input_size')
    problems = []
    for key in ('model', *LOADERS, 'custom_hooks'):
        if cfg.get(key):
            _codec_problems(cfg[key], key, codec, input_size, problems)
    if problems:
        raise ConfigError(
            'the config\'s codec is not what its parts use (hpekit fills nothing from '
            '`codec`; a config that changes it re-states every part that uses it, as '
            'MMPose configs do):\n  ' + '\n  '.join(dict.fromkeys(problems)))


def check_cfg_options(cfg, options):
    """Refuse ``--cfg-options`` keys that do not exist in ``cfg`` where they cannot be new.

    A dotted key may add a key only to a part (a dict with ``type``: ``check_config``
    then checks the argument against the part's signature), to a dict whose keys
    ``check_config`` knows (loops, loaders, ``randomness``…), to a free-form dict
    (``env_cfg``…), or at the top level one the Runner reads. Anything else — a typo
    such as ``train_cfgg.max_epochs=50`` — is a ``ConfigError`` naming the key and the
    closest existing names; mmengine would silently add an unused key.

    A top-level config *variable* (e.g. ``max_epochs``) set from the command line gives
    a warning: values computed from it when the file was read do not change.
    """
    for key in options or {}:
        parts = key.split('.')
        node, path = getattr(cfg, '_cfg_dict', cfg), []   # a Config holds a ConfigDict
        for i, part in enumerate(parts):
            parent = '.'.join(path)
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.isdigit() and \
                    int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict):
                _new_key_allowed(key, parent, part, node)
                break
            else:
                raise ConfigError(f'--cfg-options {key}: {parent} is {node!r}, not a dict or '
                                  f'list, so it has no key {part!r}')
            path.append(part)
        if len(parts) == 1 and parts[0] in cfg and parts[0] not in KNOWN_TOP_LEVEL and \
                not isinstance(cfg[parts[0]], (dict, list, tuple)):
            warnings.warn(f'--cfg-options {key}: {key!r} is a variable of the config file; '
                          f'values computed from it when the file was read keep the old '
                          f'value. Set the keys that use it instead (e.g. train_cfg.'
                          f'max_epochs rather than max_epochs).')


def _new_key_allowed(key, parent, part, node):
    if not parent:
        if part in KNOWN_TOP_LEVEL:
            return
        raise ConfigError(f'--cfg-options {key}: the config has no top-level key {part!r}.'
                          f'{_close(part, [*node.keys(), *KNOWN_TOP_LEVEL])} A new top-level '
                          f'key would be ignored.')
    if 'type' in node or parent in CHECKED_PLAIN or parent.endswith('_cfg') or \
            any(parent == p or parent.startswith(p + '.') for p in OPEN_PLAIN):
        return   # check_config checks the argument (or the dict is free-form)
    raise ConfigError(f'--cfg-options {key}: {parent} has no key {part!r}.'
                      f'{_close(part, node.keys())} Its keys: '
                      f'{", ".join(map(str, node.keys())) or "(none)"}.')
