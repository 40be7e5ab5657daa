"""Resuming: the checkpoint ``--resume auto`` takes, and the data plan it was saved under.

- ``find_resumable_checkpoint``: the newest checkpoint of a run that loads, trying the
  ``last_checkpoint`` pointer first and falling back on the other ``*.pth`` files,
  with the reason each skipped one was passed over.
- ``train_plan`` / ``check_resume_plan``: what an iteration number means (batch size,
  world size, dataset length, iterations per epoch); resuming under another plan
  raises ``ResumeMismatchError`` instead of silently skipping or repeating data.
"""
import glob
import os
import os.path as osp
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from mmengine.dist import get_world_size

from hpekit.checkpoint.files import POINTER, is_published_name
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


def _pointer_target(work_dir: str, skipped: Skipped) -> Optional[str]:
    """The existing file ``<work_dir>/last_checkpoint`` names, or None.

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
    target = _pointer_target(work_dir, skipped)
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
