"""Resuming: the checkpoint ``--resume auto`` takes, and the data plan it was saved under.

- ``find_resumable_checkpoint``: the newest checkpoint of a run that loads, trying the
  ``last_checkpoint`` pointer first and falling back on the other ``*.pth`` files,
  with the reason each skipped one was passed over.
- ``train_plan`` / ``check_resume_plan``: what an iteration number means (batch size,
  world size, dataset length, iterations per epoch); resuming under another plan
  raises ``ResumeMismatchError`` instead of silently skipping or repeating data.
- ``optimizer_layout`` / ``check_resume_optimizer``: the optimizer's type and
  param-group layout; resuming with another one raises ``ResumeMismatchError`` naming
  both, before its state is loaded (torch would load Adam's state into SGD and fail at
  the first step with ``KeyError: 'momentum'``, or fail with a message that names no
  checkpoint).

``SafeCheckpointHook`` runs these checks when the checkpoint is loaded, before the
resumed run deletes anything.
"""
import glob
import os
import os.path as osp
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.dist import get_world_size

from hpekit.checkpoint.files import POINTER, is_published_name
from hpekit.checkpoint.retention import resolve_in_dir
from hpekit.checkpoint.loading import CheckpointError, load_checkpoint_file

Skipped = List[Tuple[str, str]]


class ResumeMismatchError(RuntimeError):
    """A checkpoint was saved under another data plan (batch size, dataset length…)."""


def _step_of(path: str) -> int:
    """The last number in the file name of ``path`` (-1 when it has none)."""
    found = re.findall(r'(\d+)', osp.basename(path))
    return int(found[-1]) if found else -1


def _is_resumable(checkpoint: Any) -> bool:
    """Whether a loaded checkpoint is a training checkpoint (meta epoch/iter, weights)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return isinstance(meta, dict) and 'iter' in meta and 'epoch' in meta \
        and 'state_dict' in checkpoint


def _pointer_target(work_dir: str, ckpt_dir: str, skipped: Skipped) -> Optional[str]:
    """The existing file ``<work_dir>/last_checkpoint`` names, or None.

    The pointer holds an absolute path; one outside ``ckpt_dir`` (a work dir moved or
    copied from elsewhere) is read as the file of that name in ``ckpt_dir``
    (``retention.resolve_in_dir``): a copy resumes from its own checkpoint.
    A pointer that cannot be read, is empty or names a missing file is appended to
    ``skipped`` with the reason; no pointer at all is not.
    """
    pointer = osp.join(work_dir, POINTER)
    if not osp.isfile(pointer):
        return None
    try:
        with open(pointer, encoding='utf-8') as f:
            target = f.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        skipped.append((pointer, f'cannot be read: {err}'))
        return None
    if target == '':
        skipped.append((pointer, 'is empty'))
        return None
    here = resolve_in_dir(target, ckpt_dir)
    if here != target:
        if not osp.isfile(here):
            skipped.append((pointer, f'names {target}, outside {ckpt_dir} (the work dir was '
                                     f'moved or copied?), and {here} does not exist'))
            return None
        return here
    if not osp.isfile(target):
        skipped.append((pointer, f'names {target}, which does not exist'))
        return None
    return target


def _other_checkpoints(ckpt_dir: str) -> List[str]:
    """``*.pth`` in ``ckpt_dir`` except best and published ones, newest first.

    Newest: modification time, then the number in the name.
    """
    others = []
    for path in glob.glob(osp.join(glob.escape(ckpt_dir), '*.pth')):
        name = osp.basename(path)
        if name.startswith('best_') or is_published_name(name):
            continue
        try:
            others.append((os.stat(path).st_mtime_ns, _step_of(path), path))
        except FileNotFoundError:
            continue
    return [p for _, _, p in sorted(others, reverse=True)]


def find_resumable_checkpoint(work_dir: str, ckpt_dir: Optional[str] = None
                              ) -> Tuple[Optional[str], Skipped]:
    """The newest checkpoint of a run that loads, for ``--resume auto``.

    Tries the file ``<work_dir>/last_checkpoint`` names first, then every other
    ``*.pth`` in ``ckpt_dir`` (default ``work_dir``), newest first (modification
    time, then the number in the name); best and published checkpoints (no optimizer
    state) are not candidates. Each is loaded with ``load_checkpoint_file`` (CRC and
    allow-list checks) until one loads and holds ``meta`` with epoch and iter.

    Args:
        work_dir: the run's work dir (where the pointer is).
        ckpt_dir: where the checkpoints are (``out_dir`` resolved); default work_dir.

    Returns:
        tuple: (path or None, skipped) where skipped lists ``(path or pointer,
        reason)`` for every candidate passed over, in the order tried. ``(None, [])``
        means there is no checkpoint at all.
    """
    ckpt_dir = ckpt_dir or work_dir
    skipped: Skipped = []
    target = _pointer_target(work_dir, ckpt_dir, skipped)
    candidates = ([target] if target else []) + _other_checkpoints(ckpt_dir)
    seen = set()
    for path in candidates:
        real = osp.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        try:
            checkpoint = load_checkpoint_file(path, map_location='cpu')
        except CheckpointError as err:
            skipped.append((path, str(err)))
            continue
        if not _is_resumable(checkpoint):
            skipped.append((path, 'holds no meta epoch/iter or no state_dict (not a '
                                  'training checkpoint)'))
            continue
        return path, skipped
    return None, skipped


def train_plan(loader: Any, world_size: Optional[int] = None) -> Dict[str, Optional[int]]:
    """What an iteration number means, stored as ``meta.train_plan`` in checkpoints.

    Args:
        loader: the training DataLoader.
        world_size: number of processes; default mmengine's ``get_world_size()``.

    Returns:
        ``{'batch_size', 'world_size', 'dataset_len', 'iters_per_epoch'}``; the
        lengths are None for iterable datasets (no ``len``), batch_size None when the
        loader has none.
    """
    try:
        dataset_len = len(loader.dataset)
    except TypeError:   # iterable datasets have no length
        dataset_len = None
    try:
        iters_per_epoch = len(loader)
    except TypeError:
        iters_per_epoch = None
    return dict(batch_size=getattr(loader, 'batch_size', None),
                world_size=get_world_size() if world_size is None else world_size,
                dataset_len=dataset_len, iters_per_epoch=iters_per_epoch)


def describe_plan(plan: Mapping[str, Any]) -> str:
    """``'batch size 4 per process × 1 process(es), 12 training samples → 3 iterations
    per epoch'`` for a ``train_plan`` dict (missing keys read None)."""
    return (f"batch size {plan.get('batch_size')} per process × {plan.get('world_size')} "
            f"process(es), {plan.get('dataset_len')} training samples → "
            f"{plan.get('iters_per_epoch')} iterations per epoch")


def check_resume_plan(saved: Mapping[str, Any], current: Mapping[str, Any], path: str,
                      meta: Mapping[str, Any]) -> None:
    """Refuse to resume ``path`` when its plan differs from this run's.

    Args:
        saved: the checkpoint's ``meta.train_plan``.
        current: this run's ``train_plan``; each of its keys is compared.
        path: the checkpoint, for the message.
        meta: the checkpoint's ``meta`` (its ``iter`` and ``epoch`` are quoted).

    Raises:
        ResumeMismatchError: a key differs; the message names both plans, the changed
            keys and the ways out (old settings, or ``load_from`` without resume).
    """
    changed = [k for k in current if saved.get(k) != current[k]]
    if not changed:
        return
    raise ResumeMismatchError(
        f'cannot resume from {path}: it was saved with {describe_plan(saved)}; this run '
        f'has {describe_plan(current)} (changed: {", ".join(changed)}). Its iteration '
        f"{meta.get('iter')} (epoch {meta.get('epoch')}) does not mean the same batches "
        f'under the new settings, so the run would silently skip or repeat data. Resume '
        f'with the old settings, or start a new run from its weights with '
        f'load_from={path} (no --resume: the optimizer and schedule start afresh).')


def _optimizer_of(obj: Any) -> Any:
    """The torch optimizer of an mmengine ``OptimWrapper`` (or ``obj`` itself)."""
    return getattr(obj, 'optimizer', obj)


def optimizer_layout(optim: Any) -> Dict[str, Dict[str, Any]]:
    """The optimizer's type and param groups, stored as ``meta.optimizer_layout``.

    Args:
        optim: a torch optimizer, an mmengine ``OptimWrapper``, or an
            ``OptimWrapperDict`` (``optim_wrappers``: name → wrapper).

    Returns:
        ``{name: {'type': class name, 'param_groups': [number of parameters of each
        group]}}``; the name is ``''`` for a single optimizer, the wrapper's name in an
        ``OptimWrapperDict``.
    """
    wrappers = getattr(optim, 'optim_wrappers', None)
    items = wrappers.items() if isinstance(wrappers, Mapping) else [('', optim)]
    layout = {}
    for name, wrapper in items:
        optimizer = _optimizer_of(wrapper)
        layout[name] = dict(type=type(optimizer).__name__,
                            param_groups=[len(g['params']) for g in optimizer.param_groups])
    return layout


def _saved_groups(state: Any) -> Optional[List[int]]:
    """Parameters per group of a saved optimizer state dict (None: not one)."""
    groups = state.get('param_groups') if isinstance(state, Mapping) else None
    if not isinstance(groups, list):
        return None
    return [len(g.get('params', [])) if isinstance(g, Mapping) else -1 for g in groups]


def _type_in_cfg(meta: Mapping[str, Any]) -> Optional[str]:
    """``optim_wrapper.optimizer.type`` of the config text a checkpoint stores
    (``meta.cfg``; checkpoints written before ``meta.optimizer_layout``), or None."""
    text = meta.get('cfg')
    if not isinstance(text, str) or 'optim_wrapper' not in text:
        return None
    try:
        cfg = Config.fromstring(text, file_format='.py')
        kind = cfg.optim_wrapper.optimizer.type
    except Exception:   # noqa: BLE001  (a config that does not parse: no type known)
        return None
    if isinstance(kind, type):
        return kind.__name__
    return str(kind).rsplit('.', 1)[-1] if kind else None


def _saved_layout(checkpoint: Mapping[str, Any], names: List[str]
                  ) -> Optional[Dict[str, Dict[str, Any]]]:
    """What ``optimizer_layout`` was when ``checkpoint`` was saved (types None when the
    checkpoint does not say), or None when it holds no optimizer state."""
    state = checkpoint.get('optimizer')
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), Mapping) else {}
    if not isinstance(state, Mapping):
        return None
    recorded = meta.get('optimizer_layout')
    if names == [''] or 'param_groups' in state:   # one optimizer
        states = {'': state}
    else:
        states = {k: v for k, v in state.items() if isinstance(v, Mapping)}
    layout = {}
    for name, sub in states.items():
        kind = None
        if isinstance(recorded, Mapping) and isinstance(recorded.get(name), Mapping):
            kind = recorded[name].get('type')
        elif name == '':
            kind = _type_in_cfg(meta)
        layout[name] = dict(type=kind, param_groups=_saved_groups(sub))
    return layout


def check_resume_optimizer(checkpoint: Mapping[str, Any],
                           current: Mapping[str, Mapping[str, Any]], path: str) -> None:
    """Refuse to resume ``path`` with another optimizer or param-group layout.

    Args:
        checkpoint: the loaded checkpoint (its ``optimizer`` state and ``meta``: the
            type from ``meta.optimizer_layout``, else from the config text ``meta.cfg``;
            neither: only the layout is compared).
        current: this run's ``optimizer_layout``.
        path: the checkpoint, for the message.

    Raises:
        ResumeMismatchError: the type, the optimizers of an ``OptimWrapperDict``, the
            number of param groups or the parameters in a group differ; the message
            names the checkpoint, what differs and the way out (``load_from``).
    """
    saved = _saved_layout(checkpoint, list(current))
    if saved is None:   # saved without optimizer state: nothing to resume it from
        return
    way_out = (f': resume needs the same optimizer; use load_from={path} (no --resume) to '
               f'start a new run from its weights, or resume with the old optimizer '
               f'settings.')
    if set(saved) != set(current):
        raise ResumeMismatchError(
            f'checkpoint {path} was trained with the optimizers '
            f'{sorted(saved) or "(none)"}, the config has {sorted(current)}{way_out}')
    for name, now in current.items():
        was = saved[name]
        which = f" (optimizer '{name}')" if name else ''
        if was['type'] and was['type'] != now['type']:
            raise ResumeMismatchError(
                f"checkpoint {path} was trained with {was['type']}, the config's optimizer"
                f"{which} is {now['type']}{way_out}")
        groups, now_groups = was['param_groups'], now['param_groups']
        if groups is not None and groups != now_groups:
            raise ResumeMismatchError(
                f"checkpoint {path} has {_groups(groups)}, the config's optimizer{which} "
                f'has {_groups(now_groups)} (paramwise_cfg, custom_keys, a frozen or added '
                f'module?){way_out}')


def _groups(sizes: List[int]) -> str:
    """``'1 parameter group (62 parameters)'`` / ``'3 parameter groups (60, 1, 1 …)'``."""
    plural = 's' if len(sizes) != 1 else ''
    shown = ', '.join(str(n) for n in sizes[:8]) + (', …' if len(sizes) > 8 else '')
    return f'{len(sizes)} parameter group{plural} ({shown} parameters)'
