"""Drawings of tracked people in a video: poses coloured by track id, several 3D poses
in one panel, and each track's keypoint trajectories raw vs smoothed.

Images are RGB uint8 [H, W, 3]; 2D keypoints 0-based image px; 3D joints in camera
coordinates (x right, y down, z away), any length unit.
"""
import os
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hpekit.fileio import atomic_open
from hpekit.visualization.skeleton2d import draw_pose2d
from hpekit.visualization.skeleton3d import plot_pose3d

# Distinct RGB colours for track ids (id modulo the list's length).
TRACK_COLORS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48),
                (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60),
                (250, 190, 212), (0, 128, 128), (170, 110, 40), (128, 0, 0))


def track_color(track_id: int) -> Tuple[int, int, int]:
    """The RGB colour of a track id (ids >= 0; colours repeat every 12 ids)."""
    return TRACK_COLORS[int(track_id) % len(TRACK_COLORS)]


def draw_tracked_poses(image: np.ndarray, people: Sequence[dict],
                       skeleton: Sequence[Sequence[int]], kpt_thr: float = 0.3
                       ) -> np.ndarray:
    """Each person's box, skeleton and ``id N`` label in the colour of their track.

    Args:
        image: uint8 [H, W, 3] RGB (not changed).
        people: dicts with ``track_id`` (int), ``bbox`` [4] xyxy px, ``keypoints``
            [K, 2] px and ``keypoint_scores`` [K].
        skeleton: (i, j) keypoint-index pairs (metainfo ``skeleton_links``).
        kpt_thr: keypoints scoring below are not drawn.
    Returns:
        uint8 [H, W, 3] RGB: the annotated copy.
    """
    out = np.ascontiguousarray(image).copy()
    thickness = max(1, int(round(min(out.shape[:2]) / 200)))
    for person in people:
        color = track_color(person['track_id'])
        x1, y1, x2, y2 = (int(round(v)) for v in person['bbox'])
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        out = draw_pose2d(out, person['keypoints'], skeleton, scores=person['keypoint_scores'],
                          score_thr=kpt_thr, colors=color, thickness=thickness)
        cv2.putText(out, f'id {person["track_id"]}', (x1 + 2, max(y1 - 3, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, color, 1, cv2.LINE_AA)
    return out


def render_poses3d(poses: Sequence[np.ndarray], colors: Sequence[Tuple[int, int, int]],
                   skeleton: Sequence[Sequence[int]], size: Tuple[int, int] = (360, 360),
                   half_range: Optional[float] = None, title: str = '') -> np.ndarray:
    """Several 3D poses in one plot (e.g. the people of one video frame).

    Args:
        poses: M arrays [K, 3], camera coordinates, already placed (root-relative
            poses overlap unless the caller shifts them apart).
        colors: M RGB colours (0..255).
        skeleton: (i, j) joint-index pairs.
        size: (W, H) px of the picture.
        half_range: half the side of the plotted cube (same unit as the poses), centred
            on the poses' mean; fix it over a video so the view does not zoom; default:
            from these poses.
        title: the plot title.
    Returns:
        uint8 [H, W, 3] RGB. No pose: the empty axes.
    """
    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1, projection='3d')
    views = []
    for pose, color in zip(poses, colors):
        plot_pose3d(ax, pose, skeleton, color=tuple(c / 255 for c in color))
        views.append(np.asarray(pose, np.float64)[:, [0, 2, 1]] * [1.0, 1.0, -1.0])
    if views:
        points = np.concatenate(views)
        points = points[np.isfinite(points).all(axis=1)]
        if len(points):
            center = (points.max(axis=0) + points.min(axis=0)) / 2
            half = half_range or max(float(np.ptp(points, axis=0).max()) / 2, 1e-6)
            for axis, c in zip('xyz', center):
                getattr(ax, f'set_{axis}lim')(c - half, c + half)
    ax.set_xlabel('x')
    ax.set_ylabel('z (depth)')
    ax.set_zlabel('-y (up)')
    ax.set_title(title)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_track_trajectories(tracks: Dict[int, dict], out_png: str,
                            title: str = '') -> str:
    """A PNG of each track's keypoint trajectories over time, raw vs smoothed.

    Args:
        tracks: {track id: dict(frames [T] frame indices, raw [T, K, 2] px, smoothed
            [T, K, 2] px or None)}; one row of two panels (x and y against the frame
            index) per track; raw dashed and thin, smoothed solid, a colour per keypoint.
        out_png: output path (parent folders created).
        title: the figure title.
    Returns:
        str: ``out_png``.
    Raises:
        ValueError: no track, or arrays of mismatched shapes (the track named).
    """
    if not tracks:
        raise ValueError('save_track_trajectories: no track to plot')
    fig = Figure(figsize=(10, 2.6 * len(tracks)))
    FigureCanvasAgg(fig)
    for row, (track_id, track) in enumerate(sorted(tracks.items())):
        frames = np.asarray(track['frames'])
        raw = np.asarray(track['raw'], np.float64)
        smoothed = track.get('smoothed')
        if raw.ndim != 3 or raw.shape[0] != len(frames) or raw.shape[2] != 2 or \
                (smoothed is not None and np.shape(smoothed) != raw.shape):
            raise ValueError(f'track {track_id}: raw (and smoothed) must be [T, K, 2] with '
                             f'T = {len(frames)} frames, got {list(raw.shape)}')
        for col, axis in enumerate('xy'):
            ax = fig.add_subplot(len(tracks), 2, 2 * row + col + 1)
            for k in range(raw.shape[1]):
                color = f'C{k % 10}'
                ax.plot(frames, raw[:, k, col], '--', color=color, linewidth=0.7, alpha=0.6)
                if smoothed is not None:
                    ax.plot(frames, np.asarray(smoothed)[:, k, col], '-', color=color,
                            linewidth=1.2)
            ax.set_title(f'track {track_id}: {axis} (px); dashed raw'
                         + (', solid smoothed' if smoothed is not None else ''), fontsize=8)
            ax.set_xlabel('frame', fontsize=8)
            ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png = os.fspath(out_png)
    os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
    with atomic_open(out_png, 'wb') as f:      # never a half-written picture
        fig.savefig(f, dpi=80, format='png')
    return out_png
