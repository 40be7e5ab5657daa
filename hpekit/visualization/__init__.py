"""Plots: training curves, 2D and 3D skeletons (matplotlib Agg / OpenCV, no windows)."""
from .curves import load_scalars, plot_training_curves
from .skeleton2d import draw_pose2d, save_pose2d_grid, link_colors
from .skeleton3d import plot_pose3d, save_pose3d_comparison, save_pose3d_grid
from .skeleton3d import render_pose3d  # noqa: E402

__all__ = ['load_scalars', 'plot_training_curves', 'plot_pose3d',
           'save_pose3d_comparison', 'save_pose3d_grid', 'draw_pose2d', 'save_pose2d_grid',
           'link_colors', 'render_pose3d']
