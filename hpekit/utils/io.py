"""Small file helpers shared by hooks and tools."""
import json
import os
import tempfile
from contextlib import contextmanager, suppress

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
        import fcntl
        import socket
        import time
        import warnings
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
        import fcntl
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
