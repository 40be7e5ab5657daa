"""Safe checkpoint loading: ``weights_only=True`` with an explicit allow-list.

mmengine 0.10.7 calls ``torch.load`` with torch's default, which since torch 2.6 is
``weights_only=True``; its own checkpoints then fail to load (``--resume`` breaks)
because they hold a few non-tensor objects. hpekit replaces mmengine's loader for
local files with one that still refuses arbitrary code but allows exactly the
globals an mmengine/hpekit checkpoint needs:

- numpy arrays, dtypes and scalars (message-hub values, metrics),
- ``mmengine.logging.HistoryBuffer`` (the logged scalars that resume restores),
- ``getattr`` restricted to HistoryBuffer's statistics methods (HistoryBuffer
  pickles them as ``getattr(HistoryBuffer, 'mean')`` and so on).

Anything else in a checkpoint (a class, a function, a crafted ``__reduce__``) makes
loading fail with ``UnsafeCheckpointError``; nothing from the file is executed.
"""
import pickle
import re
import zipfile

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


class CheckpointError(RuntimeError):
    """A checkpoint file could not be read (missing, truncated or corrupt)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds objects outside hpekit's allow-list; it was not loaded."""


def _history_buffer_getattr(obj, name):
    """``getattr`` as a checkpoint may use it: HistoryBuffer's statistics methods only."""
    known = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in known:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not on the allow-list of checkpoint globals')


def allowed_globals():
    """The globals a checkpoint may reference, in the form ``torch.serialization`` takes."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [
        np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar,
        *sorted(set(dtype_classes), key=str),
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
    ]


def load_checkpoint_file(filename, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` and hpekit's allow-list.

    Args:
        filename (str): path of a file written by ``torch.save``.
        map_location: as ``torch.load``.

    Returns:
        The unpickled object (a dict for mmengine checkpoints).

    Raises:
        CheckpointError: missing, truncated or corrupt file (the message names it).
        UnsafeCheckpointError: the file references globals outside the allow-list.
    """
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f'checkpoint {filename} does not exist') from err
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it references objects outside '
            f"hpekit's allow-list of checkpoint globals, so loading it could run code. "
            f'{_unpickler_reason(err)}') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise CheckpointError(
            f'checkpoint {filename} could not be read (truncated or corrupt file?): '
            f'{err}') from err


def _unpickler_reason(err):
    """The part of torch's weights-only error that names what was refused."""
    text = str(err)
    found = re.search(r'GLOBAL ([\w.]+)', text)
    if found:
        return f'Refused global: {found.group(1)}.'
    found = re.search(r'WeightsUnpickler error:\s*(.+)', text)
    return f'Refused: {found.group(1).strip()}' if found else ''


def _load_from_local(filename, map_location):
    return load_checkpoint_file(filename, map_location)


def install_safe_checkpoint_loader():
    """Make mmengine load every local checkpoint through ``load_checkpoint_file``."""
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)
