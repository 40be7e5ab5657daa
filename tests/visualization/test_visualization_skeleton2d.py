"""2D skeleton drawing: pixels drawn where the bones are, hidden joints skipped, and
PoseLocalVisualizer's grid of several samples (prediction over ground truth)."""
import numpy as np
import pytest
from metainfo_values import H36M_META, MPII_META, MPII_SKELETON, mpii_id
from mmengine.structures import InstanceData
from pose_pictures import (LEFT_FOREARM, RIGHT_FOREARM, assert_colour, link_colour, midpoint,
                           stick_figure)

from hpekit.structures import PoseDataSample
from hpekit.visualization import PoseLocalVisualizer, draw_pose2d, link_colors
from hpekit.visualization.local_visualizer import GRID_GAP_PX, GRID_TITLE_PX
from hpekit.visualization.skeleton2d import GT_COLOR

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


def pose_sample(pred, gt=None, scores=None):
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(
        keypoints=pred[None], keypoint_scores=np.ones((1, len(pred))) if scores is None
        else np.asarray(scores)[None])
    if gt is not None:
        sample.gt_instances = InstanceData(keypoints=gt[None],
                                           keypoints_visible=np.ones((1, len(gt))))
    return sample


def test_grid_draws_each_prediction_over_its_ground_truth():
    visualizer = PoseLocalVisualizer(name='test_grid', kpt_thr=0.5)
    visualizer.set_dataset_meta(MPII_META)
    pred, gt = stick_figure(), stick_figure(shift=(0, 5))    # GT 5 px below
    scores = np.ones(16)
    scores[mpii_id('right_wrist')] = 0.1                        # under kpt_thr
    images = [np.zeros((64, 64, 3), np.uint8), np.zeros((128, 128, 3), np.uint8)]
    samples = [pose_sample(pred, gt, scores), pose_sample(stick_figure(scale=2))]
    grid = visualizer.draw_grid(images, samples, titles=['a', 'b'], ncols=2,
                                title='prediction over ground truth')
    # 64 px → ×3 = 192 px, 128 px → ×2 = 256 px: cells of 256 × 256 under title strips
    cell = 256
    assert grid.shape == (2 * GRID_TITLE_PX + cell + GRID_GAP_PX, 2 * cell + GRID_GAP_PX, 3)
    top = 2 * GRID_TITLE_PX

    def at(panel, x, y, factor):          # the centre of panel pixel (x, y) in the grid
        return panel * (cell + GRID_GAP_PX) + factor * x + factor // 2, top + factor * y + 1

    x, y = midpoint(pred, LEFT_FOREARM)
    assert_colour(grid, *at(0, x, y, 3), link_colour(LEFT_FOREARM))
    x, y = midpoint(gt, LEFT_FOREARM)
    assert_colour(grid, *at(0, x, y, 3), GT_COLOR)             # ground truth, green
    x, y = midpoint(pred, RIGHT_FOREARM)                         # low score: not drawn
    assert_colour(grid, *at(0, x, y, 3), (0, 0, 0), tol=0)
    x, y = midpoint(gt, RIGHT_FOREARM)
    assert_colour(grid, *at(0, x, y, 3), GT_COLOR)
    big = stick_figure(scale=2)                                  # no GT: prediction only
    for bone in (LEFT_FOREARM, RIGHT_FOREARM):
        assert_colour(grid, *at(1, *midpoint(big, bone), 2), link_colour(bone))
    assert (grid[:top - 2] < 128).any()                          # the titles are written
    assert (grid[top - GRID_TITLE_PX - 1:top, cell + GRID_GAP_PX:] < 128).any()
    with pytest.raises(ValueError, match='as many data samples'):
        visualizer.draw_grid(images, samples[:1])
    with pytest.raises(ValueError, match='set_dataset_meta'):
        PoseLocalVisualizer(name='test_grid_no_meta').draw_grid(images, samples)
