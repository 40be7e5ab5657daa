"""Safe checkpoint loading (``weights_only=True`` with an allow-list), atomic saving.

mmengine 0.10.7 calls ``torch.load`` with torch's default, which since torch 2.6 is
``weights_only=True``; its own checkpoints then fail to load (``--resume`` breaks)
because they hold a few non-tensor objects. hpekit replaces mmengine's loader for
local files with one that still refuses arbitrary code but allows exactly the
globals an mmengine/hpekit checkpoint needs:

- numpy arrays, dtypes and scalars (message-hub values, metrics),
- ``mmengine.logging.HistoryBuffer`` (the logged scalars that resume restores),
- ``getattr`` restricted to HistoryBuffer's statistics methods (HistoryBuffer
  pickles them as ``getattr(HistoryBuffer, 'mean')`` and so on),
- ``bytes()`` (empty numpy arrays, e.g. in dataset metainfo, pickle their data so).

Anything else in a checkpoint (a class, a function, a crafted ``__reduce__``) makes
loading fail with ``UnsafeCheckpointError``; nothing from the file is executed.

Weights that hold NaN/Inf are refused by ``check_finite_weights``
(``NonFiniteWeightsError``), which every path that loads weights into a model calls:
``hpekit.apis.init_model`` (the API, the demo, export, the ONNX Runtime backend) and
``CheckpointKeysHook`` (``tools/test.py``, ``load_from``, ``--resume``).
"""
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from hpekit.fileio import atomic_open


class CheckpointError(RuntimeError):
    """A checkpoint file could not be read (missing, truncated or corrupt)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds objects outside hpekit's allow-list; it was not loaded."""


class NonFiniteWeightsError(CheckpointError):
    """A checkpoint's weights hold NaN/Inf values; they were not loaded.

    Attributes:
        path (str): the checkpoint.
        first (str): the name of the first tensor (in the state dict's order) that
            holds NaN/Inf.
        bad (list): ``(name, NaN count, Inf count, numel)`` of every such tensor.
    """

    def __init__(self, message: str, path: str = '', bad: Optional[list] = None) -> None:
        super().__init__(message)
        self.path = path
        self.bad = list(bad or [])
        self.first = self.bad[0][0] if self.bad else None


#: How a caller may load non-finite weights anyway, named in the error.
ALLOW_NONFINITE_HINT = ('init_model(..., allow_nonfinite=True); --allow-nonfinite-weights '
                        'for tools/test.py, tools/demo.py and tools/export_onnx.py; '
                        'default_hooks.checkpoint_keys.allow_nonfinite=True for training')


def nonfinite_weights(state_dict: Mapping[str, Any]) -> Tuple[List[Tuple[str, int, int, int]],
                                                              int]:
    """The floating-point tensors of a state dict that hold NaN/Inf.

    Args:
        state_dict: name → tensor (other values, and integer tensors such as
            BatchNorm's ``num_batches_tracked``, are skipped).

    Returns:
        tuple: (``[(name, NaN count, Inf count, numel), ...]`` in the state dict's
        order, the number of floating-point tensors looked at).
    """
    bad, floating = [], 0
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor) or not (value.is_floating_point() or
                                                       value.is_complex()):
            continue
        floating += 1
        value = value.detach()
        if value.numel() == 0 or bool(torch.isfinite(value).all()):
            continue
        nans = int(torch.isnan(value).sum())
        bad.append((str(name), nans, int((~torch.isfinite(value)).sum()) - nans,
                    value.numel()))
    return bad, floating


def _describe(name, nans, infs, size):
    kinds = ', '.join(f'{n} {kind}' for n, kind in ((nans, 'NaN'), (infs, 'Inf')) if n)
    return f'{name} ({nans + infs} of {size} values: {kinds})'


def check_finite_weights(state_dict: Mapping[str, Any], path: Any, allow: bool = False,
                         warn: Optional[Callable[[str], Any]] = None,
                         hint: str = ALLOW_NONFINITE_HINT) -> List[Tuple[str, int, int, int]]:
    """Refuse weights that hold NaN/Inf: a model built from them predicts NaN (a
    PCKh of 0.00, no joint drawn, an ONNX file that fails its check) or trains into a
    NaN loss.

    Every floating-point tensor of ``state_dict`` is checked (integer buffers are
    skipped). Call it before the weights reach a model.

    Args:
        state_dict: the checkpoint's weights (name → tensor), prefixes as saved.
        path: the checkpoint, named in the message.
        allow (bool): the opt-out for debugging: report the bad tensors through
            ``warn`` and return instead of raising.
        warn (callable, optional): takes the warning's text; default
            ``warnings.warn(text, UserWarning)``. A Runner's hook passes
            ``runner.logger.warning``.
        hint (str): how to load the file anyway, appended to the error.

    Returns:
        list: ``(name, NaN count, Inf count, numel)`` of the bad tensors (empty when
        every weight is finite; only reached with ``allow=True`` otherwise).

    Raises:
        NonFiniteWeightsError (a ``CheckpointError``): naming ``path``, how many
            tensors hold NaN/Inf, the first with its counts and up to four more.
    """
    bad, floating = nonfinite_weights(state_dict)
    if not bad:
        return bad
    also = ', '.join(_describe(*entry) for entry in bad[1:5])
    more = f' and {len(bad) - 5} more' if len(bad) > 5 else ''
    text = (f'checkpoint {path}: {len(bad)} of its {floating} floating-point weight '
            f'tensors hold NaN/Inf values; first: {_describe(*bad[0])}'
            f'{f"; also {also}{more}" if also else ""}.')
    if allow:
        message = (f'{text} It was loaded anyway (non-finite weights allowed): '
                   f'predictions and losses will be NaN.')
        (warn or (lambda m: warnings.warn(m, UserWarning, stacklevel=3)))(message)
        return bad
    raise NonFiniteWeightsError(
        f'refusing to load {text} A model with these weights predicts NaN (and trains '
        f'into a NaN loss); the file is damaged or was saved after training diverged. '
        f'To load it anyway for debugging: {hint}.', path=str(path), bad=bad)


def _history_buffer_getattr(obj, name):
    """``getattr`` as a checkpoint may use it: HistoryBuffer's statistics methods only."""
    known = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in known:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not on the allow-list of checkpoint globals')


def _bytes(*args):
    """``bytes`` as a checkpoint may use it: pickle protocol 2 writes ``b''`` (the data
    of an empty numpy array) as ``bytes()``; only that and copies of bytes are allowed."""
    if not args:
        return b''
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytes(args[0])
    raise pickle.UnpicklingError(f'bytes{args!r} is not on the allow-list of checkpoint '
                                 f'globals (only bytes() and copies of bytes are)')


def allowed_globals() -> List[Any]:
    """The globals a checkpoint may reference, in the form ``torch.serialization`` takes."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [
        np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar,
        *sorted(set(dtype_classes), key=str),
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        (_bytes, 'builtins.bytes'),
    ]


MapLocation = Optional[Union[str, torch.device, Dict[str, str], Callable]]


def load_checkpoint_file(filename: str, map_location: MapLocation = None) -> Any:
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
    _check_zip_crc(filename)
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f'checkpoint {filename} does not exist') from err
    except pickle.UnpicklingError as err:
        if not zipfile.is_zipfile(filename):
            raise UnsafeCheckpointError(
                f'refusing to load checkpoint {filename}: it is not in torch\'s zip '
                f'format, and read as a legacy pickle it is corrupt or references objects '
                f"outside hpekit's allow-list. {_unpickler_reason(err)}") from None
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it references objects outside '
            f"hpekit's allow-list of checkpoint globals, so loading it could run code. "
            f'{_unpickler_reason(err)}') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointError(
            f'checkpoint {filename} could not be read (truncated or corrupt file?): '
            f'{err}') from err


def _check_zip_crc(filename):
    """Raise CheckpointError if a zip-format checkpoint has a member whose CRC-32 fails.

    torch does not verify the checksums it writes, so a flipped bit in a tensor would
    otherwise load silently as a wrong weight. Costs one read of the file.
    """
    if not zipfile.is_zipfile(filename):
        return   # missing, truncated or legacy format: torch.load reports it
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f'checkpoint {filename} is corrupt: {err}') from err
    if bad is not None:
        raise CheckpointError(f'checkpoint {filename} is corrupt: the checksum of its '
                              f'member {bad} does not match (damaged on disk or in transfer)')


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


def install_safe_checkpoint_loader() -> None:
    """Make mmengine load every local checkpoint through ``load_checkpoint_file``."""
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (see ``atomic_open``).

    mmengine writes checkpoints (``save_checkpoint`` → ``put``) and the
    ``last_checkpoint`` pointer (``put_text``) with a plain ``open(path, 'wb')``, which
    truncates the previous file first: a kill or a full disk mid-write leaves a
    partial file under the final name. Here the data goes to a temporary file in the
    same folder, is flushed and fsync'ed, then renamed over the old file.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes ``obj`` to ``filepath`` atomically."""
        with atomic_open(str(filepath), 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write the string ``obj`` to ``filepath`` atomically."""
        with atomic_open(str(filepath), 'w', encoding=encoding) as f:
            f.write(obj)


def install_atomic_local_backend() -> None:
    """Make mmengine's file I/O use ``AtomicLocalBackend`` for local paths."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')


def compare_state_dicts(model_state: Dict[str, Any],
                        checkpoint_state: Dict[str, Any]) -> Dict[str, list]:
    """Which keys of a checkpoint do not fit a model.

    Args:
        model_state (dict): the model's ``state_dict()`` (name → tensor).
        checkpoint_state (dict): the checkpoint's state dict (name → tensor).

    Returns:
        dict with sorted lists: 'missing' (in the model, not in the checkpoint),
        'unexpected' (in the checkpoint, not in the model) and 'shape_mismatch'
        (``(name, checkpoint shape, model shape)`` for keys in both whose shapes differ).
    """
    shapes = {k: tuple(getattr(v, 'shape', ())) for k, v in model_state.items()}
    loaded = {k: tuple(getattr(v, 'shape', ())) for k, v in checkpoint_state.items()}
    return {'missing': sorted(set(shapes) - set(loaded)),
            'unexpected': sorted(set(loaded) - set(shapes)),
            'shape_mismatch': sorted((k, loaded[k], shapes[k])
                                     for k in set(shapes) & set(loaded)
                                     if shapes[k] != loaded[k])}
