"""hpekit: a plugin-based human pose estimation toolkit on mmengine and mmcv.

Importing hpekit changes nothing in mmengine or other libraries. Scripts that build
hpekit parts call ``hpekit.utils.register_all_modules()`` once (hpekit's tools do).
"""
from .version import __version__

__all__ = ['__version__']
