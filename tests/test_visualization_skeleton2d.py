"""2D skeleton drawing: pixels drawn where the bones are, hidden joints skipped, grid PNG."""
import cv2
import numpy as np
import pytest

from hpekit.datasets.mpii import MPII_JOINT_NAMES, MPII_SKELETON
from hpekit.visualization import draw_pose2d, save_pose2d_grid, side_colors

KEYPOINTS = np.array([[10.0, 10.0], [50.0, 10.0], [50.0, 50.0]])
SKELETON = [(0, 1), (1, 2)]


def blank(h=64, w=64):
    return np.zeros((h, w, 3), np.uint8)


def test_draws_bones_and_joints_on_a_copy():
    image = blank()
    out = draw_pose2d(image, KEYPOINTS, SKELETON, colors=(255, 0, 0), thickness=1)
    assert image.sum() == 0                     # the input is unchanged
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out[10, 30, 0] > 100 and out[30, 50, 0] > 100   # on both bones
    assert out[30, 30].sum() == 0                          # off the bones
    assert out[40, 10].sum() == 0


def test_low_scores_and_invisible_joints_are_left_out():
    out = draw_pose2d(blank(), KEYPOINTS, SKELETON, scores=[1.0, 1.0, 0.1],
                      score_thr=0.2, thickness=1)
    assert out[10, 30].sum() > 0 and out[30, 50].sum() == 0
    out = draw_pose2d(blank(), KEYPOINTS, SKELETON, visible=[0, 1, 1], thickness=1)
    assert out[10, 30].sum() == 0 and out[30, 50].sum() > 0


def test_per_bone_colours_and_joint_colours():
    out = draw_pose2d(blank(), KEYPOINTS, SKELETON, colors=[(255, 0, 0), (0, 0, 255)],
                      thickness=1, radius=1)
    assert out[10, 30, 0] > 100 and out[10, 30, 2] == 0
    assert out[30, 50, 2] > 100 and out[30, 50, 0] == 0


@pytest.mark.parametrize('kwargs, match', [
    (dict(image=np.zeros((8, 8), np.uint8)), 'uint8 \\[H, W, 3\\]'),
    (dict(image=np.zeros((8, 8, 3), np.float32)), 'uint8'),
    (dict(keypoints=np.zeros((3, 3))), 'shape \\[K, 2\\]'),
    (dict(skeleton=[(0, 5)]), 'bad pairs'),
    (dict(scores=[1.0, 1.0]), 'scores must have shape'),
    (dict(colors=[(1, 2, 3)]), 'one colour per bone'),
])
def test_bad_arguments(kwargs, match):
    args = dict(image=blank(), keypoints=KEYPOINTS, skeleton=SKELETON)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        draw_pose2d(**args)


def test_side_colors_of_the_mpii_skeleton():
    colors = side_colors(MPII_SKELETON, MPII_JOINT_NAMES, left='L', right='R', centre='C')
    by_bone = dict(zip(MPII_SKELETON, colors))
    assert by_bone[(13, 14)] == 'L' and by_bone[(12, 11)] == 'R' and by_bone[(7, 8)] == 'C'


def test_grid_png(tmp_path):
    rng = np.random.default_rng(0)
    images = [blank(64, 64), blank(48, 80)]
    preds = [rng.uniform(5, 40, (16, 2)) for _ in images]
    out = tmp_path / 'sub' / 'grid.png'
    assert save_pose2d_grid(images, preds, preds, MPII_SKELETON, out, titles=['a', 'b'],
                            pred_colors=side_colors(MPII_SKELETON, MPII_JOINT_NAMES)) \
        == str(out)
    png = cv2.imread(str(out))
    assert png is not None and png.shape[1] > png.shape[0]   # two panels side by side
    save_pose2d_grid(images, preds, None, MPII_SKELETON, tmp_path / 'nogt.png')
    with pytest.raises(ValueError, match='as many predictions'):
        save_pose2d_grid(images, preds[:1], None, MPII_SKELETON, tmp_path / 'x.png')
