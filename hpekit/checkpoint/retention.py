"""Which old checkpoints go, and deleting them only after the new one is on disk.

mmengine's ``CheckpointHook`` deletes the checkpoint ``max_keep_ckpts`` drops *before*
it writes the new one. Here the order of one save (kept by ``SafeCheckpointHook``) is:

1. ``plan_interval_retention``: which step the new checkpoint pushes out;
2. write the new file (``files.write_checkpoint``), then point ``last_checkpoint`` at
   it (``files.write_pointer``);
3. only then ``delete_checkpoint`` what step 1 returned.

A run killed between 2 and 3 leaves the old file behind; a resumed run finds such
leftovers with ``stale_interval_checkpoints`` and ``stale_best_checkpoints``.
"""
import os
import os.path as osp
import re
import shutil
from collections import deque
from typing import Deque, Iterable, List, Optional, Tuple


def plan_interval_retention(keep_ids: Iterable[int], max_keep: int,
                            step: int) -> Optional[Tuple[Deque[int], List[int]]]:
    """The kept steps after saving the interval checkpoint of ``step``.

    Args:
        keep_ids: steps of the kept interval checkpoints, oldest first.
        max_keep: ``max_keep_ckpts``: how many to keep (>= 1), or -1 (or 0): all.
        step: the step about to be saved.

    Returns:
        None when nothing changes (keep all, or ``step`` is already the newest kept,
        as when a best checkpoint saves the latest one again); else ``(keep,
        outdated)``: the new kept steps (a deque of at most ``max_keep``, ending with
        ``step``) and the steps to delete once ``step`` is on disk (at most one).
    """
    keep_ids = list(keep_ids)
    if max_keep <= 0 or (keep_ids and keep_ids[-1] == step):
        return None
    keep = deque(keep_ids, max_keep)
    outdated = [keep.popleft()] if len(keep) == max_keep else []
    keep.append(step)
    return keep, outdated


def _step_pattern(filename_tmpl: str) -> str:
    """A regex matching ``filename_tmpl.format(step)``, with the step as group 1."""
    return re.escape(filename_tmpl).replace(r'\{\}', r'(\d+)')


def stale_interval_checkpoints(folder: str, filename_tmpl: str,
                               keep_ids: Iterable[int]) -> List[str]:
    """Interval checkpoints older than every kept one (what a kill before a deletion left).

    Args:
        folder: the checkpoint folder.
        filename_tmpl: the interval checkpoints' name template (``'iter_{}.pth'``).
        keep_ids: steps of the kept interval checkpoints; empty: nothing is stale.

    Returns:
        Paths in ``folder`` named by ``filename_tmpl`` with a step below
        ``min(keep_ids)``, sorted by name.
    """
    keep_ids = list(keep_ids)
    if not keep_ids:
        return []
    oldest, pattern = min(keep_ids), _step_pattern(filename_tmpl)
    stale = []
    for name in sorted(os.listdir(folder)):
        match = re.fullmatch(pattern, name)
        if match and int(match.group(1)) < oldest:
            stale.append(osp.join(folder, name))
    return stale


def stale_best_checkpoints(folder: str, filename_tmpl: str, key: str,
                           current: str) -> List[str]:
    """Best checkpoints of ``key`` other than the current best ``current``.

    Args:
        folder: the checkpoint folder.
        filename_tmpl: the interval checkpoints' name template; best files are named
            ``best_<key>_<filename_tmpl.format(step)>`` ('/' in ``key`` → '_').
        key: the metric (``save_best`` indicator).
        current: path of the current best checkpoint of ``key``; never returned.

    Returns:
        Paths in ``folder``, sorted by name.
    """
    pattern = re.escape(f'best_{key}_'.replace('/', '_')) + _step_pattern(filename_tmpl)
    stale = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if re.fullmatch(pattern, name) and osp.abspath(path) != osp.abspath(current):
            stale.append(path)
    return stale


def delete_checkpoint(path: str) -> Optional[str]:
    """Delete the checkpoint ``path``: a file, or a folder (deepspeed-style checkpoints).

    Call it only after the checkpoint that replaces it is on disk and named by
    ``last_checkpoint``.

    Returns:
        ``'file'`` or ``'folder'``: what was deleted; None when ``path`` does not exist.

    Raises:
        OSError: the deletion failed.
    """
    if osp.isfile(path):
        os.remove(path)
        return 'file'
    if osp.isdir(path):
        shutil.rmtree(path)
        return 'folder'
    return None
