"""Model parts; importing this package registers them all in ``MODELS``."""
from hpekit.models import (backbones, data_preprocessors, detectors, estimators,  # noqa: F401
                           heads, losses, necks, wrappers)

__all__ = ['backbones', 'data_preprocessors', 'detectors', 'estimators', 'heads', 'losses',
           'necks', 'wrappers']
