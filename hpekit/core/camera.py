"""Pinhole camera projection (pure numpy).

Camera frame: metres, x right, y down, z away from the camera; pixels are 0-based
with pixel centres at integers (a principal point of ((W-1)/2, (H-1)/2) makes
negating x mirror pixels as x' = W-1-x).
"""
from typing import Sequence, Union

import numpy as np
from numpy.typing import ArrayLike


def project(points_cam: ArrayLike, focal: Union[float, Sequence[float], np.ndarray],
            center: Union[Sequence[float], np.ndarray]) -> np.ndarray:
    """Camera-frame points → pixels, without distortion.

    Args:
        points_cam: [..., 3] camera-frame points (z > 0).
        focal: focal length in px, one value or (fx, fy).
        center: principal point (cx, cy) in px.

    Returns:
        float64 [..., 2] pixel coordinates (x, y).
    """
    points = np.asarray(points_cam, dtype=np.float64)
    xy = points[..., :2] / points[..., 2:3]
    return xy * np.asarray(focal, dtype=np.float64) + np.asarray(center, dtype=np.float64)
