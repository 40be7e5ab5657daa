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
