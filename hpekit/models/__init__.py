"""Model parts; importing this package registers them all in ``MODELS``."""
from . import backbones, data_preprocessors, estimators, heads, losses  # noqa: F401
from . import necks, wrappers  # noqa: F401

__all__ = ['backbones', 'data_preprocessors', 'estimators', 'heads', 'losses', 'necks',
           'wrappers']
