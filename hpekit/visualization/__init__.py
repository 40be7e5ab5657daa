"""Plots: training curves, 2D and 3D skeletons (matplotlib Agg / OpenCV, no windows),
and the registered ``PoseLocalVisualizer``."""
from .curves import load_scalars, plot_training_curves
from .local_visualizer import PoseLocalVisualizer
from .skeleton2d import draw_pose2d, link_colors
from .skeleton3d import (plot_pose3d, render_pose3d, save_pose3d_comparison,
                         save_pose3d_grid)

__all__ = ['load_scalars', 'plot_training_curves', 'plot_pose3d',
           'save_pose3d_comparison', 'save_pose3d_grid', 'draw_pose2d', 'link_colors',
           'render_pose3d', 'PoseLocalVisualizer']
