"""Small file helpers shared by hooks and tools."""
import json
import os


def to_builtin(value):
    """Return ``value`` with numpy/torch scalars and arrays turned into Python types."""
    if isinstance(value, dict):
        return {k: to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value


def write_json_atomic(path, obj):
    """Write ``obj`` as indented JSON to ``path``: temporary file, fsync, then rename.

    A reader never sees a half-written file, and a crash leaves the old file intact.
    """
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(to_builtin(obj), f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
