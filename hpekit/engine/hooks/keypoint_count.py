"""Stop before training or testing when the model predicts another number of keypoints
than the dataset's metainfo has.

In ``configs/_base_/default_runtime.py``'s ``default_hooks`` (key ``keypoint_count``).
"""
import inspect

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from hpekit.config.files import find_config_file
from hpekit.registry import HOOKS, MODELS

# Arguments of model parts that set the number of keypoints (hpekit's heads and
# backbones: num_joints / num_keypoints; MMPose's heads: out_channels).
COUNT_ARGS = ('num_joints', 'num_keypoints', 'out_channels')
_LOOPS = (('train', '_train_loop'), ('val', '_val_loop'), ('test', '_test_loop'))


class KeypointCountError(ValueError):
    """The model's keypoint count is not the dataset's (the message names the config,
    the model key and the metainfo file)."""


def model_count_keys(model_cfg, count, where='model'):
    """The keys of the model config that hold ``count`` as a keypoint count, e.g.
    ``['model.backbone.num_joints', 'model.head.num_joints']``."""
    found = []
    if isinstance(model_cfg, dict):
        for key, value in model_cfg.items():
            path = f'{where}.{key}'
            if key in COUNT_ARGS and value == count and not isinstance(value, bool):
                found.append(path)
            elif isinstance(value, dict):
                found += model_count_keys(value, count, path)
    return found


def _count_defaults(type_name):
    """{argument: default} of the count arguments (``COUNT_ARGS``) that the model part
    ``type_name`` (a MODELS name or class) takes with a default; empty when unknown."""
    cls = type_name if inspect.isclass(type_name) else None
    if cls is None and isinstance(type_name, str):
        try:
            cls = MODELS.get(type_name)
        except KeyError:
            cls = None
    try:
        params = inspect.signature(cls).parameters if cls is not None else {}
    except (TypeError, ValueError):
        params = {}
    return {arg: params[arg].default for arg in COUNT_ARGS
            if arg in params and params[arg].default is not params[arg].empty}


def default_count_keys(model_cfg, count, where='model'):
    """The keys of count arguments the model config leaves at a default equal to
    ``count`` (e.g. ``['model.head.num_joints']`` for a head whose ``num_joints=17``
    is not written in the config): where to write the dataset's count."""
    found = []
    if isinstance(model_cfg, dict):
        for arg, default in _count_defaults(model_cfg.get('type')).items():
            if arg not in model_cfg and default == count and not isinstance(default, bool):
                found.append(f'{where}.{arg}')
        for key, value in model_cfg.items():
            if isinstance(value, dict):
                found += default_count_keys(value, count, f'{where}.{key}')
    return found


def metainfo_source(dataset, dataset_cfg, where):
    """The metainfo file a dataset was given (or its class's default), for messages."""
    given = dataset_cfg.get('metainfo') if isinstance(dataset_cfg, dict) else None
    if isinstance(given, dict) and not given.get('from_file'):
        return f'the dataset_info dict given as {where}.metainfo'
    path = (given or getattr(type(dataset), 'METAINFO', None) or {}).get('from_file')
    if not path:
        return f'the metainfo of {type(dataset).__name__}'
    try:
        path = find_config_file(path)
    except FileNotFoundError:
        pass
    return f'the metainfo file {path}'


def model_keypoints(model):
    """``model.spec.num_keypoints`` (the estimator contract), or None when the model
    declares no spec (a model that is not an hpekit estimator)."""
    model = model.module if is_model_wrapper(model) else model
    try:
        spec = model.spec
    except (AttributeError, NotImplementedError):
        return None
    return getattr(spec, 'num_keypoints', None)


def check_keypoint_counts(model, datasets, cfg):
    """Raise ``KeypointCountError`` if a dataset's ``num_keypoints`` is not the model's.

    Args:
        model: the (possibly wrapped) model; its count is ``spec.num_keypoints``.
        datasets: ``(mode, dataset)`` pairs, mode 'train' / 'val' / 'test'; datasets
            without ``metainfo['num_keypoints']`` are skipped.
        cfg: the run's config (its file name, the model keys and the loaders'
            ``dataset.metainfo`` are named in the message).

    Returns:
        The model's count, or None when it declares none (nothing checked).
    """
    count = model_keypoints(model)
    if count is None:
        return None
    config = getattr(cfg, 'filename', None) or 'the config'
    problems = []
    for mode, dataset in datasets:
        num = (getattr(dataset, 'metainfo', None) or {}).get('num_keypoints')
        if num is None or num == count:
            continue
        where = f'{mode}_dataloader.dataset'
        dataset_cfg = (cfg.get(f'{mode}_dataloader') or {}).get('dataset')
        problems.append((mode, num, where, metainfo_source(dataset, dataset_cfg, where)))
    if not problems:
        return count
    keys = model_count_keys(cfg.get('model'), count)
    said = ', '.join(f'{k}={count}' for k in keys)
    if not keys:   # the count is an argument's default, not written in the config
        keys = default_count_keys(cfg.get('model'), count)
        said = ', '.join(f'{k}={count} by default' for k in keys)
    said = said or 'model.spec.num_keypoints'
    lines = [f'{mode} dataset: num_keypoints = {num} (keypoint_info of {source})'
             for mode, num, _, source in problems]
    num = problems[0][1]
    fix = (f'--cfg-options {" ".join(f"{k}={num}" for k in keys)}' if keys else
           f"the argument of the model's head that sets its keypoint count to {num}")
    raise KeypointCountError(
        f'{config}: the model predicts {count} keypoints ({said}) but\n  '
        + '\n  '.join(lines) + f'\nStopped before any training or testing step. Set '
        f'{fix}, or give the dataset a metainfo file with {count} keypoints '
        f"({problems[0][2]}.metainfo=dict(from_file=...)). Fine-tuning a checkpoint "
        f'trained on other keypoints also needs --cfg-options '
        f'default_hooks.checkpoint_keys.allow_shape_mismatch=True.')


def loop_datasets(runner):
    """``(mode, dataset)`` of the loops the runner has built (train/val for
    ``train()``, test for ``test()``); loops still given as configs are not built."""
    for mode, attr in _LOOPS:
        loop = getattr(runner, attr, None)
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        if isinstance(loop, BaseLoop) and dataset is not None:
            yield mode, dataset


@HOOKS.register_module()
class KeypointCountHook(Hook):
    """Refuse a model whose keypoint count is not the dataset's, before any step.

    MMPose trains a 17-keypoint head on a 5-keypoint dataset until the first loss
    fails (or, with a head whose channels happen to fit, to AP 0). Here, when the
    Runner starts (``before_run``: after it built the datasets of ``train()``,
    ``val()`` or ``test()``, before any checkpoint is loaded or any batch is read),
    the model's ``spec.num_keypoints`` (``EstimatorSpec``, the estimator contract, so
    a plugin estimator whose head keeps its count elsewhere is checked too) is compared
    with each built dataset's ``metainfo['num_keypoints']``; a difference raises
    ``KeypointCountError`` naming the config file, the model keys that set the
    count, the dataset's metainfo file and the fix (``--cfg-options KEY=K``). The keys
    are those of ``COUNT_ARGS`` whose value is the model's count:
    ``model.head.num_joints`` of hpekit's heatmap heads (and
    ``model.backbone.num_joints`` of a stacked hourglass, whose stacks predict
    heatmaps too), ``model.head.out_channels`` of MMPose's ``HeatmapHead`` and of the
    SimCC head ``RTMCCHead``; a count argument the config leaves at its default is
    named as well. A model without a spec is not checked.

    The metainfo itself (per-keypoint lists, the flip map) is checked when it is parsed
    (``hpekit.datasets.parse_pose_metainfo``).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        check_keypoint_counts(runner.model, list(loop_datasets(runner)), runner.cfg)
