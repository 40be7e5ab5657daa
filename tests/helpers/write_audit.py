"""Test helper: log every file this process opens for writing or renames into place.

Imported through ``custom_imports`` by tests/configs/video_dist_tiny.py. When the
environment variable ``HPEKIT_WRITE_AUDIT_DIR`` names a folder, a Python audit hook
appends ``<path>`` lines to ``<folder>/rank<RANK>.txt`` (RANK from torchrun or
SLURM_PROCID, else 0) for each ``open`` in a writing mode and each rename target, so a
test can tell which rank wrote which checkpoint. Without the variable it does nothing.
"""
import os
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def _log_path():
    folder = os.environ.get('HPEKIT_WRITE_AUDIT_DIR')
    if not folder:
        return None
    rank = os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))
    return os.path.join(folder, f'rank{rank}.txt')


def _written_path(event, args):
    """The path written by an audited ``open`` / ``os.rename`` event, else None."""
    if event == 'open':
        path, mode, flags = args
        writing = (any(c in mode for c in 'wax+') if isinstance(mode, str)
                   else bool(flags & _WRITE_FLAGS))
        return path if writing and isinstance(path, (str, bytes, os.PathLike)) else None
    if event == 'os.rename':
        return args[1]
    return None


def _install():
    log = _log_path()
    if log is None:
        return
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def hook(event, args):
        if event not in ('open', 'os.rename'):
            return
        path = _written_path(event, args)
        if path is not None and os.fsdecode(path) != log:
            os.write(log_fd, (os.path.abspath(os.fsdecode(path)) + '\n').encode())

    sys.addaudithook(hook)


_install()
