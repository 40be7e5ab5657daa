"""Keypoint codecs (``hpekit.registry.KEYPOINT_CODECS``): labels ↔ training targets.

A codec owns the geometry of a target: the model input size, the target's size and
its parameters. One config dict (``codec = dict(type='MSRAHeatmap', input_size=(256,
256), heatmap_size=(64, 64), sigma=2)``) feeds the target transform
(``GenerateTarget(encoder=codec)``) and the head's decoder (``decoder=codec``).
"""
from hpekit.codecs.base import BaseKeypointCodec, build_codec
from hpekit.codecs.msra_heatmap import MSRAHeatmap
from hpekit.codecs.pose_lifting import VideoPoseLifting
from hpekit.codecs.root_relative_3d import RootRelativeJoints3D
from hpekit.codecs.simcc_label import SimCCLabel
from hpekit.codecs.udp_heatmap import UDPHeatmap

__all__ = ['BaseKeypointCodec', 'build_codec', 'MSRAHeatmap', 'RootRelativeJoints3D']
__all__ += ['VideoPoseLifting', 'UDPHeatmap', 'SimCCLabel']
