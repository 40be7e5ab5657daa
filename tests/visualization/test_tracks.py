"""Drawings of tracked people (hpekit.visualization.tracks)."""
import cv2
import numpy as np
import pytest

from hpekit.visualization import (draw_tracked_poses, render_poses3d, save_track_trajectories,
                                  track_color)


def test_poses_are_drawn_in_the_colour_of_their_track():
    image = np.zeros((60, 80, 3), np.uint8)
    people = [dict(track_id=t, bbox=[5 + 40 * t, 5, 35 + 40 * t, 55],
                   keypoints=np.array([[20.0 + 40 * t, 15], [20.0 + 40 * t, 45]]),
                   keypoint_scores=np.array([0.9, 0.9])) for t in (0, 1)]
    out = draw_tracked_poses(image, people, [(0, 1)], kpt_thr=0.5)
    assert image.sum() == 0                                        # input unchanged

    def nearest(pixel):        # the track whose colour is nearest (lines are antialiased)
        return int(np.argmin([np.abs(np.subtract(pixel, track_color(t), dtype=float)).sum()
                              for t in (0, 1)]))

    for t in (0, 1):
        for y, x in ((30, 20 + 40 * t), (55, 20 + 40 * t)):       # the bone, the box edge
            assert out[y, x].max() > 100 and nearest(out[y, x]) == t
    assert track_color(0) != track_color(1) and track_color(12) == track_color(0)
    low = [dict(people[0], keypoint_scores=np.array([0.1, 0.1]))]
    assert not draw_tracked_poses(image, low, [(0, 1)], kpt_thr=0.5)[30, 20].any()


def test_render_poses3d_and_trajectory_plot(tmp_path):
    pose = np.array([[0.0, 0, 0], [0, -500, 0], [100, -900, 50]])
    picture = render_poses3d([pose, pose + [1000, 0, 0]], [(255, 0, 0), (0, 0, 255)],
                             [(0, 1), (1, 2)], size=(200, 160), half_range=1000)
    assert picture.shape == (160, 200, 3) and picture.dtype == np.uint8
    assert ((picture[..., 0] > 200) & (picture[..., 2] < 80)).any()     # the red pose
    raw = np.random.default_rng(0).normal(size=(5, 3, 2))
    out = save_track_trajectories({3: dict(frames=range(5), raw=raw, smoothed=raw * 0.5)},
                                  str(tmp_path / 'plots' / 'trajectories.png'))
    assert cv2.imread(out) is not None
    with pytest.raises(ValueError, match='track 4: raw'):
        save_track_trajectories({4: dict(frames=range(4), raw=raw, smoothed=None)},
                                str(tmp_path / 'bad.png'))
    assert not (tmp_path / 'bad.png').exists()
