"""Which old checkpoints go, and deleting them only after the new one is on disk.

mmengine's ``CheckpointHook`` deletes the checkpoint ``max_keep_ckpts`` drops *before*
it writes the new one. Here the order of one save (kept by ``SafeCheckpointHook``) is:

1. ``plan_interval_retention``: which step the new checkpoint pushes out;
2. write the new file (``files.write_checkpoint``), then point ``last_checkpoint`` at
   it (``files.write_pointer``);
3. only then ``delete_checkpoint`` what step 1 returned.

A run killed between 2 and 3 leaves the old file behind; a resumed run finds such
leftovers with ``stale_interval_checkpoints`` and ``stale_best_checkpoints``.

Two rules hold for every deletion (``deletion_refused`` checks them): the file is in
the checkpoint folder, and a newer checkpoint that replaces it is on disk in the same
folder. Checkpoints are named in a run's message hub relative to the checkpoint folder
(``relative_to_dir``); a path from an older checkpoint, or from a work dir that was
moved or copied, is read as the file of that name in the current folder
(``resolve_in_dir``), so a resumed copy never deletes its own best checkpoint as
"stale", nor a file of the dir it was copied from.
"""
import os
import os.path as osp
import re
import shutil
from collections import deque
from typing import Deque, Iterable, List, Optional, Tuple


def _same_dir(a: str, b: str) -> bool:
    """Whether folders ``a`` and ``b`` are the same (symbolic links resolved)."""
    return osp.realpath(a) == osp.realpath(b)


def relative_to_dir(path: str, folder: str) -> str:
    """How a checkpoint of ``folder`` is named in the message hub: relative to ``folder``
    (its file name), so the name still holds after the work dir is moved or copied.

    A ``path`` outside ``folder`` is returned as it is.
    """
    if _same_dir(osp.dirname(osp.abspath(path)), folder):
        return osp.basename(path)
    return path


def resolve_in_dir(stored: str, folder: str) -> str:
    """The checkpoint a message hub names (``stored``) as a path in ``folder``.

    A relative name is joined to ``folder``. An absolute path (checkpoints written
    before names were relative, or mmengine's) is kept when it is in ``folder``;
    otherwise it names the checkpoint folder of a work dir this one was moved or copied
    from, and is read as the file of the same name in ``folder``.
    """
    if not osp.isabs(stored):
        return osp.join(folder, stored)
    if _same_dir(osp.dirname(stored), folder):
        return stored
    return osp.join(folder, osp.basename(stored))


def deletion_refused(path: str, replacement: Optional[str], folder: str) -> Optional[str]:
    """Why ``path`` must not be deleted now, or None when it may be.

    Args:
        path: the checkpoint to delete.
        replacement: the newer checkpoint that replaces it (the new interval
            checkpoint, the new best…), or None when there is none.
        folder: the checkpoint folder of the run.

    Returns:
        None when ``path`` is in ``folder`` and ``replacement`` is another file on disk
        in ``folder``; else the reason, for the log.
    """
    if not _same_dir(osp.dirname(osp.abspath(path)), folder):
        return f'it is outside the checkpoint folder {folder}'
    if replacement is None:
        return 'no newer checkpoint replaces it'
    if not _same_dir(osp.dirname(osp.abspath(replacement)), folder) or \
            not osp.isfile(replacement):
        return f'the checkpoint that replaces it, {replacement}, is not on disk in {folder}'
    if osp.realpath(path) == osp.realpath(replacement):
        return 'it is the checkpoint that would replace it'
    return None


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
        ``min(keep_ids)``, sorted by name; empty when none of the kept checkpoints is
        on disk in ``folder`` (nothing newer would replace them).
    """
    keep_ids = list(keep_ids)
    if not any(osp.isfile(osp.join(folder, filename_tmpl.format(step)))
               for step in keep_ids):
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
    """Best checkpoints of ``key`` that the current best ``current`` replaced.

    Args:
        folder: the checkpoint folder.
        filename_tmpl: the interval checkpoints' name template; best files are named
            ``best_<key>_<filename_tmpl.format(step)>`` ('/' in ``key`` → '_').
        key: the metric (``save_best`` indicator).
        current: path of the current best checkpoint of ``key`` (``resolve_in_dir``
            it first); never returned.

    Returns:
        Paths in ``folder`` of best checkpoints of ``key`` with a step below
        ``current``'s, sorted by name. Empty when ``current`` is not a file in
        ``folder`` (or its name has no step): nothing that would replace them is on
        disk. A best with a later step than ``current`` (saved after the checkpoint the
        run resumed from) is not returned either.
    """
    pattern = re.escape(f'best_{key}_'.replace('/', '_')) + _step_pattern(filename_tmpl)
    found = re.fullmatch(pattern, osp.basename(current))
    if found is None or not osp.isfile(current) or \
            not _same_dir(osp.dirname(osp.abspath(current)), folder):
        return []
    stale = []
    for name in sorted(os.listdir(folder)):
        match = re.fullmatch(pattern, name)
        if match and int(match.group(1)) < int(found.group(1)):
            stale.append(osp.join(folder, name))
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
