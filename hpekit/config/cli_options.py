"""MMPose's tool options applied to a config: --data-root, --no-validate, --show-dir,
--show, --out (``tools/train.py`` and ``tools/test.py`` call these)."""
import inspect
import os
import os.path as osp
import sys
from typing import Mapping, Optional

from mmengine.config import Config

from hpekit.registry import METRICS

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')
FILE_KEYS = ('gt_file', 'ann_file', 'bbox_file')


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _rebase(path, old_root, new_root):
    """``path`` under ``old_root`` → the same relative path under ``new_root``; any
    other path unchanged."""
    if not (isinstance(path, str) and old_root and path.startswith(old_root)):
        return path
    rest = path[len(old_root):]
    if rest and not old_root.endswith('/') and not rest.startswith('/'):
        return path   # 'data/coco2/x' is not under 'data/coco'
    return osp.join(new_root, rest.lstrip('/'))


def _rebase_any(path, old_roots, new_root):
    """``_rebase`` under the first of ``old_roots`` that ``path`` starts with."""
    for old_root in old_roots:
        moved = _rebase(path, old_root, new_root)
        if moved != path:
            return moved
    return path


def set_data_root(cfg: Config, data_root: str) -> Config:
    """Point every dataloader's dataset and every evaluator file at ``data_root``.

    Datasets get ``data_root``; files the config named under its old ``data_root``
    (evaluators' ``gt_file``/``ann_file``, a dataset's ``bbox_file`` and a metainfo file
    written beside the data, ``metainfo=dict(from_file=...)``, as the annotation
    converters write it) are moved under
    the new one, keeping their relative paths. The old roots are the top-level
    ``data_root`` and every dataset's own ``data_root`` (a translated MMPose config
    keeps only the latter, with its evaluator's ``ann_file`` already joined to it as
    ``'data/coco/annotations/...'``); other paths are left as they are.
    """
    old_roots = [cfg.get('data_root')]
    for key in LOADERS:
        dataset = (cfg.get(key) or {}).get('dataset')
        if dataset is None:
            continue
        previous = dataset.get('data_root', cfg.get('data_root'))
        old_roots.append(previous)
        dataset['data_root'] = data_root
        if dataset.get('bbox_file'):
            dataset['bbox_file'] = _rebase(dataset['bbox_file'], previous, data_root)
        metainfo = dataset.get('metainfo')
        if isinstance(metainfo, dict) and isinstance(metainfo.get('from_file'), str):
            metainfo['from_file'] = _rebase(metainfo['from_file'], previous, data_root)
    # longest first: a root nested in another is not taken for it
    old_roots = sorted({r for r in old_roots if isinstance(r, str) and r},
                       key=len, reverse=True)
    for key in EVALUATORS:
        if cfg.get(key) is None:
            continue
        evaluators = _as_list(cfg[key])
        for evaluator in evaluators:
            for name in FILE_KEYS:
                if evaluator.get(name):
                    evaluator[name] = _rebase_any(evaluator[name], old_roots, data_root)
        cfg[key] = evaluators if isinstance(cfg[key], (list, tuple)) else evaluators[0]
    cfg.data_root = data_root
    return cfg


def disable_validation(cfg: Config) -> Config:
    """``--no-validate``: train without validation (as MMPose: no val loop at all)."""
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    for hook in cfg.get('default_hooks', {}).values():
        if isinstance(hook, dict) and hook.get('save_best'):
            hook['save_best'] = None   # nothing to rank checkpoints by
    return cfg


def _set_visualization_hook(cfg: Config, interval: int, **options) -> Config:
    """The config's ``PoseVisualizationHook`` (added to ``custom_hooks`` if missing)
    given ``interval`` and ``options``; ValueError for an interval below 1."""
    if interval < 1:
        raise ValueError(f'--interval must be >= 1, got {interval}')
    hooks = list(cfg.get('custom_hooks') or [])
    found = [h for h in hooks if h.get('type') == 'PoseVisualizationHook']
    if not found:
        hooks.append(dict(type='PoseVisualizationHook'))
        found = hooks[-1:]
    found[0].update(options, interval=interval)
    cfg.custom_hooks = hooks
    return cfg


def enable_show_dir(cfg: Config, show_dir: str, interval: int = 1) -> Config:
    """``--show-dir DIR``: every ``interval``-th validation/test sample drawn to DIR by
    ``PoseVisualizationHook`` with the config's ``PoseLocalVisualizer``."""
    return _set_visualization_hook(cfg, show_dir=show_dir, interval=interval)


class NoDisplayError(RuntimeError):
    """``--show`` asked for a window where none can open (no display)."""


def display_available(environ: Optional[Mapping[str, str]] = None,
                      platform: Optional[str] = None) -> bool:
    """Whether a window can open: always on Windows and macOS; elsewhere (Linux, BSD)
    only with an X11 ``$DISPLAY`` or a Wayland ``$WAYLAND_DISPLAY`` (unset over plain
    SSH, in containers and in CI, where opening a window aborts or blocks)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith(('win', 'cygwin', 'darwin')):
        return True
    return bool(environ.get('DISPLAY') or environ.get('WAYLAND_DISPLAY'))


def check_show_display(environ: Optional[Mapping[str, str]] = None,
                       platform: Optional[str] = None) -> None:
    """``--show`` without a display: NoDisplayError saying so and naming ``--show-dir``
    (the tools call this before loading anything, and exit with status 2)."""
    if not display_available(environ, platform):
        raise NoDisplayError(
            '--show: no display is available ($DISPLAY and $WAYLAND_DISPLAY are unset, '
            'as over SSH, in containers and in CI), so no window can open. Use '
            '--show-dir DIR instead: it writes the same pictures to DIR as PNG files.')


def enable_show(cfg: Config, wait_time: float = 1.0, interval: int = 1) -> Config:
    """``--show``: every ``interval``-th test sample drawn in a window (``wait_time``
    seconds each; 0 waits for a key) by ``PoseVisualizationHook``.

    Raises:
        NoDisplayError: no display (:func:`check_show_display`).
    """
    check_show_display()
    return _set_visualization_hook(cfg, show=True, wait_time=wait_time, interval=interval)


def set_outfile_prefix(cfg: Config, out: str, key: str = 'test_evaluator') -> Optional[str]:
    """``--out FILE``: metrics go to FILE; evaluators that write predictions in an
    official format (``outfile_prefix``: ``MPIIPCKh`` → ``<prefix>_preds.mat``,
    ``CocoMetric`` → ``<prefix>.keypoints.json``) write them beside it.

    Returns the prefix (FILE without its extension), or None if no evaluator takes one.
    """
    prefix = osp.splitext(out)[0]
    evaluators = _as_list(cfg.get(key))
    used = False
    for evaluator in evaluators:
        try:
            cls = METRICS.get(evaluator.get('type'))
        except KeyError:
            continue
        if 'outfile_prefix' in inspect.signature(cls).parameters:
            evaluator['outfile_prefix'] = prefix
            used = True
    cfg[key] = evaluators if isinstance(cfg.get(key), (list, tuple)) else evaluators[0]
    return prefix if used else None
