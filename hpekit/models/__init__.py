"""Model parts; importing this package registers them all in ``MODELS``."""
from hpekit.models import (backbones, data_preprocessors, estimators, heads, losses,  # noqa: F401
                           necks, wrappers)

__all__ = ['backbones', 'data_preprocessors', 'estimators', 'heads', 'losses', 'necks',
           'wrappers']
