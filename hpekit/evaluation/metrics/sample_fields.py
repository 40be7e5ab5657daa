"""Reading predictions and labels from the data samples a metric's ``process`` gets.

mmengine's Evaluator passes each data sample as a dict (``PoseDataSample.to_dict()``:
fields at the top, metainfo both at the top and under 'metainfo'); a metric may also
be called with ``PoseDataSample`` objects or plain dicts (the tools and tests do).
"""
from typing import Any, Optional, Sequence

import numpy as np

_MISSING = object()


def sample_field(sample: Any, name: str, default: Any = _MISSING, metric: str = 'metric',
                 needed_for: str = '') -> Any:
    """``sample[name]`` (also under its 'metainfo' dict) or ``getattr(sample, name)``.

    Raises:
        KeyError: the field is missing and no ``default`` is given (the metric and what
            it needs the field for are named).
    """
    if isinstance(sample, dict):
        value = sample.get(name, _MISSING)
        if value is _MISSING:
            value = (sample.get('metainfo') or {}).get(name, _MISSING)
    else:
        value = getattr(sample, name, _MISSING)
        if value is _MISSING and hasattr(sample, 'metainfo'):
            value = sample.metainfo.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is not _MISSING:
            return default
        raise KeyError(f'{metric}: a data sample has no {name!r}'
                       + (f' ({needed_for})' if needed_for else ''))
    return value


def as_array(value: Any, shape: Sequence[int], name: str, metric: str = 'metric',
             dtype=np.float64) -> np.ndarray:
    """A tensor / array / list as a numpy array of ``shape`` (a leading 1 is dropped)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=dtype)
    if arr.shape != tuple(shape) and arr.shape != (1, *shape):
        raise ValueError(f'{metric}: {name} must have shape {list(shape)}, but got '
                         f'{list(arr.shape)}')
    return arr.reshape(shape)


def as_scalar(value: Any, name: str, metric: str = 'metric',
              integer: bool = False) -> Optional[float]:
    """A number (python, numpy or one-element tensor/array) as float (or int)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f'{metric}: {name} must be one number, but got shape '
                         f'{list(arr.shape)}')
    number = arr.reshape(()).item()
    if integer:
        if isinstance(number, bool) or int(number) != number:
            raise ValueError(f'{metric}: {name} must be an integer, but got {number!r}')
        return int(number)
    return float(number)
