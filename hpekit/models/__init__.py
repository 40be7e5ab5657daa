"""Model parts; importing this package registers them all in ``MODELS``."""
from hpekit.models import backbones, data_preprocessors, estimators, heads, losses  # noqa: F401
from hpekit.models import necks, wrappers  # noqa: F401

__all__ = ['backbones', 'data_preprocessors', 'estimators', 'heads', 'losses', 'necks',
           'wrappers']
