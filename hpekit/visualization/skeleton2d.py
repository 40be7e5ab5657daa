"""2D skeletons drawn onto images, one pose per call: the drawing primitive of
``PoseLocalVisualizer``, through which hpekit draws every 2D pose.

Coordinates are 0-based image pixels (pixel centres at integers), as everywhere in
hpekit. Images are RGB uint8 [H, W, 3]; colours are RGB tuples of 0..255.
"""
import cv2
import numpy as np

PRED_COLOR = (255, 60, 40)        # red-orange
GT_COLOR = (40, 220, 80)          # green

_SHIFT = 4                        # cv2 sub-pixel bits: coordinates in 1/16 px


def _check_image(image):
    """``image`` as uint8 [H, W, 3]; ValueError otherwise."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be uint8 [H, W, 3] (RGB), got {image.dtype} '
                         f'{list(image.shape)}')
    return image


def _check_keypoints(keypoints):
    """``keypoints`` as float64 [K, 2]; ValueError otherwise."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != 2:
        raise ValueError(f'keypoints must have shape [K, 2], got {list(keypoints.shape)}')
    return keypoints


def check_skeleton(skeleton, num_joints):
    """``skeleton`` as a list of (i, j) int pairs with 0 <= i, j < ``num_joints``."""
    pairs = [tuple(int(v) for v in pair) for pair in skeleton]
    bad = [p for p in pairs if len(p) != 2 or not all(0 <= v < num_joints for v in p)]
    if bad:
        raise ValueError(f'skeleton pairs must be (i, j) with 0 <= i, j < {num_joints}; '
                         f'bad pairs: {bad}')
    return pairs


def _shown(keypoints, scores, visible, score_thr):
    """bool [K]: finite, visible (if given) and scoring >= score_thr (if given)."""
    shown = np.all(np.isfinite(keypoints), axis=1)
    for name, values in (('visible', visible), ('scores', scores)):
        if values is not None and np.shape(values) != (len(keypoints),):
            raise ValueError(f'{name} must have shape [{len(keypoints)}], got '
                             f'{list(np.shape(values))}')
    if visible is not None:
        shown &= np.asarray(visible) > 0
    if scores is not None:
        shown &= np.asarray(scores, dtype=np.float64) >= score_thr
    return shown


def _bone_colors(colors, num_bones):
    """One RGB tuple per bone from one colour or a list of them."""
    if np.ndim(colors) == 1:
        return [tuple(float(c) for c in colors)] * num_bones
    if len(colors) != num_bones:
        raise ValueError(f'need one colour per bone ({num_bones}), got {len(colors)}')
    return [tuple(float(c) for c in color) for color in colors]


def _point(xy):
    return tuple(int(round(v * (1 << _SHIFT))) for v in xy)


def draw_pose2d(image, keypoints, skeleton, scores=None, visible=None, score_thr=0.2,
                colors=PRED_COLOR, joint_color=None, thickness=None, radius=None,
                outline=None):
    """Draw one pose (bones as lines, joints as dots) on a copy of an image.

    Args:
        image: uint8 [H, W, 3] RGB.
        keypoints: [K, 2] 0-based image px.
        skeleton: iterable of (i, j) joint-index pairs, one per bone.
        scores: optional [K] confidences; joints below ``score_thr`` are not drawn.
        visible: optional [K] 0/1; joints with 0 are not drawn.
        score_thr (float): minimum score of a drawn joint.
        colors: one RGB colour for every bone, or a list with one per bone.
        joint_color: RGB of the joint dots, one for all or a list with one per joint
            (``keypoint_colors(meta)``); default: each joint takes the colour of the
            first bone it belongs to, white if none.
        thickness (int, optional): line width px (default: image side / 150, >= 1).
        radius (int, optional): dot radius px (default: thickness + 1).
        outline: optional RGB of a 1 px border around bones and dots (keeps the
            pose readable on busy or similarly coloured images).

    Returns:
        uint8 [H, W, 3] RGB: the annotated copy (the input is unchanged). A bone is
        drawn only when both its joints are.
    """
    out = _check_image(image).copy()
    keypoints = _check_keypoints(keypoints)
    pairs = check_skeleton(skeleton, len(keypoints))
    shown = _shown(keypoints, scores, visible, score_thr)
    bone_colors = _bone_colors(colors, len(pairs))
    thickness = thickness or max(1, int(round(min(out.shape[:2]) / 150)))
    radius = radius or thickness + 1
    bones = [(i, j, color) for (i, j), color in zip(pairs, bone_colors)
             if shown[i] and shown[j]]
    dot_colors = _joint_colors(pairs, bone_colors, len(keypoints), joint_color)
    dots = [(k, dot_colors[k]) for k in np.flatnonzero(shown)]
    if outline is not None:
        _draw(out, keypoints, [(i, j, outline) for i, j, _ in bones],
              [(k, outline) for k, _ in dots], thickness + 2, radius + 1)
    _draw(out, keypoints, bones, dots, thickness, radius)
    return out


def _draw(out, keypoints, bones, dots, thickness, radius):
    """Paint bones (i, j, colour) as lines and dots (k, colour) as discs, in place."""
    for i, j, color in bones:
        cv2.line(out, _point(keypoints[i]), _point(keypoints[j]), color, thickness,
                 cv2.LINE_AA, _SHIFT)
    for k, color in dots:
        cv2.circle(out, _point(keypoints[k]), radius << _SHIFT, color, -1,
                   cv2.LINE_AA, _SHIFT)


def _joint_colors(pairs, bone_colors, num_joints, joint_color):
    """RGB per joint: ``joint_color`` (one colour, or one per joint), else the colour
    of the joint's first bone."""
    if joint_color is not None:
        if np.ndim(joint_color) == 1:
            return [tuple(float(c) for c in joint_color)] * num_joints
        if len(joint_color) != num_joints:
            raise ValueError(f'need one joint colour per joint ({num_joints}), got '
                             f'{len(joint_color)}')
        return [tuple(float(c) for c in color) for color in joint_color]
    colors = [(255.0, 255.0, 255.0)] * num_joints
    for (i, j), color in reversed(list(zip(pairs, bone_colors))):
        colors[i] = colors[j] = color
    return colors


def link_colors(meta):
    """One RGB colour per skeleton link, from parsed metainfo's ``skeleton_link_colors``."""
    return [tuple(float(c) for c in color) for color in meta['skeleton_link_colors']]


def keypoint_colors(meta):
    """One RGB colour per keypoint, from parsed metainfo's ``keypoint_colors``."""
    return [tuple(float(c) for c in color) for color in meta['keypoint_colors']]
