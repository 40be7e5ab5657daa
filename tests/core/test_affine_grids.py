"""``affine_matrix``'s grids: hpekit's edge-to-edge crop and MMPose's two crops."""
import numpy as np
import pytest

from hpekit.core import GRIDS, affine_matrix, apply_affine, invert_affine

CENTER, SIZE, OUT = (40.0, 60.0), (96.0, 128.0), (48, 64)


def corners(grid):
    """Where the box's left/top edge and right/bottom edge land on the output."""
    matrix = affine_matrix(CENTER, SIZE, OUT, grid=grid)
    c_m = np.array(CENTER) + (0.0 if grid == 'edges' else 0.5)
    half = np.array(SIZE) / 2
    return apply_affine(np.stack([c_m - half, c_m + half]), matrix)


def test_edges_grid_maps_box_edges_onto_output_edges():
    np.testing.assert_allclose(corners('edges'), [[-0.5, -0.5], [47.5, 63.5]], atol=1e-9)


def test_origin_grid_is_mmposes_crop():
    # MMPose's TopdownAffine: x_out = (x - c_m)·W/s + W/2, with c_m the box mean
    np.testing.assert_allclose(corners('origin'), [[0, 0], [48, 64]], atol=1e-9)


def test_corners_grid_is_mmposes_udp_crop():
    # use_udp=True: x_out = (x - c_m)·(W - 1)/s + (W - 1)/2
    np.testing.assert_allclose(corners('corners'), [[0, 0], [47, 63]], atol=1e-9)


@pytest.mark.parametrize('grid', GRIDS)
def test_flip_mirrors_about_the_output_centre(grid):
    plain = affine_matrix(CENTER, SIZE, OUT, grid=grid)
    flipped = affine_matrix(CENTER, SIZE, OUT, flip=True, grid=grid)
    points = np.array([[30.0, 50.0], [70.5, 41.25]])
    mirror = {'edges': OUT[0] - 1, 'origin': OUT[0], 'corners': OUT[0] - 1}[grid]
    a, b = apply_affine(points, plain), apply_affine(points, flipped)
    np.testing.assert_allclose(b[:, 0], mirror - a[:, 0], atol=1e-9)
    np.testing.assert_allclose(b[:, 1], a[:, 1], atol=1e-9)
    np.testing.assert_allclose(apply_affine(b, invert_affine(flipped)), points, atol=1e-9)


def test_unknown_grid_is_refused():
    with pytest.raises(ValueError, match="grid must be one of"):
        affine_matrix(CENTER, SIZE, OUT, grid='center')
