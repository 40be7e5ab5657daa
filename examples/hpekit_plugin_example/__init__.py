"""An example hpekit plugin package: one part of every kind, living outside hpekit.

A config loads it with ``custom_imports = dict(imports=['hpekit_plugin_example'])``
(the folder holding this package must be importable, e.g. on PYTHONPATH or pip
installed). Importing it registers its parts into hpekit's registries, after which a
config names them like built-in parts. See docs/plugins.md.
"""
from . import (backbone, block, codec, dataset, estimator, head, metric, neck,  # noqa: F401
               transform)
