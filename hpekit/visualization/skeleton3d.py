"""3D skeleton plots: predicted vs ground-truth joints of one pose."""
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hpekit.visualization.skeleton2d import check_skeleton


def _check_joints(name, joints):
    """Return ``joints`` as float64 [K, 3]; ValueError naming ``name`` otherwise."""
    arr = np.asarray(joints, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f'{name} must have shape [K, 3], but got {list(arr.shape)}')
    return arr




def _to_view(joints):
    """Camera coordinates (x right, y down, z away) → plot axes (x, depth, up)."""
    return joints[:, [0, 2, 1]] * np.array([1.0, 1.0, -1.0])


def plot_pose3d(ax, joints, skeleton, color='tab:blue', label=None):
    """Draw one pose on a 3D axes: joints as dots, bones as lines.

    Args:
        ax: a matplotlib 3D axes (``projection='3d'``).
        joints: array-like [K, 3] in camera coordinates (x right, y down, z away
            from the camera), any length unit; drawn with depth into the plot and
            up (−y) vertical, so a standing body stands.
        skeleton: iterable of (i, j) joint-index pairs, one per bone.
        color: matplotlib colour of dots and bones.
        label (str, optional): legend label (attached to the joint dots).
    Returns:
        the axes.
    """
    joints = _to_view(_check_joints('joints', joints))
    for i, j in check_skeleton(skeleton, len(joints)):
        ax.plot(*joints[[i, j]].T, color=color, linewidth=2)
    ax.scatter(*joints.T, color=color, s=12, label=label, depthshade=False)
    return ax


def _set_equal_limits(ax, points):
    """Give the three axes one common range around ``points`` [M, 3]."""
    center = (points.max(axis=0) + points.min(axis=0)) / 2
    half = max(float((points.max(axis=0) - points.min(axis=0)).max()) / 2, 1e-6)
    ax.set_xlim(center[0] - half, center[0] + half)
    ax.set_ylim(center[1] - half, center[1] + half)
    ax.set_zlim(center[2] - half, center[2] + half)


def save_pose3d_comparison(pred, gt, skeleton, out_png, title=''):
    """Save a PNG with the predicted (red) and ground-truth (green) pose in one 3D plot.

    Args:
        pred, gt: array-like [K, 3], same unit (e.g. metres).
        skeleton: iterable of (i, j) joint-index pairs, e.g. metainfo ``skeleton_links``.
        out_png (str | PathLike): output path; parent folders are created.
        title (str): figure title.
    Returns:
        str: ``out_png``.
    """
    return save_pose3d_grid([pred], [gt], skeleton, out_png, titles=[title])


def save_pose3d_grid(preds, gts, skeleton, out_png, titles=None, ncols=4):
    """Save a PNG grid of 3D plots, prediction (red) over ground truth (green) in each.

    Args:
        preds, gts: array-likes [M, K, 3] (or lists of M [K, 3]), same unit.
        skeleton: iterable of (i, j) joint-index pairs, e.g. metainfo ``skeleton_links``.
        out_png (str | PathLike): output path; parent folders are created.
        titles (list[str], optional): one title per panel.
        ncols (int): panels per row.
    Returns:
        str: ``out_png``.
    """
    pairs = [(_check_joints('pred', p), _check_joints('gt', g)) for p, g in zip(preds, gts)]
    if len(pairs) != len(preds) or len(preds) != len(gts) or not pairs:
        raise ValueError(f'preds and gts must hold the same number (>= 1) of poses, got '
                         f'{len(preds)} and {len(gts)}')
    for pred, gt in pairs:
        if pred.shape != gt.shape:
            raise ValueError(f'pred and gt must have the same shape [K, 3], but got '
                             f'{list(pred.shape)} and {list(gt.shape)}')
    ncols = min(ncols, len(pairs))
    nrows = -(-len(pairs) // ncols)
    fig = Figure(figsize=(5 * ncols, 5 * nrows))
    FigureCanvasAgg(fig)
    for index, (pred, gt) in enumerate(pairs):
        ax = fig.add_subplot(nrows, ncols, index + 1, projection='3d')
        plot_pose3d(ax, gt, skeleton, color='tab:green', label='ground truth')
        plot_pose3d(ax, pred, skeleton, color='tab:red', label='prediction')
        _set_equal_limits(ax, _to_view(np.concatenate([pred, gt])))
        ax.set_xlabel('x')
        ax.set_ylabel('z (depth)')
        ax.set_zlabel('-y (up)')
        ax.set_title(titles[index] if titles else '')
        ax.legend(loc='upper right')
    out_png = os.fspath(out_png)
    os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
    fig.savefig(out_png, dpi=100, format='png')
    return out_png


def render_pose3d(joints, skeleton, size=(480, 480), bounds=None, title='',
                  color='tab:red'):
    """Draw one pose in a 3D plot and return the picture (e.g. a video frame).

    Args:
        joints: array-like [K, 3], camera coordinates (see ``plot_pose3d``).
        skeleton: iterable of (i, j) joint-index pairs.
        size (tuple[int, int]): (W, H) of the picture in px.
        bounds: optional points [M, 3] (same coordinates) whose bounding cube fixes
            the axes, e.g. every frame's joints so the view stays still in a video;
            default: the cube around ``joints``.
        title (str): plot title.
        color: matplotlib colour of the pose.
    Returns:
        uint8 [H, W, 3] RGB.
    """
    joints = _check_joints('joints', joints)
    bounds = joints if bounds is None else _check_joints('bounds', np.reshape(bounds,
                                                                             (-1, 3)))
    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1, projection='3d')
    plot_pose3d(ax, joints, skeleton, color=color)
    _set_equal_limits(ax, _to_view(bounds))
    ax.set_xlabel('x')
    ax.set_ylabel('z (depth)')
    ax.set_zlabel('-y (up)')
    ax.set_title(title)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
