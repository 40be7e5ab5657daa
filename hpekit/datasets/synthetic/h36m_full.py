"""The synthetic twin of Human3.6M in MMPose's preprocessed layout (``h36m-full``).

Writes what ``H36MVideoDataset`` reads, in exactly the real layout::

    images/<S>/<S>_<Action>[_<n>].<camera>/<S>_<Action>[_<n>].<camera>_<frame:06d>.jpg
    annotation_body3d/fps<fps>/h36m_train.npz   (subjects S1, S5, S6, S7, S8)
    annotation_body3d/fps<fps>/h36m_test.npz    (subjects S9, S11)
    annotation_body3d/cameras.pkl

Each subject (own body proportions) performs each of the 15 actions (subactions
1 and 2; S1 uses the official release's other names 'TakingPhoto' and
'WalkingDog'), seen by four static cameras placed around the capture area. An action
is a motion model: a base posture, periodic movements (gait, waving, pointing …)
and slow random drift, with the body turning and, for the walking actions, moving
through the room. The bodies are the stick figures of ``hpekit.datasets.synthetic.h36m``
(left limbs warm, right limbs cool, depth shading), so the 3D pose is learnable from
the frames. Annotations follow MMPose's converter: ``S`` camera-frame metres,
``part`` projected pixels, ``center``/``scale`` from the 2D joints' box with a 1.2
margin (box = scale × 200 px).

Camera convention of ``cameras.pkl`` (as MMPose's): ``X_cam = R @ (X_world - T)``
with T the camera centre in world metres; pinhole ``x = f · X / Z + c`` (no
distortion: k, p are zero); 'w', 'h' the frame size in px.
"""
import os
import os.path as osp
import pickle

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.core.boxes import size_to_scale
from hpekit.core.camera import project
from hpekit.datasets.h36m_video import DEFAULT_SUBJECTS, H36M_ACTIONS
from hpekit.datasets.synthetic.h36m import (ANGLE_DISTRIBUTIONS, _draw_items, _draw_torso,
                                            _frame_items, _rot, forward_kinematics, make_background)

SUBJECTS = DEFAULT_SUBJECTS['train'] + DEFAULT_SUBJECTS['test']
CAMERA_IDS = ('54138969', '55011271', '58860488', '60457274')
# Names of the official release that differ for some subjects (both merge in the
# per-action tables): subject → {action: name in its files}.
RELEASE_NAMES = {'S1': {'Photo': 'TakingPhoto', 'WalkDog': 'WalkingDog'}}

CAMERA_DISTANCE = 4.6       # metres from the room centre
CAMERA_HEIGHT = 0.55        # metres above the pelvis height
CAMERA_PITCH = 7.0          # degrees, looking down
FOCAL_PER_PIXEL = 1.15      # focal length / frame width (Human3.6M: ~1145 px / 1000 px)
BOX_MARGIN = 1.2            # MMPose's converter: scale = 1.2 · max box side / 200
WALK_SPEED = 1.1            # m/s for the walking actions

# Action motion models, in degrees (angles of hpekit.datasets.synthetic.h36m):
# 'base' overrides the posture; 'osc' lists (angle, amplitude, cycles per second,
# phase in cycles); 'walk' moves the body forward; 'drift' scales the random drift.
_GAIT = [('l_hip_flex', 28, 0.9, 0.0), ('r_hip_flex', 28, 0.9, 0.5),
         ('l_knee', 25, 0.9, 0.75), ('r_knee', 25, 0.9, 0.25),
         ('l_sh_flex', 18, 0.9, 0.5), ('r_sh_flex', 18, 0.9, 0.0)]
ACTION_MODELS = {
    'Directions': dict(base=dict(r_sh_flex=75, r_elbow=10, head_turn=-15),
                       osc=[('r_sh_abd', 25, 0.5, 0.0), ('head_turn', 20, 0.5, 0.1)]),
    'Discussion': dict(base=dict(l_elbow=75, r_elbow=75, l_sh_flex=30, r_sh_flex=30),
                       osc=[('l_elbow', 20, 1.0, 0.0), ('r_elbow', 20, 1.0, 0.4),
                            ('torso_twist', 10, 0.4, 0.0)]),
    'Eating': dict(base=dict(l_hip_flex=85, r_hip_flex=85, l_knee=90, r_knee=90,
                             l_elbow=110, r_elbow=100, l_sh_flex=25, r_sh_flex=20,
                             torso_bend=15),
                   osc=[('r_elbow', 20, 0.7, 0.0), ('head_nod', 10, 0.7, 0.2)], drop=0.4),
    'Greeting': dict(base=dict(r_sh_abd=125, r_elbow=40, l_sh_abd=15),
                     osc=[('r_elbow', 30, 1.5, 0.0), ('torso_side', 6, 0.75, 0.0)]),
    'Phoning': dict(base=dict(r_sh_flex=30, r_sh_abd=45, r_elbow=140, head_turn=15),
                    osc=[('head_nod', 8, 0.5, 0.0), ('torso_twist', 12, 0.25, 0.0)]),
    'Photo': dict(base=dict(l_sh_flex=75, r_sh_flex=75, l_elbow=105, r_elbow=105,
                            l_sh_abd=20, r_sh_abd=20),
                  osc=[('torso_twist', 15, 0.4, 0.0), ('torso_bend', 8, 0.4, 0.25)]),
    'Posing': dict(base=dict(l_sh_abd=85, r_sh_abd=85, l_hip_abd=18, r_hip_abd=12),
                   osc=[('torso_side', 10, 0.3, 0.0), ('l_elbow', 30, 0.3, 0.5)]),
    'Purchases': dict(base=dict(torso_bend=30, r_sh_flex=55, r_elbow=60, l_elbow=50),
                      osc=[('torso_bend', 10, 0.5, 0.0), ('r_sh_flex', 20, 0.5, 0.3)]),
    'Sitting': dict(base=dict(l_hip_flex=90, r_hip_flex=90, l_knee=90, r_knee=90,
                              l_elbow=60, r_elbow=60, torso_bend=5),
                    osc=[('torso_bend', 10, 0.3, 0.0), ('head_turn', 25, 0.2, 0.0)],
                    drop=0.4),
    'SittingDown': dict(base=dict(l_hip_flex=100, r_hip_flex=95, l_knee=125, r_knee=120,
                                  torso_bend=40, l_sh_flex=40, r_sh_flex=40),
                        osc=[('torso_bend', 12, 0.3, 0.0), ('l_knee', 10, 0.3, 0.5)],
                        drop=0.55),
    'Smoking': dict(base=dict(r_elbow=120, r_sh_flex=20, l_elbow=70),
                    osc=[('r_elbow', 30, 0.5, 0.0), ('r_sh_flex', 15, 0.5, 0.0)]),
    'Waiting': dict(base=dict(l_sh_abd=12, r_sh_abd=12, l_elbow=15, r_elbow=15),
                    osc=[('torso_side', 6, 0.3, 0.0), ('head_turn', 30, 0.25, 0.0),
                         ('l_knee', 12, 0.3, 0.5)]),
    'WalkDog': dict(base=dict(r_sh_flex=45, r_elbow=30, torso_bend=18),
                    osc=[g for g in _GAIT if g[0] != 'r_sh_flex'], walk=0.8),
    'Walking': dict(base=dict(l_knee=25, r_knee=25), osc=_GAIT, walk=1.0),
    'WalkTogether': dict(base=dict(l_elbow=50, head_turn=25, l_knee=20, r_knee=20),
                         osc=[g for g in _GAIT if g[0] != 'l_sh_flex'], walk=0.7),
}
assert set(ACTION_MODELS) == set(H36M_ACTIONS)


# ------------------------------------------------------------------- the scene
def camera_params(index, image_size):
    """Parameters of camera ``index`` (0-3) in MMPose's ``cameras.pkl`` form."""
    yaw = np.deg2rad(45.0 + 90.0 * index)
    rotation = _rot('x', np.array([-np.deg2rad(CAMERA_PITCH)]))[0] @ \
        _rot('y', np.array([yaw]))[0]
    # X_cam = R X_world + t with t putting the room centre CAMERA_DISTANCE ahead and
    # the camera CAMERA_HEIGHT above the pelvis height (y points down).
    offset = np.array([0.0, CAMERA_HEIGHT, CAMERA_DISTANCE])
    centre = -rotation.T @ offset
    focal = FOCAL_PER_PIXEL * image_size
    return dict(R=rotation, T=centre.reshape(3, 1),
                c=np.full((2, 1), (image_size - 1) / 2.0), f=np.full((2, 1), focal),
                k=np.zeros((3, 1)), p=np.zeros((2, 1)), w=int(image_size),
                h=int(image_size), name=f'camera{index + 1}', id=CAMERA_IDS[index])


def world_to_camera(points, params):
    """points [..., 3] world metres → camera-frame metres."""
    return (np.asarray(points) - params['T'][:, 0]) @ params['R'].T


def project_with(points_cam, params):
    """Camera-frame points [..., 3] → pixels [..., 2] through a ``camera_params`` dict."""
    return project(points_cam, params['f'][:, 0], params['c'][:, 0])


def _smooth_noise(rng, num, length, knots=4):
    """num smooth random curves [num, length] with values ~N(0, 1) at ``knots`` knots."""
    x = np.linspace(0.0, 1.0, knots)
    values = rng.normal(size=(num, knots))
    t = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(t, x, v) for v in values])


def action_motion(action, num_frames, fps, rng, scale=1.0):
    """World joints [T, 17, 3] (metres, y down) of one performance of ``action``.

    The posture is the action's base over the means of ``ANGLE_DISTRIBUTIONS``, with a
    per-performance style offset, the action's periodic movements and slow drift;
    the body turns slowly and walks when the action walks. ``scale`` sizes the body.
    """
    model = ACTION_MODELS[action]
    names = list(ANGLE_DISTRIBUTIONS)
    t = np.arange(num_frames) / float(fps)
    drift = _smooth_noise(rng, len(names), num_frames)
    angles = {}
    for i, name in enumerate(names):
        mean, std, low, high = ANGLE_DISTRIBUTIONS[name]
        base = model['base'].get(name, mean)
        value = base + rng.normal(0.0, 0.25 * std) + 0.2 * std * drift[i]
        for osc_name, amp, freq, phase in model['osc']:
            if osc_name == name:
                amp = amp * rng.uniform(0.8, 1.2)
                value = value + amp * np.sin(2 * np.pi * (freq * t + phase + rng.uniform(-.1, .1)))
        angles[name] = np.deg2rad(np.clip(value, low, high) * np.ones(num_frames))
    body = forward_kinematics(angles) * scale                     # [T, 17, 3]
    yaw0 = rng.uniform(0.0, 2 * np.pi)
    yaw = yaw0 + np.deg2rad(rng.uniform(-25, 25)) * t / max(t[-1], 1e-6)
    rotation = _rot('y', yaw) @ _rot('x', angles['pitch']) @ _rot('z', angles['roll'])
    joints = np.einsum('tij,tkj->tki', rotation, body)
    # the facing direction of yaw (the body faces -z at yaw 0)
    heading = np.stack([-np.sin(yaw), np.zeros_like(yaw), -np.cos(yaw)], axis=-1)
    speed = WALK_SPEED * model.get('walk', 0.0)
    start = rng.uniform(-0.3, 0.3, 3) * np.array([1.0, 0.0, 1.0]) - \
        heading[0] * speed * t[-1] / 2
    path = start + np.cumsum(heading * speed / fps, axis=0)
    path[:, 1] = model.get('drop', 0.0) * scale   # sitting: the pelvis is lower
    return joints + path[:, None, :]


def render_frame(background, joints_cam, params, shift):
    """One RGB frame of the stick body seen by a camera (uint8 [h, w, 3])."""
    canvas = np.roll(background, tuple(shift), axis=(0, 1))
    pix = project_with(joints_cam, params)
    rel = joints_cam - joints_cam[0]
    _draw_torso(canvas, rel, pix)
    _draw_items(canvas, _frame_items(rel, pix, joints_cam[:, 2], float(params['f'][0, 0])))
    return canvas


def box_of(pix):
    """(center [2], scale) of MMPose's converter from 2D joints [K, 2]."""
    low, high = pix.min(axis=0), pix.max(axis=0)
    return (low + high) / 2.0, float(size_to_scale(BOX_MARGIN * float(np.max(high - low))))


def sequence_dir(subject, action, subaction, camera):
    """'S1_Directions_1.54138969': the folder (and file prefix) of one sequence."""
    name = RELEASE_NAMES.get(subject, {}).get(action, action)
    suffix = '' if subaction == 0 else f'_{subaction}'
    return f'{subject}_{name}{suffix}.{camera}'


# ------------------------------------------------------------------- writing
def write_h36m_full(out_dir, subjects=SUBJECTS, actions=H36M_ACTIONS, subactions=2,
                    num_cameras=4, num_frames=40, fps=50, image_size=160, seed=0,
                    jpeg_quality=90, progress=True, images=True):
    """Write a synthetic Human3.6M in MMPose's preprocessed layout (see module doc).

    Args:
        out_dir (str): the data_root to write.
        subjects (sequence[str]): among S1, S5, S6, S7, S8 (train file) and S9, S11
            (test file).
        actions (sequence[str]): among the 15 ``H36M_ACTIONS``.
        subactions (int): performances per action and subject (1 or 2).
        num_cameras (int): cameras 1-4.
        num_frames (int): frames per sequence.
        fps (int): the frame rate the motion is sampled at; the folder is
            ``annotation_body3d/fps<fps>`` and frame numbers step by 50 / fps.
        image_size (int): frame width = height, px.
        seed (int): random seed.
        jpeg_quality (int): JPEG quality of the frames.
        images (bool): render and write the frames; False writes the annotations and
            cameras only (enough for 2D → 3D lifting, and much faster).

    Returns:
        dict: 'train' / 'test' npz paths, 'cameras' path, 'num_frames' per split.
    """
    unknown = [s for s in subjects if s not in SUBJECTS] + \
        [a for a in actions if a not in H36M_ACTIONS]
    if unknown:
        raise ValueError(f'unknown subjects/actions {unknown}; subjects {SUBJECTS}, '
                         f'actions {H36M_ACTIONS}')
    if not 1 <= subactions <= 2 or not 1 <= num_cameras <= 4 or num_frames < 1 or \
            fps < 1 or 50 % fps:
        raise ValueError('need subactions 1-2, cameras 1-4, frames >= 1 and fps a divisor '
                         f'of 50; got {subactions}, {num_cameras}, {num_frames}, {fps}')
    cams = [camera_params(i, image_size) for i in range(num_cameras)]
    step = 50 // fps
    ann_dir = osp.join(out_dir, 'annotation_body3d')
    os.makedirs(osp.join(ann_dir, f'fps{fps}'), exist_ok=True)
    records = {'train': [], 'test': []}
    total = len(subjects) * len(actions) * subactions
    bar = _progress(total * num_cameras * num_frames) if progress and images else None
    cameras = {}
    for s_index, subject in enumerate(subjects):
        rng = np.random.default_rng([seed, SUBJECTS.index(subject)])
        scale = rng.uniform(0.92, 1.08)
        backgrounds = [make_background(image_size, rng) for _ in cams]
        for cam in cams:
            cameras[(subject, cam['id'])] = cam
        split = 'train' if subject in DEFAULT_SUBJECTS['train'] else 'test'
        for action in actions:
            for sub in range(subactions):
                motion = action_motion(action, num_frames, fps, rng, scale)
                for cam, background in zip(cams, backgrounds):
                    records[split].append(_write_sequence(
                        out_dir, subject, action, sub, cam, background, motion, step,
                        rng, jpeg_quality, bar, images))
    for subject in SUBJECTS:      # every subject's cameras, as the real file has
        for i, cam in enumerate(cams):
            cameras.setdefault((subject, cam['id']), camera_params(i, image_size))
    camera_file = osp.join(ann_dir, 'cameras.pkl')
    with open(camera_file, 'wb') as f:
        pickle.dump(cameras, f)
    written = dict(cameras=camera_file)
    for split, recs in records.items():
        path = osp.join(ann_dir, f'fps{fps}', f'h36m_{split}.npz')
        _save_npz(path, recs)
        written[split] = path
        written[f'num_{split}_frames'] = sum(len(r['imgname']) for r in recs)
    if bar is not None:
        print()
    return written


def _write_sequence(out_dir, subject, action, sub, cam, background, motion, step, rng,
                    quality, bar, images=True):
    folder = sequence_dir(subject, action, sub, cam['id'])
    if images:
        os.makedirs(osp.join(out_dir, 'images', subject, folder), exist_ok=True)
    joints = world_to_camera(motion, cam)
    pix = project_with(joints, cam)
    shifts = rng.integers(-2, 3, (len(joints), 2))
    names, centers, scales = [], [], []
    for t in range(len(joints)):
        name = f'{subject}/{folder}/{folder}_{t * step + 1:06d}.jpg'
        if images:
            frame = render_frame(background, joints[t], cam, shifts[t])
            ok, data = cv2.imencode('.jpg', np.ascontiguousarray(frame[..., ::-1]),
                                    [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
            if not ok:
                raise OSError(f'cannot encode frame {name}')
            data.tofile(osp.join(out_dir, 'images', name))
        center, scale = box_of(pix[t])
        names.append(name)
        centers.append(center)
        scales.append(scale)
        if bar is not None:
            bar.update()
    ones = np.ones((len(joints), joints.shape[1], 1))
    return dict(imgname=names, center=np.array(centers), scale=np.array(scales),
                part=np.concatenate([pix, ones], axis=-1),
                S=np.concatenate([joints, ones], axis=-1))


def _save_npz(path, records):
    """Concatenate sequence records into MMPose's npz fields and save."""
    if records:
        fields = {k: np.concatenate([np.asarray(r[k]) for r in records])
                  for k in ('imgname', 'center', 'scale', 'part', 'S')}
    else:
        fields = dict(imgname=np.zeros(0, '<U1'), center=np.zeros((0, 2)),
                      scale=np.zeros(0), part=np.zeros((0, 17, 3)), S=np.zeros((0, 17, 4)))
    tmp = path[:-len('.npz')] + '.part.npz'
    np.savez(tmp, **fields)
    os.replace(tmp, path)


def _progress(num):
    print(f'rendering {num} frames')
    return ProgressBar(num)
