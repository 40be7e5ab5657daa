"""Plots: training curves, 2D and 3D skeletons (matplotlib Agg / OpenCV, no windows)."""
from .curves import load_scalars, plot_training_curves
from .skeleton2d import draw_pose2d, save_pose2d_grid, side_colors
from .skeleton3d import H36M_SKELETON, plot_pose3d, save_pose3d_comparison, save_pose3d_grid
from .skeleton3d import render_pose3d  # noqa: E402

__all__ = ['load_scalars', 'plot_training_curves', 'H36M_SKELETON', 'plot_pose3d',
           'save_pose3d_comparison', 'save_pose3d_grid', 'draw_pose2d', 'save_pose2d_grid',
           'side_colors', 'render_pose3d']
