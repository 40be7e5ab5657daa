"""Checkpoint files on disk: atomic writes, the ``last_checkpoint`` pointer, the
temporary files of killed saves, published copies, and the NaN/Inf check of a state
about to be saved.

No Runner here: ``SafeCheckpointHook`` (``hpekit/engine/hooks/checkpoint.py``) decides
*when* to save and *what*; this module gets a file onto the disk so that a kill, a
full disk or a NaN never leaves a damaged file under a final name.
"""
import errno
import hashlib
import os
import os.path as osp
import pickle
import re
import shutil
from typing import Any, List, Optional, Tuple

import torch

from hpekit.fileio import atomic_open

POINTER = 'last_checkpoint'
"""Name of the file in the work dir that holds the path of the newest checkpoint."""

# Temporary files of atomic_open ('.<name>.<random>.tmp') whose target is a checkpoint,
# the pointer or metrics.json: what a killed save or metrics write leaves behind.
_TEMP = re.compile(r'^\.(?P<name>.+)\.[A-Za-z0-9_]{6,}\.tmp$')
_TEMP_TARGETS = re.compile(r'(\.pth|^last_checkpoint|^metrics\.json)$')
# Published copies: '<name>-<first 8 hex digits of the sha256>.pth'.
_PUBLISHED = re.compile(r'-[0-9a-f]{8}\.pth$')


class NonFiniteCheckpointError(FloatingPointError):
    """The model or optimizer state holds NaN/Inf: no checkpoint was written."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (e.g. the disk is full); the old ones are kept."""


def nonfinite_tensors(obj: Any, prefix: str = '') -> List[Tuple[str, int, int]]:
    """The floating (or complex) tensors in ``obj`` that hold NaN/Inf.

    Args:
        obj: a tensor or nested dicts/lists/tuples of them (a state dict, an
            optimizer state dict); anything else is ignored.
        prefix: name of ``obj``; names below it are the key paths joined with '.'.

    Returns:
        ``[(name, count of NaN/Inf values, numel), ...]`` in traversal order; empty
        when every tensor is finite.
    """
    found = []
    if isinstance(obj, torch.Tensor):
        if (obj.is_floating_point() or obj.is_complex()) and obj.numel():
            bad = int((~torch.isfinite(obj.detach())).sum())
            if bad:
                found.append((prefix, bad, obj.numel()))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            found += nonfinite_tensors(value, f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            found += nonfinite_tensors(value, f'{prefix}.{i}' if prefix else str(i))
    return found


def raise_if_nonfinite(state: Any, path: str, when: str,
                       last_saved: Optional[str]) -> None:
    """Refuse to save ``state`` to ``path`` when it holds NaN/Inf.

    Args:
        state: what would be saved, e.g. ``{'state_dict': ..., 'optimizer': ...}``
            (the keys start the tensor names in the message).
        path: the checkpoint that would be written.
        when: the training step, for the message (``'iteration 4 (epoch 2)'``).
        last_saved: the checkpoint ``last_checkpoint`` still names, or None.

    Raises:
        NonFiniteCheckpointError: naming up to 10 offending tensors (with counts),
            ``path``, ``when`` and ``last_saved``.
    """
    bad = nonfinite_tensors(state)
    if not bad:
        return
    shown = ', '.join(f'{name} ({count} of {size})' for name, count, size in bad[:10])
    more = f', … ({len(bad)} tensors in all)' if len(bad) > 10 else ''
    raise NonFiniteCheckpointError(
        f'not saving checkpoint {path}: the training state holds NaN/Inf values at '
        f'{when}: {shown}{more}. '
        f'Training stopped; {POINTER} still names '
        f'{last_saved or "no checkpoint (none was saved yet)"}, whose values were finite. '
        f'Common causes: a learning rate too high, Adam eps=0, bad data; the loss '
        f'itself may have stayed finite.')


def plain(obj: Any) -> Any:
    """``obj`` with dict subclasses (mmengine's ConfigDict) turned into dicts, recursively.

    The safe loader (``hpekit.checkpoint.loading``) does not admit ConfigDict, so
    whatever goes into a checkpoint's meta or message hub passes through here. Lists
    and tuples are rebuilt (their type kept); other objects are returned as they are.
    """
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(plain(v) for v in obj)
    return obj


def _os_error_in(err: BaseException) -> Optional[OSError]:
    """The OSError behind ``err`` (torch wraps a failed write in a RuntimeError)."""
    seen = err
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _free_space(folder: str) -> str:
    """``'; <N> MiB free in <folder>'``, or '' when the folder cannot be queried."""
    try:
        return f'; {shutil.disk_usage(folder).free / 2**20:.1f} MiB free in {folder}'
    except OSError:
        return ''


def write_checkpoint(checkpoint: Any, path: str) -> None:
    """``torch.save`` ``checkpoint`` to ``path`` atomically (temp file, fsync, rename).

    Args:
        checkpoint: what ``torch.save`` writes (a checkpoint dict).
        path: the final file name; its folder is created when missing.

    Raises:
        CheckpointWriteError: the write failed (errno kept, e.g. ENOSPC); the message
            names ``path`` and the free space; ``path`` and every other file are as
            they were, and no temporary file is left.
        RuntimeError: ``torch.save`` failed for another reason than an OSError
            (re-raised as it is; nothing was replaced either).
    """
    folder = osp.dirname(osp.abspath(path))
    try:
        with atomic_open(path, 'wb') as f:
            torch.save(checkpoint, f)
    except (OSError, RuntimeError) as err:
        cause = _os_error_in(err)
        if cause is None:
            raise
        full = ' (the disk is full)' if cause.errno in (errno.ENOSPC, errno.EDQUOT) else ''
        raise CheckpointWriteError(
            cause.errno, f'could not write checkpoint {path}{full}: '
            f'{cause.strerror or cause}{_free_space(folder)}. Nothing was replaced: the '
            f'previous checkpoints and last_checkpoint are intact.') from err


def write_pointer(work_dir: str, path: str) -> str:
    """Make ``<work_dir>/last_checkpoint`` name ``path``, atomically.

    Call it only once ``path`` is complete on disk (``write_checkpoint`` returned).

    Returns:
        The pointer's path.

    Raises:
        CheckpointWriteError: the pointer could not be written; it still names the
            previous checkpoint.
    """
    pointer = osp.join(work_dir, POINTER)
    try:
        with atomic_open(pointer, 'w', encoding='utf-8') as f:
            f.write(path)
    except OSError as err:
        raise CheckpointWriteError(
            err.errno, f'could not update {pointer} to name {path}: '
            f'{err.strerror or err}; it still names the previous checkpoint') from err
    return pointer


def remove_stale_temp_files(*folders: Optional[str]) -> List[str]:
    """Delete temporary files of killed checkpoint/pointer/metrics writes.

    Only names ``atomic_open`` makes (``.<name>.<random>.tmp``) whose ``<name>`` is a
    ``.pth`` file, ``last_checkpoint`` or ``metrics.json`` are touched. Call it only
    while holding the work dir's lock (no save of this run is in progress).

    Args:
        folders: folders to clean; None, missing ones and repeats are skipped.

    Returns:
        The paths removed, folder by folder, sorted by name within a folder.
    """
    removed = []
    for folder in dict.fromkeys(f for f in folders if f and osp.isdir(f)):
        for name in sorted(os.listdir(folder)):
            match = _TEMP.match(name)
            if match and _TEMP_TARGETS.search(match.group('name')):
                path = osp.join(folder, name)
                try:
                    os.remove(path)
                except FileNotFoundError:
                    continue
                removed.append(path)
    return removed


def published_path(ckpt_path: str, checkpoint: Any) -> str:
    """Name of the published copy of ``ckpt_path`` holding ``checkpoint``.

    Returns:
        ``<ckpt_path without .pth>-<first 8 hex digits of the sha256 of the pickled
        checkpoint>.pth`` (as mmengine names published checkpoints).
    """
    digest = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
    return osp.splitext(ckpt_path)[0] + f'-{digest[:8]}.pth'


def is_published_name(name: str) -> bool:
    """Whether the file name ``name`` looks like a ``published_path`` (``-<8 hex>.pth``)."""
    return _PUBLISHED.search(name) is not None
