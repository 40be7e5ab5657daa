"""Test helpers for drawn 2D poses: an MPII stick figure whose bones lie on known,
well-separated pixels, and checks that a picture shows a bone in its link colour."""
import numpy as np
from metainfo_values import MPII_META, mpii_id

# (x, y) px in a 64 × 64 picture: arms horizontal at y = 18, legs vertical.
STICK_FIGURE = {
    'head_top': (32, 4), 'upper_neck': (32, 12), 'thorax': (32, 18), 'pelvis': (32, 36),
    'right_shoulder': (24, 18), 'right_elbow': (14, 18), 'right_wrist': (4, 18),
    'left_shoulder': (40, 18), 'left_elbow': (50, 18), 'left_wrist': (60, 18),
    'right_hip': (26, 36), 'right_knee': (26, 48), 'right_ankle': (26, 60),
    'left_hip': (38, 36), 'left_knee': (38, 48), 'left_ankle': (38, 60)}
#: Two bones on opposite body sides, drawn in different link colours.
LEFT_FOREARM = ('left_elbow', 'left_wrist')
RIGHT_FOREARM = ('right_elbow', 'right_wrist')


def stick_figure(scale=1.0, shift=(0.0, 0.0)):
    """MPII keypoints float32 [16, 2]: ``STICK_FIGURE`` × ``scale`` + ``shift``."""
    points = np.zeros((MPII_META['num_keypoints'], 2), np.float32)
    for name, xy in STICK_FIGURE.items():
        points[mpii_id(name)] = np.asarray(xy) * scale + np.asarray(shift)
    return points


def link_colour(bone):
    """RGB of the MPII link between the two named joints (the metainfo's colour)."""
    ids = {mpii_id(bone[0]), mpii_id(bone[1])}
    for link, colour in zip(MPII_META['skeleton_links'], MPII_META['skeleton_link_colors']):
        if set(int(v) for v in link) == ids:
            return np.asarray(colour, int)
    raise KeyError(bone)


def midpoint(points, bone):
    """(x, y) rounded to px of the middle of the bone between two named joints."""
    xy = (points[mpii_id(bone[0])] + points[mpii_id(bone[1])]) / 2
    return int(round(float(xy[0]))), int(round(float(xy[1])))


def assert_colour(picture, x, y, colour, tol=40):
    """The RGB pixel (x, y) of ``picture`` is within ``tol`` of ``colour`` per channel."""
    pixel = np.asarray(picture[y, x], int)
    assert np.abs(pixel - np.asarray(colour, int)).max() <= tol, \
        f'pixel ({x}, {y}) is {pixel.tolist()}, expected about {list(colour)}'
