"""MPII's evaluation files in MATLAB's .mat format: the ground truth (``mpii_gt_val.mat``)
and predictions (``preds.mat``), read and written as the official evaluation does, and
the head sizes PCKh normalises by.

``mpii_gt_val.mat`` layout (MATLAB order, N people, K joints in the dataset's order;
K = 16 for MPII): ``pos_gt_src`` [K, 2, N] 1-based px, ``jnt_missing`` [K, N] (the
official file) and / or ``jnt_visible`` [K, N], ``headboxes_src`` [2, 2, N] (``[0]`` =
(x1, y1) top-left, ``[1]`` = (x2, y2) bottom-right), ``dataset_joints`` [1, K] names.
Head size = ``SC_BIAS`` (0.6) × the diagonal of the head box, in pixels.
"""
import os
from typing import Dict, Optional, Sequence, Union

import numpy as np
import scipy.io
from numpy.typing import ArrayLike

from hpekit.fileio import atomic_open

SC_BIAS = 0.6
PathLike = Union[str, os.PathLike]


def mpii_head_sizes(headboxes_src: ArrayLike) -> np.ndarray:
    """Head sizes from head boxes in the official .mat layout.

    Args:
        headboxes_src: array-like [2, 2, N], pixels: ``[0, :, n]`` = (x1, y1),
            ``[1, :, n]`` = (x2, y2) of person n (the .mat's layout, not the [N, 2, 2]
            one :func:`load_mpii_gt` returns).
    Returns:
        np.ndarray float64 [N]: ``0.6 × ‖(x2 − x1, y2 − y1)‖`` in pixels.
    """
    boxes = np.asarray(headboxes_src, dtype=np.float64)
    if boxes.ndim != 3 or boxes.shape[:2] != (2, 2):
        raise ValueError('headboxes_src must have shape [2, 2, N], '
                         f'but got {list(boxes.shape)}')
    return SC_BIAS * np.linalg.norm(boxes[1] - boxes[0], axis=0)


def _mat_array(gt_dict, key, expected, path):
    """``gt_dict[key]`` as an ndarray whose shape matches ``expected`` (None = any)."""
    if key not in gt_dict:
        raise ValueError(f'{path}: key {key!r} is missing; expected an array of shape '
                         f'{_shape_text(expected)}')
    return _checked(f'{path}: {key!r}', gt_dict[key], expected)


def _shape_text(expected):
    """['K', 2, None] → '[K, 2, N]' (None and names match any size)."""
    return '[' + ', '.join('N' if e is None else str(e) for e in expected) + ']'


def _visible_from_mat(gt_dict, k, n, path):
    """[K, N] bool: ``jnt_visible`` if present, else ``1 - jnt_missing`` (official)."""
    if 'jnt_visible' in gt_dict:
        return _mat_array(gt_dict, 'jnt_visible', (k, n), path) != 0
    if 'jnt_missing' in gt_dict:
        return _mat_array(gt_dict, 'jnt_missing', (k, n), path) == 0
    raise ValueError(f"{path}: neither 'jnt_visible' nor 'jnt_missing' is present; "
                     f'expected an array of shape [{k}, {n}]')


def load_mpii_gt(mat_path: PathLike) -> Dict[str, np.ndarray]:
    """Read MPII's evaluation GT (``mpii_gt_val.mat``) into per-sample arrays.

    Args:
        mat_path: path of the .mat in the official layout (see the module docstring).
    Returns:
        dict with, for N people in the file's order:
        ``pos_gt_src`` float64 [N, K, 2] (1-based MATLAB px), ``jnt_visible`` bool
        [N, K] (``1 - jnt_missing`` when the file has no ``jnt_visible``),
        ``headboxes_src`` float64 [N, 2, 2] (``[n, 0]`` = (x1, y1), ``[n, 1]`` =
        (x2, y2)), ``head_size`` float64 [N] px (:func:`mpii_head_sizes`).
    Raises:
        FileNotFoundError: naming ``mat_path`` when it does not exist.
        ValueError: naming the key and its expected shape when one is missing or has
        another shape.
    """
    path = os.fspath(mat_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'MPII evaluation GT file not found: {path!r}')
    try:
        gt_dict = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, NotImplementedError, IndexError,
            scipy.io.matlab.MatReadError) as err:   # MatReadError: a 0-byte or cut file
        raise ValueError(f'{path}: not a readable MATLAB .mat file (empty, truncated, or '
                         f'saved as v7.3/HDF5?): {err}') from None
    pos = _mat_array(gt_dict, 'pos_gt_src', ('K', 2, None), path)
    k, n = pos.shape[0], pos.shape[2]
    visible = _visible_from_mat(gt_dict, k, n, path)
    boxes = _mat_array(gt_dict, 'headboxes_src', (2, 2, n), path).astype(np.float64)
    return dict(pos_gt_src=pos.astype(np.float64).transpose(2, 0, 1),
                jnt_visible=visible.T.copy(),
                headboxes_src=boxes.transpose(2, 0, 1),
                head_size=mpii_head_sizes(boxes))


def _checked(name, value, shape):
    """``value`` as an ndarray of ``shape`` (None or a name such as 'K' = any size);
    ValueError otherwise."""
    arr = np.asarray(value)
    if arr.ndim != len(shape) or any(
            isinstance(e, int) and s != e for s, e in zip(arr.shape, shape)):
        raise ValueError(f'{name} must have shape {_shape_text(shape)}, '
                         f'but got {list(arr.shape)}')
    return arr


def save_mpii_gt(mat_path: PathLike, pos_gt_src: ArrayLike, jnt_visible: ArrayLike,
                 headboxes_src: ArrayLike, joint_names: Optional[Sequence[str]] = None) -> None:
    """Write an evaluation GT .mat in the official ``mpii_gt_val.mat`` layout.

    Args:
        mat_path: output path (parent folders are created).
        pos_gt_src: array-like [N, K, 2], 1-based MATLAB px.
        jnt_visible: array-like [N, K], bool or 0/1.
        headboxes_src: array-like [N, 2, 2] px, ``[n, 0]`` = (x1, y1), ``[n, 1]`` =
            (x2, y2).
        joint_names: K names for ``dataset_joints`` (default ``joint_0`` …).
    Writes keys ``pos_gt_src`` [K, 2, N], ``jnt_visible`` and ``jnt_missing``
    [K, N] (float 0/1; the official tools read ``jnt_missing``), ``headboxes_src``
    [2, 2, N] and ``dataset_joints`` (a 1×K cell of joint names).
    """
    pos = _checked('pos_gt_src', np.asarray(pos_gt_src, dtype=np.float64), (None, 'K', 2))
    n, k = pos.shape[:2]
    visible = _checked('jnt_visible', jnt_visible, (n, k)).astype(bool)
    boxes = _checked('headboxes_src', np.asarray(headboxes_src, dtype=np.float64),
                     (n, 2, 2))
    names = np.empty((1, k), dtype=object)
    names[0, :] = list(joint_names or [f'joint_{i}' for i in range(k)])
    parent = os.path.dirname(os.fspath(mat_path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    scipy.io.savemat(os.fspath(mat_path), dict(
        pos_gt_src=pos.transpose(1, 2, 0),
        jnt_visible=visible.T.astype(np.float64),
        jnt_missing=(~visible).T.astype(np.float64),
        headboxes_src=boxes.transpose(1, 2, 0),
        dataset_joints=names))


# ------------------------------------------------------------- predictions .mat
def load_mpii_preds(mat_path: PathLike, num_joints: Optional[int] = None) -> np.ndarray:
    """Read predictions in the official / HRNet ``preds.mat`` layout.

    Args:
        mat_path: a .mat file with key ``preds``: [N, K, 2] (x, y), 1-based MATLAB px,
            one row per person of ``mpii_gt_val.mat`` in its order (HRNet's
            ``pred.mat``, bearpaw's ``preds_valid.mat`` and :func:`save_mpii_preds`
            write it so). A row of NaN is a person without a prediction (wrong
            everywhere, as in the official evaluation).
        num_joints: K to require (None: any).
    Returns:
        np.ndarray float64 [N, K, 2], 1-based px.
    Raises:
        FileNotFoundError: naming ``mat_path``.
        ValueError: no ``preds`` key, or a shape other than [N, K, 2] (the message
        says when the array looks like the transposed MATLAB layout [K, 2, N]).
    """
    path = os.fspath(mat_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'MPII predictions file not found: {path!r}')
    try:
        content = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, NotImplementedError, IndexError,
            scipy.io.matlab.MatReadError) as err:
        raise ValueError(f'{path}: not a readable MATLAB .mat file (empty, truncated, or '
                         f'saved as v7.3/HDF5?): {err}') from None
    if 'preds' not in content:
        keys = sorted(k for k in content if not k.startswith('__'))
        raise ValueError(f"{path}: key 'preds' is missing (keys: {keys}); expected the "
                         'official / HRNet layout, preds [N, K, 2] in 1-based px')
    preds = np.asarray(content['preds'], dtype=np.float64)
    k = 'K' if num_joints is None else int(num_joints)
    if preds.ndim != 3 or preds.shape[2] != 2 or (num_joints is not None
                                                  and preds.shape[1] != num_joints):
        hint = ''
        if preds.ndim == 3 and preds.shape[1] == 2 and preds.shape[2] != 2:
            hint = (' (this looks like the MATLAB layout [K, 2, N]; transpose it with '
                    'preds.transpose(2, 0, 1))')
        raise ValueError(f"{path}: 'preds' must have shape [N, {k}, 2], but got "
                         f'{list(preds.shape)}{hint}')
    return preds


def save_mpii_preds(mat_path: PathLike, preds: ArrayLike) -> None:
    """Write predictions as the official / HRNet ``preds.mat``: key ``preds`` [N, K, 2].

    Args:
        mat_path: output path (written atomically: a complete file or none).
        preds: array-like [N, K, 2] (x, y), 1-based MATLAB px (hpekit's 0-based
            predictions + 1), one row per person of ``mpii_gt_val.mat`` in its order;
            NaN rows for people without a prediction.
    """
    arr = _checked('preds', np.asarray(preds, dtype=np.float64), (None, 'K', 2))
    with atomic_open(os.fspath(mat_path), 'wb') as f:
        scipy.io.savemat(f, dict(preds=arr))
