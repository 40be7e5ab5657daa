"""Small file helpers shared by hooks and tools."""
import json
import os
import socket
import tempfile
import time
import warnings
from contextlib import contextmanager, suppress

import numpy as np

# The process umask (read once: os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def to_builtin(value):
    """Return ``value`` with numpy/torch scalars and arrays turned into Python types."""
    if isinstance(value, dict):
        return {k: to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value


@contextmanager
def atomic_open(path, mode='wb', encoding=None):
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically.

    Yields the open temporary file (``mode`` 'wb' or 'w'). When the block ends without
    an error the file is flushed, fsync'ed and renamed onto ``path`` (``os.replace``,
    atomic on POSIX), then the folder is fsync'ed so the rename survives a power cut.
    When the block raises, the temporary file is removed and ``path`` is untouched. A
    process killed mid-write leaves at most a ``.<name>.*.tmp`` file, never a partial
    file under ``path``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{os.path.basename(path)}.',
                               suffix='.tmp')
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes 0600; match a plain open()
        with open(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """fsync a folder so a rename inside it is durable (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path, obj):
    """Write ``obj`` as indented JSON to ``path`` through ``atomic_open``.

    A reader never sees a half-written file, and a crash leaves the old file intact.
    """
    with atomic_open(path, 'w', encoding='utf-8') as f:
        json.dump(to_builtin(obj), f, indent=2)


class WorkDirLockedError(RuntimeError):
    """Another live process is training in the same work dir."""


class WorkDirLock:
    """An exclusive lock on a work dir: ``<folder>/.hpekit_train.lock``, held with ``flock``.

    The kernel releases an ``flock`` when its process dies, so the lock of a killed run
    is stale by construction and the next run takes it over; the file itself stays
    and records the holder (pid, host, start time) for messages. A lock this process
    already holds on the same folder (a previous run in this process that stopped with
    an error) is taken over as well.

    ``acquire`` returns the previous holder's record (dict, or None when the file was
    new or empty) or raises ``WorkDirLockedError`` naming the live holder. File systems
    without ``flock`` support (some network mounts) give a warning and no lock.
    """

    NAME = '.hpekit_train.lock'
    _held = {}   # realpath of the lock file → fd, for locks held by this process

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, self.NAME)

    def acquire(self):
        import fcntl  # POSIX only: fileio must import on every platform
        os.makedirs(self.folder, exist_ok=True)
        key = os.path.realpath(self.path)
        stale_fd = WorkDirLock._held.pop(key, None)
        if stale_fd is not None:
            with suppress(OSError):
                os.close(stale_fd)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_lock_record(fd)
            os.close(fd)
            raise WorkDirLockedError(
                f'work dir {self.folder} is in use by another training run: pid '
                f"{holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
                f"{holder.get('started', '?')} (lock file {self.path}). Two runs in one work "
                f"dir would overwrite each other's checkpoints. Wait for it to finish, stop "
                f'it, or choose another --work-dir.') from None
        except OSError as err:   # no flock on this file system
            os.close(fd)
            warnings.warn(f'could not lock {self.path} ({err}); concurrent runs in this '
                          f'work dir are not detected')
            return None
        previous = _read_lock_record(fd) or None
        record = json.dumps(dict(pid=os.getpid(), host=socket.gethostname(),
                                 started=time.strftime('%Y-%m-%d %H:%M:%S')))
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode(), 0)
        os.fsync(fd)
        WorkDirLock._held[key] = fd
        if previous and previous.get('pid') == os.getpid():
            previous = None   # our own earlier run: nothing to report
        return previous

    def release(self):
        """Clear the record and unlock (the file stays; see the class docstring)."""
        fd = WorkDirLock._held.pop(os.path.realpath(self.path), None)
        if fd is None:
            return
        import fcntl  # POSIX only: fileio must import on every platform
        with suppress(OSError):
            os.ftruncate(fd, 0)
            # explicit unlock: forked DataLoader workers may still share the descriptor
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_lock_record(fd):
    try:
        data = os.pread(fd, 4096, 0)
        return json.loads(data.decode()) if data.strip() else {}
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------ predictions
PREDICTION_FORMATS = ('.npz', '.json')


class UnsafeFormatError(ValueError):
    """A file name asks for a format that can run code when read (pickle)."""


def check_predictions_path(path, what='--dump'):
    """``path`` must end in .npz or .json; a pickle is refused with the reason."""
    lower = str(path).lower()
    if lower.endswith(('.pkl', '.pickle')):
        raise UnsafeFormatError(
            f'{what} {path}: pickle files are not written or read by hpekit: unpickling a '
            f'file can run any code inside it, so a predictions file from someone else '
            f'(or one that was tampered with) could take over the machine that opens it. '
            f'Use a .npz file (numpy arrays, read with allow_pickle=False) or .json.')
    if not lower.endswith(PREDICTION_FORMATS):
        raise ValueError(f'{what} {path}: expected a .npz or .json file name')


def _flatten(value, prefix, out, skipped):
    """Nested dicts → ``{'a/b': array}``; tensors → numpy; unsupported values skipped."""
    if hasattr(value, 'to_dict') and not isinstance(value, dict):   # BaseDataElement
        value = value.to_dict()
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f'{prefix}/{key}' if prefix else str(key), out, skipped)
        return
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception:   # noqa: BLE001  (ragged lists and the like)
        skipped.add(prefix)
        return
    if array.dtype.kind in 'biufcU':
        out[prefix] = array
    else:   # objects (None, classes…) cannot be stored without pickle
        skipped.add(prefix)


def flatten_samples(samples):
    """Per-sample predictions (dicts or data elements) → list of ``{'field/sub': array}``.

    Returns ``(flat_samples, skipped_field_names)``.
    """
    flat, skipped = [], set()
    for sample in samples:
        out = {}
        _flatten(sample, '', out, skipped)
        flat.append(out)
    return flat, sorted(skipped)


def save_predictions(path, samples):
    """Write per-sample predictions to ``path`` (.npz or .json, atomically).

    .npz: one array per field, stacked over samples (``[N, ...]``) when every sample
    has it with one shape, else one array per sample named ``field@i``; the arrays
    ``__num_samples__`` and ``__skipped__`` (fields that are not numbers or strings).
    .json: a list of ``{field: nested lists}``. Returns the list of skipped fields.
    """
    check_predictions_path(path, 'predictions file')
    flat, skipped = flatten_samples(samples)
    if str(path).lower().endswith('.json'):
        write_json_atomic(path, [{k: v.tolist() for k, v in s.items()} for s in flat])
        return skipped
    arrays = {'__num_samples__': np.asarray(len(flat)),
              '__skipped__': np.asarray(skipped, dtype=str)}
    for key in dict.fromkeys(k for s in flat for k in s):
        values = [s.get(key) for s in flat]
        if all(v is not None for v in values) and len({v.shape for v in values}) == 1:
            arrays[key] = np.stack(values)
        else:
            arrays.update({f'{key}@{i}': v for i, v in enumerate(values) if v is not None})
    with atomic_open(path, 'wb') as f:
        np.savez(f, **arrays)
    return skipped


def load_predictions(path):
    """Read what ``save_predictions`` wrote, without unpickling anything.

    Returns a list of per-sample dicts ``{'field/sub': np.ndarray}``. Pickle files are
    refused (``UnsafeFormatError``); an .npz holding object arrays is refused by numpy
    (``allow_pickle=False``), reported as ``ValueError`` naming the file.
    """
    check_predictions_path(path, 'predictions file')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'predictions file {path} does not exist')
    if str(path).lower().endswith('.json'):
        with open(path, encoding='utf-8') as f:
            records = json.load(f)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f'{path}: expected a JSON list of per-sample objects')
        return [{k: np.asarray(v) for k, v in r.items()} for r in records]
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as err:
        raise ValueError(f'{path}: cannot be read without unpickling ({err}); hpekit '
                         f'reads only plain arrays') from None
    except (OSError, EOFError) as err:
        raise ValueError(f'{path}: not a readable .npz file ({err})') from None
    if '__num_samples__' not in arrays:
        raise ValueError(f'{path}: not a predictions file written by hpekit '
                         f'(no __num_samples__)')
    num = int(arrays.pop('__num_samples__'))
    arrays.pop('__skipped__', None)
    samples = [{} for _ in range(num)]
    for key, array in arrays.items():
        if '@' in key:
            field, index = key.rsplit('@', 1)
            samples[int(index)][field] = array
        else:
            for i in range(num):
                samples[i][key] = array[i]
    return samples
