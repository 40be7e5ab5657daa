"""Plots: training curves, 2D and 3D skeletons (matplotlib Agg / OpenCV, no windows),
and the registered ``PoseLocalVisualizer``."""
from hpekit.visualization.curves import load_scalars, plot_training_curves
from hpekit.visualization.local_visualizer import PoseLocalVisualizer
from hpekit.visualization.skeleton2d import draw_pose2d, link_colors
from hpekit.visualization.skeleton3d import (plot_pose3d, render_pose3d, save_pose3d_comparison,
                                             save_pose3d_grid)
from hpekit.visualization.tracks import (draw_tracked_poses, render_poses3d,
                                         save_track_trajectories, track_color)

__all__ = ['load_scalars', 'plot_training_curves', 'plot_pose3d',
           'save_pose3d_comparison', 'save_pose3d_grid', 'draw_pose2d', 'link_colors',
           'render_pose3d', 'PoseLocalVisualizer', 'draw_tracked_poses', 'render_poses3d',
           'save_track_trajectories', 'track_color']
