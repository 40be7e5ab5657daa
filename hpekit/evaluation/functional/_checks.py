"""Argument checks shared by the functional metrics."""
import numpy as np


def as_points(name, value, dim, expected_shape=None):
    """``value`` as float64 [N, K, dim]; ValueError naming ``name`` otherwise.

    With ``expected_shape`` (pred's shape), the shape must also match it exactly.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != dim:
        raise ValueError(f'{name} must have shape [N, K, {dim}], but got {list(arr.shape)}')
    if expected_shape is not None and arr.shape != tuple(expected_shape):
        raise ValueError(f'{name} must have the same shape as pred, [N, K, {dim}] = '
                         f'{list(expected_shape)}, but got {list(arr.shape)}')
    return arr


def as_mask(mask, n, k):
    """``mask`` as bool [N, K] (all True when None); ValueError on a bad shape."""
    if mask is None:
        return np.ones((n, k), dtype=bool)
    arr = np.asarray(mask)
    if arr.shape != (n, k):
        raise ValueError(f'mask must have shape [N, K] = {[n, k]}, '
                         f'but got {list(arr.shape)}')
    return arr.astype(bool)
