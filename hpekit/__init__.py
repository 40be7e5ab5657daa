"""hpekit: a plugin-based human pose estimation toolkit on mmengine and mmcv.

Importing hpekit changes nothing in mmengine or other libraries. Scripts that build
hpekit parts call ``hpekit.utils.register_all_modules()`` once (hpekit's tools do).

``hpekit.get_config(name)`` loads a shipped config by name (imported on first use).
"""
from importlib import import_module as _import_module

from hpekit.version import __version__

# Loaded on first use (PEP 562), so ``import hpekit`` stays cheap and imports nothing.
_LAZY = {'get_config': 'hpekit.config.setup'}

__all__ = ['__version__', 'get_config']


def __getattr__(name):
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
