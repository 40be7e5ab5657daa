"""Plots: training curves and 3D skeletons (matplotlib Agg, no windows)."""
from .curves import load_scalars, plot_training_curves
from .skeleton3d import H36M_SKELETON, plot_pose3d, save_pose3d_comparison

__all__ = ['load_scalars', 'plot_training_curves', 'H36M_SKELETON', 'plot_pose3d',
           'save_pose3d_comparison']
