"""Learnable synthetic Human3.6M-style clips: posed stick bodies rendered by a camera.

The synthetic twin of the Human3.6M video split (see ``H36MClipDataset``). A body is a
kinematic skeleton with Human3.6M-like bone lengths; each clip moves smoothly between
two random plausible poses while the body turns a little. Frames show the body through
a pinhole camera with cues that make the 3D pose recoverable from the image alone:

- every bone has its own colour: left limbs warm, right limbs cool, torso neutral, so
  left and right (hence the facing direction) are visible;
- the torso panel (hips to shoulders) is light when the body faces the camera and
  dark when it turns its back, shaded by the cosine of the relative yaw;
- nearer parts are painted later (over farther ones), brighter and thicker, and joint
  discs shrink with depth, so depth order and depth offsets are visible.

Coordinates (the course convention): camera coordinates in metres, x right, y down,
z away from the camera, relative to the pelvis (pelvis at the origin). Images are RGB.

Public API: ``sample_h36m_poses``, ``project_points``, ``render_h36m_clip``,
``write_h36m_split``.
"""
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.core.camera import project

# The renderer's body model: 17 joints in the order of configs/_base_/datasets/h36m.py
# and its bones as (parent, child) joint indices.
NUM_JOINTS = 17
H36M_SKELETON = [(0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9),
                 (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16)]

# Bone lengths in metres (roughly those of the Human3.6M subjects).
BONE_LENGTHS = dict(hip=0.13, thigh=0.45, shin=0.44, spine=0.23, thorax=0.25,
                    neck=0.11, head=0.12, shoulder=0.15, upper_arm=0.28, forearm=0.25)

# Camera defaults: pelvis depth (metres) and focal length as a multiple of the size.
ROOT_DEPTH = 4.5
ROOT_DEPTH_JITTER = 0.25
FOCAL_PER_PIXEL = 2.1

# Body-frame directions, equal to camera axes for an upright body facing the camera.
_LEFT = np.array([1.0, 0.0, 0.0])
_DOWN = np.array([0.0, 1.0, 0.0])
_UP = -_DOWN
_FWD = np.array([0.0, 0.0, -1.0])

# Joint-angle distributions in degrees: name -> (mean, std, low, high); a normal draw
# reflected into [low, high], one per clip end point. Wide enough for varied poses
# (mean-pose baseline ~170 mm), concentrated on everyday ones (standing, walking,
# reaching, sitting down).
ANGLE_DISTRIBUTIONS = dict(
    torso_bend=(8, 12, -10, 45), torso_side=(0, 6, -15, 15), torso_twist=(0, 12, -30, 30),
    head_nod=(5, 12, -20, 35), head_turn=(0, 20, -45, 45),
    l_hip_flex=(8, 20, -30, 100), l_hip_abd=(3, 7, -5, 35), l_hip_twist=(0, 10, -25, 25),
    r_hip_flex=(8, 20, -30, 100), r_hip_abd=(3, 7, -5, 35), r_hip_twist=(0, 10, -25, 25),
    l_knee=(0, 28, 0, 130), r_knee=(0, 28, 0, 130),
    l_sh_flex=(10, 28, -40, 160), l_sh_abd=(8, 20, 0, 140), l_sh_twist=(0, 25, -60, 60),
    r_sh_flex=(10, 28, -40, 160), r_sh_abd=(8, 20, 0, 140), r_sh_twist=(0, 25, -60, 60),
    l_elbow=(25, 30, 0, 145), r_elbow=(25, 30, 0, 145),
    pitch=(0, 4, -10, 10), roll=(0, 3, -8, 8))
MAX_YAW_CHANGE = 35.0   # degrees the body may turn within one clip

# RGB colour of every bone of H36M_SKELETON: left warm, right cool, torso neutral.
BONE_COLOURS = {
    (0, 1): (0, 170, 255), (1, 2): (0, 80, 255), (2, 3): (0, 235, 235),
    (0, 4): (255, 170, 0), (4, 5): (255, 50, 0), (5, 6): (255, 235, 0),
    (0, 7): (190, 190, 190), (7, 8): (150, 150, 120), (8, 9): (235, 235, 235),
    (9, 10): (255, 255, 255),
    (8, 11): (230, 110, 90), (11, 12): (255, 0, 110), (12, 13): (255, 130, 200),
    (8, 14): (90, 130, 220), (14, 15): (130, 0, 255), (15, 16): (0, 255, 140),
}
# The torso panel (hips to shoulders) is shaded from BACK (seen from behind) to FRONT
# (facing the camera) by the cosine of the body's yaw relative to the camera.
TORSO_FRONT = np.array([225.0, 215.0, 195.0])
TORSO_BACK = np.array([70.0, 75.0, 95.0])
# Physical radius (metres) of bone lines and joint discs; the head disc is larger.
BONE_RADIUS = 0.035
JOINT_RADIUS = 0.045
HEAD_RADIUS = 0.085


# --------------------------------------------------------------------------- poses
def _rot(axis, angle):
    """Rotation matrices about a camera axis ('x', 'y' or 'z').

    angle: float array [B] in radians. Returns float64 [B, 3, 3] (right-handed).
    """
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    rows = {'x': [[o, z, z], [z, c, -s], [z, s, c]],
            'y': [[c, z, s], [z, o, z], [-s, z, c]],
            'z': [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def _apply(rot, vec):
    """Rotate vectors: rot [B,3,3], vec [3] or [B,3] → [B,3]."""
    return np.einsum('bij,bj->bi', rot, np.broadcast_to(vec, rot.shape[:-1]))


def _reflect(x, low, high):
    """Fold values into [low, high] by reflecting at the bounds (then clip)."""
    x = np.where(x < low, 2 * low - x, x)
    x = np.where(x > high, 2 * high - x, x)
    return np.clip(x, low, high)


def _sample_angles(rng, n):
    """Random joint angles of n poses: dict name -> float64 [n] radians."""
    return {name: np.deg2rad(_reflect(rng.normal(mean, std, n), low, high))
            for name, (mean, std, low, high) in ANGLE_DISTRIBUTIONS.items()}


def _interpolate(start, end, num_frames):
    """Smoothly move every angle from start to end: dict of [n] → dict of [n, T]."""
    t = np.linspace(0.0, 1.0, num_frames)
    w = t * t * (3.0 - 2.0 * t)   # smoothstep: zero velocity at both ends
    return {k: start[k][:, None] + (end[k] - start[k])[:, None] * w for k in start}


def _leg(hip, angles, side):
    """Knee and ankle [B,3] of one leg (side 'l' or 'r') from its hip position [B,3]."""
    s = 1.0 if side == 'l' else -1.0
    r_leg = (_rot('z', -s * angles[f'{side}_hip_abd']) @ _rot('x', -angles[f'{side}_hip_flex'])
             @ _rot('y', s * angles[f'{side}_hip_twist']))
    knee = hip + BONE_LENGTHS['thigh'] * _apply(r_leg, _DOWN)
    r_shin = r_leg @ _rot('x', angles[f'{side}_knee'])   # knee bends backwards
    return knee, knee + BONE_LENGTHS['shin'] * _apply(r_shin, _DOWN)


def _arm(thorax, r_upper, angles, side):
    """Shoulder, elbow and wrist [B,3] of one arm, attached to the thorax frame."""
    s = 1.0 if side == 'l' else -1.0
    offset = s * BONE_LENGTHS['shoulder'] * _LEFT + 0.02 * _DOWN
    shoulder = thorax + _apply(r_upper, offset)
    r_arm = (r_upper @ _rot('z', -s * angles[f'{side}_sh_abd'])
             @ _rot('x', -angles[f'{side}_sh_flex']) @ _rot('y', s * angles[f'{side}_sh_twist']))
    elbow = shoulder + BONE_LENGTHS['upper_arm'] * _apply(r_arm, _DOWN)
    r_fore = r_arm @ _rot('x', -angles[f'{side}_elbow'])   # elbow bends forwards
    return shoulder, elbow, elbow + BONE_LENGTHS['forearm'] * _apply(r_fore, _DOWN)


def _torso(angles):
    """Spine, thorax, neck/nose, head [B,3] and the upper-torso rotation [B,3,3]."""
    bend, side, twist = angles['torso_bend'], angles['torso_side'], angles['torso_twist']
    r_lower = _rot('y', twist / 2) @ _rot('x', bend / 2) @ _rot('z', side / 2)
    r_upper = _rot('y', twist) @ _rot('x', bend) @ _rot('z', side)
    spine = BONE_LENGTHS['spine'] * _apply(r_lower, _UP)
    thorax = spine + BONE_LENGTHS['thorax'] * _apply(r_upper, _UP)
    r_head = r_upper @ _rot('y', angles['head_turn']) @ _rot('x', angles['head_nod'])
    neck_dir = (_UP + 0.3 * _FWD) / np.linalg.norm(_UP + 0.3 * _FWD)
    neck = thorax + BONE_LENGTHS['neck'] * _apply(r_head, neck_dir)
    head = neck + BONE_LENGTHS['head'] * _apply(r_head, _UP)
    return spine, thorax, neck, head, r_upper


def forward_kinematics(angles):
    """Joint positions of a body in its own frame (pelvis at the origin, upright).

    angles: dict name → float array [B] radians (keys of ``ANGLE_DISTRIBUTIONS``; the global
    'yaw', 'pitch', 'roll' are ignored here). Returns float64 [B, 17, 3] metres in
    Human3.6M order, axes as the camera's for a body facing the camera.
    """
    num = len(angles['torso_bend'])
    pelvis = np.zeros((num, 3))
    r_hip = pelvis - BONE_LENGTHS['hip'] * _LEFT
    l_hip = pelvis + BONE_LENGTHS['hip'] * _LEFT
    r_knee, r_ankle = _leg(r_hip, angles, 'r')
    l_knee, l_ankle = _leg(l_hip, angles, 'l')
    spine, thorax, neck, head, r_upper = _torso(angles)
    l_sh, l_el, l_wr = _arm(thorax, r_upper, angles, 'l')
    r_sh, r_el, r_wr = _arm(thorax, r_upper, angles, 'r')
    return np.stack([pelvis, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, spine, thorax,
                     neck, head, l_sh, l_el, l_wr, r_sh, r_el, r_wr], axis=1)


def _global_rotation(angles):
    """Camera-from-body rotation [B,3,3]: yaw about the vertical, then pitch, roll."""
    return _rot('y', angles['yaw']) @ _rot('x', angles['pitch']) @ _rot('z', angles['roll'])


def sample_h36m_poses(rng, n, num_frames=8):
    """Random smooth motion clips of the synthetic body.

    Each clip interpolates (smoothstep) between two random plausible poses while the
    body turns by up to ``MAX_YAW_CHANGE`` degrees from a yaw drawn over the full circle
    (pitch and roll stay small).

    Args:
        rng (np.random.Generator): source of randomness.
        n (int): number of clips.
        num_frames (int): frames T per clip.

    Returns:
        np.ndarray: float32 [n, T, 17, 3], metres, camera coordinates relative to the
        pelvis (x right, y down, z away from the camera), Human3.6M joint order.
    """
    start, end = _sample_angles(rng, n), _sample_angles(rng, n)
    start['yaw'] = rng.uniform(0.0, 2 * np.pi, n)
    end['yaw'] = start['yaw'] + np.deg2rad(rng.uniform(-MAX_YAW_CHANGE, MAX_YAW_CHANGE, n))
    angles = {k: v.reshape(-1) for k, v in _interpolate(start, end, num_frames).items()}
    body = forward_kinematics(angles)
    cam = np.einsum('bij,bkj->bki', _global_rotation(angles), body)
    return cam.reshape(n, num_frames, NUM_JOINTS, 3).astype(np.float32)


# ------------------------------------------------------------------------ rendering
def project_points(joints_cam, focal, center, root_depth):
    """Pinhole projection of pelvis-relative camera-space joints to pixels.

    Args:
        joints_cam (np.ndarray): [..., K, 3] metres relative to the pelvis (x right,
            y down, z away from the camera).
        focal (float): focal length in pixels.
        center (tuple[float, float]): principal point (cx, cy) in pixels; use
            ((W-1)/2, (H-1)/2) so that negating x mirrors pixels as x' = W-1-x.
        root_depth (float | np.ndarray): pelvis depth in metres, a scalar or one value
            per leading index (shape ``joints_cam.shape[:-2]``).

    Returns:
        np.ndarray: float64 [..., K, 2] pixel coordinates (x, y), 0-based.
    """
    points = np.array(joints_cam, dtype=np.float64)
    points[..., 2] += np.asarray(root_depth, dtype=np.float64)[..., None]
    return project(points, focal, center)


def default_camera(size):
    """Focal length (pixels) and principal point of the synthetic camera for size²."""
    return FOCAL_PER_PIXEL * size, ((size - 1) / 2.0, (size - 1) / 2.0)


def make_background(size, rng):
    """A random textured, noisy background: uint8 [size, size, 3] RGB.

    Low-frequency blobs (mostly brightness, a little colour) plus a mid-frequency
    texture plus pixel noise, in mid-dark, low-saturation tones so that the coloured
    body stands out.
    """
    base = rng.uniform(45, 110) + rng.uniform(-10, 10, 3)
    blobs = rng.uniform(-30, 30, (4, 4, 1)) + rng.uniform(-8, 8, (4, 4, 3))
    blobs = cv2.resize(blobs.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    cells = max(2, size // 8)
    texture = cv2.resize(rng.uniform(-14, 14, (cells, cells)).astype(np.float32),
                         (size, size), interpolation=cv2.INTER_LINEAR)[..., None]
    noise = rng.normal(0.0, 6.0, (size, size, 1))
    return np.clip(base + blobs + texture + noise, 0, 255).astype(np.uint8)


def _brightness(rel_depth):
    """Colour gain of a part at a pelvis-relative depth (metres): nearer = brighter."""
    return np.clip(0.63 - 0.42 * rel_depth / 0.9, 0.22, 1.0)


def _frame_items(joints, pix, depth, scale):
    """Draw list of one frame, sorted back to front.

    joints [17,3] pelvis-relative metres, pix [17,2] pixels, depth [17] absolute
    metres, scale = focal (pixels per metre at unit depth). Each bone becomes two
    half segments (so depth shading follows the bone), each joint a disc. Returns a
    list of (depth, kind, points, radius_px, colour) with kind 'line' or 'disc'.
    """
    items = []
    for (p, c), colour in zip(H36M_SKELETON, _BONE_COLOUR_ARRAY):
        mid_rel = 0.5 * (joints[p] + joints[c])
        mid_depth = 0.5 * (depth[p] + depth[c])
        mid_pix = pix[p] + (pix[c] - pix[p]) * (depth[c] / (depth[p] + depth[c]))
        for a_pix, b_pix, a_rel, a_depth in ((pix[p], mid_pix, joints[p, 2], depth[p]),
                                             (mid_pix, pix[c], joints[c, 2], depth[c])):
            rel = 0.5 * (a_rel + mid_rel[2])
            d = 0.5 * (a_depth + mid_depth)
            items.append((d, 'line', (a_pix, b_pix), _radius_px(BONE_RADIUS, d, scale),
                          colour * _brightness(rel)))
    for k in range(NUM_JOINTS):
        radius = HEAD_RADIUS if k == 10 else JOINT_RADIUS
        items.append((depth[k] + 0.01, 'disc', (pix[k],), _radius_px(radius, depth[k], scale),
                      _JOINT_COLOURS[k] * _brightness(joints[k, 2])))
    items.sort(key=lambda item: -item[0])
    return items


def _radius_px(radius_m, depth, scale):
    """Apparent radius in pixels with exaggerated perspective ((Z0/Z)² instead of Z0/Z)."""
    return scale * radius_m / depth * (ROOT_DEPTH / depth)


_SHIFT = 4                  # cv2 sub-pixel bits: coordinates are given in 1/16 pixel
_ONE = 1 << _SHIFT


def _draw_items(canvas, items):
    """Paint a sorted draw list onto canvas (uint8 [H,W,3]) with anti-aliasing."""
    for _, kind, points, radius, colour in items:
        colour = tuple(float(v) for v in colour)
        if kind == 'line':
            a, b = (np.round(pt * _ONE).astype(np.int64) for pt in points)
            thickness = max(1, int(round(2 * radius)))
            cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour,
                     thickness, cv2.LINE_AA, _SHIFT)
        else:
            centre = np.round(points[0] * _ONE).astype(np.int64)
            cv2.circle(canvas, (int(centre[0]), int(centre[1])),
                       max(_ONE, int(round(radius * _ONE))), colour, -1, cv2.LINE_AA, _SHIFT)


def torso_facing(joints):
    """Cosine between the torso's forward direction and the direction to the camera.

    joints: [..., 17, 3] camera coordinates. Returns [...] in [-1, 1]: 1 when the body
    faces the camera, -1 when it shows its back, 0 side-on.
    """
    lateral = joints[..., 11, :] - joints[..., 14, :] + joints[..., 4, :] - joints[..., 1, :]
    up = joints[..., 8, :] - joints[..., 0, :]
    forward = np.cross(lateral, up)
    return -forward[..., 2] / np.maximum(np.linalg.norm(forward, axis=-1), 1e-9)


def _draw_torso(canvas, joints, pix):
    """Fill the hips-shoulders quad, shaded by ``torso_facing``; painted first, so no
    limb is ever hidden behind it."""
    weight = 0.5 * (torso_facing(joints) + 1.0)
    colour = tuple(float(v) for v in TORSO_BACK + (TORSO_FRONT - TORSO_BACK) * weight)
    quad = np.round(pix[[4, 1, 14, 11]] * _ONE).astype(np.int32)
    cv2.fillPoly(canvas, [quad], colour, cv2.LINE_AA, _SHIFT)


def render_h36m_clip(joints, size, rng, root_depth=None, focal=None):
    """Render a clip of the synthetic body.

    Args:
        joints (np.ndarray): [T, 17, 3] metres, pelvis-relative camera coordinates
            (x right, y down, z away), as from ``sample_h36m_poses``.
        size (int): output height = width in pixels.
        rng (np.random.Generator): draws the background and, when not given, the depth.
        root_depth (float, optional): pelvis depth in metres; default ``ROOT_DEPTH`` ±
            ``ROOT_DEPTH_JITTER`` (uniform), fixed over the clip (static camera).
        focal (float, optional): focal length in pixels; default ``FOCAL_PER_PIXEL``·size.
            The principal point is the image centre ((size-1)/2, (size-1)/2).

    Returns:
        np.ndarray: uint8 [T, size, size, 3] RGB frames.
    """
    joints = np.asarray(joints, dtype=np.float64)
    default_focal, center = default_camera(size)
    focal = default_focal if focal is None else focal
    if root_depth is None:
        root_depth = ROOT_DEPTH + rng.uniform(-ROOT_DEPTH_JITTER, ROOT_DEPTH_JITTER)
    pix = project_points(joints, focal, center, root_depth)
    depth = joints[..., 2] + root_depth
    background = make_background(size, rng)
    shifts = rng.integers(-2, 3, (len(joints), 2))   # per-frame jitter of the noise
    frames = np.empty((len(joints), size, size, 3), np.uint8)
    for t in range(len(joints)):
        canvas = np.roll(background, tuple(shifts[t]), axis=(0, 1))
        _draw_torso(canvas, joints[t], pix[t])
        _draw_items(canvas, _frame_items(joints[t], pix[t], depth[t], focal))
        frames[t] = canvas
    return frames


def _joint_colours():
    """Disc colour of each joint: that of the bone ending at it (pelvis grey)."""
    colours = np.full((NUM_JOINTS, 3), 160.0)
    for (_, child), colour in BONE_COLOURS.items():
        colours[child] = colour
    return colours


_BONE_COLOUR_ARRAY = np.array([BONE_COLOURS[bone] for bone in H36M_SKELETON], np.float64)
_JOINT_COLOURS = _joint_colours()


# -------------------------------------------------------------------------- writing
def _write_clips(video_path, joint_path, num, size, num_frames, rng, progress, chunk=32):
    """Render ``num`` clips into two new .npy files, ``chunk`` clips at a time.

    The files are written under temporary names and renamed when complete, so an
    interrupted run never leaves a valid-looking but partly empty file behind.
    """
    tmp_video, tmp_joint = video_path + '.part', joint_path + '.part'
    videos = np.lib.format.open_memmap(tmp_video, mode='w+', dtype=np.uint8,
                                       shape=(num, num_frames, size, size, 3))
    joints = np.lib.format.open_memmap(tmp_joint, mode='w+', dtype=np.float32,
                                       shape=(num, num_frames, NUM_JOINTS, 3))
    bar = _progress_bar(num, osp.basename(video_path)) if progress else None
    for start in range(0, num, chunk):
        stop = min(num, start + chunk)
        poses = sample_h36m_poses(rng, stop - start, num_frames)
        joints[start:stop] = poses
        for i, pose in enumerate(poses):
            videos[start + i] = render_h36m_clip(pose, size, rng)
            if bar is not None:
                bar.update()
    videos.flush()
    joints.flush()
    del videos, joints
    os.replace(tmp_video, video_path)
    os.replace(tmp_joint, joint_path)
    if bar is not None:
        print()


def _progress_bar(num, name):
    """mmengine progress bar over ``num`` clips, announced with the file name."""
    print(f'rendering {num} clips into {name}')
    return ProgressBar(num)


def write_h36m_split(out_dir, num_train=600, num_valid=150, size=224, seed=0,
                     progress=True, num_frames=8):
    """Write a synthetic stand-in of the Human3.6M course split.

    Writes ``videoframes_clips_{train,valid}.npy`` (uint8 [N, T, size, size, 3] RGB) and
    ``joint_3d_clips_{train,valid}.npy`` (float32 [N, T, 17, 3] metres) into out_dir,
    chunk by chunk through ``np.lib.format.open_memmap`` so memory does not grow with
    N. Train and valid use independent random streams derived from ``seed``.

    Returns:
        dict: split name → (video file path, joint file path).
    """
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for split_id, (split, num) in enumerate((('train', num_train), ('valid', num_valid))):
        rng = np.random.default_rng([seed, split_id])
        video_path = osp.join(out_dir, f'videoframes_clips_{split}.npy')
        joint_path = osp.join(out_dir, f'joint_3d_clips_{split}.npy')
        _write_clips(video_path, joint_path, num, size, num_frames, rng, progress)
        written[split] = (video_path, joint_path)
    return written
