"""2D skeleton drawing: pixels drawn where the bones are, hidden joints skipped, grid PNG."""
import cv2
import numpy as np
import pytest

from hpekit.visualization import draw_pose2d, link_colors, save_pose2d_grid
from metainfo_values import H36M_META, MPII_JOINT_NAMES, MPII_META, MPII_SKELETON, mpii_id

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


def _side(names):
    if any(n.startswith('left_') for n in names):
        return 'left'
    return 'right' if any(n.startswith('right_') for n in names) else 'centre'


@pytest.mark.parametrize('meta', [MPII_META, H36M_META], ids=['mpii', 'h36m'])
def test_link_colors_of_the_shipped_metainfo_mark_the_body_sides(meta):
    """One RGB colour per link, from the metainfo; its files colour bones by body side."""
    colors = link_colors(meta)
    assert len(colors) == len(meta['skeleton_links'])
    assert all(isinstance(c, tuple) and len(c) == 3 for c in colors)
    np.testing.assert_array_equal(np.array(colors), meta['skeleton_link_colors'])
    id2name = meta['keypoint_id2name']
    by_side = {}
    for (i, j), color in zip(meta['skeleton_links'], colors):
        by_side.setdefault(_side((id2name[i], id2name[j])), set()).add(color)
    assert set(by_side) == {'left', 'right', 'centre'}
    assert all(len(c) == 1 for c in by_side.values())      # one colour per side
    assert len(set.union(*by_side.values())) == 3           # three different colours


def test_link_colors_of_the_mpii_skeleton():
    by_bone = dict(zip(MPII_SKELETON, link_colors(MPII_META)))
    left = by_bone[(mpii_id('left_shoulder'), mpii_id('left_elbow'))]
    right = by_bone[(mpii_id('right_shoulder'), mpii_id('right_elbow'))]
    centre = by_bone[(mpii_id('thorax'), mpii_id('upper_neck'))]
    assert left == (60.0, 110.0, 230.0) and right == (230.0, 60.0, 60.0)   # blue, red
    assert centre not in (left, right)


def test_grid_png(tmp_path):
    rng = np.random.default_rng(0)
    images = [blank(64, 64), blank(48, 80)]
    preds = [rng.uniform(5, 40, (len(MPII_JOINT_NAMES), 2)) for _ in images]
    out = tmp_path / 'sub' / 'grid.png'
    assert save_pose2d_grid(images, preds, preds, MPII_SKELETON, out, titles=['a', 'b'],
                            pred_colors=link_colors(MPII_META)) \
        == str(out)
    png = cv2.imread(str(out))
    assert png is not None and png.shape[1] > png.shape[0]   # two panels side by side
    save_pose2d_grid(images, preds, None, MPII_SKELETON, tmp_path / 'nogt.png')
    with pytest.raises(ValueError, match='as many predictions'):
        save_pose2d_grid(images, preds[:1], None, MPII_SKELETON, tmp_path / 'x.png')
