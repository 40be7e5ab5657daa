"""Learnable synthetic MPII: rendered 2D stick people in 1280×720 JPEG images.

The synthetic twin of MPII Human Pose (see ``MPIIDataset``), written in the same files:
``images/*.jpg``, ``annotations/mpii_{train,val}.json`` (MMPose-style records,
1-based MATLAB pixels) and ``annotations/mpii_gt_val.mat`` (official layout).

Each image shows one to three people on a textured, noisy background with muted
distractor shapes. A person is an articulated 2D body in MPII's joint layout, facing
the camera (its right side on the image's left, up to a moderate in-plane rotation):

- limbs are thick strokes, each segment (upper arm, forearm, thigh, shin) with its own
  saturated colour and the two sides with different colours, so the two arms (legs)
  and their elbows/wrists (knees/ankles) are told apart by colour; which side gets
  which colour set is drawn at random per person, so the label follows from the body's
  geometry alone and a horizontally flipped image is as likely as the original (flip
  augmentation and flip test stay label-consistent);
- the torso is a filled quadrilateral, the neck a stroke, the head a filled ellipse
  from the upper neck to the head top (its axis-aligned bounding box is the head box);
- varied pose (arm and leg angles, bends, foreshortening, lean), size and rotation,
  kept within a moderate range so that a small model can learn it;
- some joints are not visible: cut off by the image border or hidden behind an
  occluding block; they get ``joints_vis`` 0 (and ``jnt_visible`` 0 in the .mat).

MPII's person conventions: ``scale`` = the person's larger extent / 200 and
``center`` = the middle of the person's extent moved up by 15·scale px, so that the
loader's "down by 15·scale, box = scale·200·1.25" crop is centred on the person with a
25 % margin.

Public API: ``sample_mpii_poses``, ``render_mpii_image``, ``write_mpii_split``.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.core.boxes import size_to_scale
from hpekit.datasets.mpii import CENTER_SHIFT
from hpekit.datasets.mpii_mat import save_mpii_gt

# The renderer's body model: the 16 joints of configs/_base_/datasets/mpii.py, with
# the short names the official mpii_gt_val.mat lists in 'dataset_joints'.
MAT_JOINT_NAMES = ('rank', 'rkne', 'rhip', 'lhip', 'lkne', 'lank', 'pelv', 'thor',
                   'neck', 'head', 'rwri', 'relb', 'rsho', 'lsho', 'lelb', 'lwri')
NUM_MPII_JOINTS = len(MAT_JOINT_NAMES)

IMAGE_SIZE = (1280, 720)            # (width, height) of every image
JPEG_QUALITY = 90

# Joint ids (MPII order).
R_ANK, R_KNE, R_HIP, L_HIP, L_KNE, L_ANK, PELVIS, THORAX, NECK, HEAD = range(10)
R_WRI, R_ELB, R_SHO, L_SHO, L_ELB, L_WRI = range(10, 16)

# Segment lengths as fractions of the standing height (ankle to head top ≈ 0.96).
PROPORTIONS = dict(hip=0.07, thigh=0.245, shin=0.245, torso=0.29, shoulder=0.105,
                   shoulder_drop=0.025, neck=0.05, head=0.13, upper_arm=0.165,
                   forearm=0.15)
HEAD_WIDTH = 0.78                   # head ellipse width / head length

# Angle distributions in degrees, name -> (mean, std, low, high): a normal draw
# reflected into [low, high]. Limb angles are measured from straight down, positive
# away from the body's midline; bends add to the parent segment's angle.
ANGLE_DISTRIBUTIONS = dict(
    lean=(0, 7, -20, 20), head_tilt=(0, 10, -25, 25),
    arm=(25, 40, -30, 165), elbow=(-10, 50, -145, 120),
    leg=(8, 9, -8, 40), knee=(0, 12, -30, 40),
    rotation=(0, 8, -25, 25))
FORESHORTEN_PROB = 0.25             # chance a limb segment is foreshortened
FORESHORTEN_RANGE = (0.55, 0.9)     # its length factor then

# Limb colours (RGB) of the two sides: upper arm, forearm, thigh, shin.
SIDE_COLOURS = (((235, 35, 35), (255, 150, 0), (35, 90, 255), (0, 220, 255)),
                ((30, 200, 40), (225, 235, 0), (185, 40, 235), (255, 80, 200)))
SKIN_TONES = ((255, 220, 185), (235, 190, 150), (200, 150, 110), (150, 105, 75))
TORSO_COLOURS = ((245, 245, 245), (120, 120, 125), (250, 215, 120), (150, 200, 160),
                 (95, 70, 150))
LIMB_WIDTH = 0.045                  # stroke width / height (arms; legs 1.2×)

PEOPLE_PER_IMAGE = ((1, 0.45), (2, 0.35), (3, 0.20))
HEIGHT_RANGE = (220.0, 560.0)       # standing height in px of a lone person
OCCLUDER_PROB = 0.15                # chance a person is partly hidden by a block
TRUNCATE_PROB = 0.12                # chance a person is placed partly off the image


def _reflect(x, low, high):
    """Fold values into [low, high] by reflecting at the bounds (then clip)."""
    x = np.where(x < low, 2 * low - x, x)
    x = np.where(x > high, 2 * high - x, x)
    return np.clip(x, low, high)


def _draw_angle(rng, name, size=None):
    mean, std, low, high = ANGLE_DISTRIBUTIONS[name]
    return _reflect(rng.normal(mean, std, size), low, high)


def _lengths(rng):
    """Segment lengths of one person (fractions of the height), with foreshortening."""
    lengths = dict(PROPORTIONS)
    width = rng.uniform(0.85, 1.15)
    lengths['hip'] *= width
    lengths['shoulder'] *= width
    for side in 'rl':
        for seg in ('upper_arm', 'forearm', 'thigh', 'shin'):
            short = rng.random() < FORESHORTEN_PROB
            lengths[f'{side}_{seg}'] = PROPORTIONS[seg] * (
                rng.uniform(*FORESHORTEN_RANGE) if short else rng.uniform(0.95, 1.05))
    return lengths


def _direction(angle_deg, outward):
    """Unit vector of a limb at angle_deg from straight down, positive toward outward."""
    a = np.deg2rad(angle_deg)
    return np.array([outward * np.sin(a), np.cos(a)])


def _rotate(vec, angle_deg):
    """Rotate 2D vectors [..., 2] by angle_deg (counter-clockwise as seen, y down)."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return vec @ np.array([[c, -s], [s, c]])


def _limb(root, upper, lower, angle, bend, outward, frame):
    """Middle and end joints [2] of a two-segment limb in the body frame."""
    middle = root + upper * _rotate(_direction(angle, outward), frame)
    end = middle + lower * _rotate(_direction(angle + bend, outward), frame)
    return middle, end


# (outward sign, prefix, leg joints, arm joints) of the right and the left side.
_SIDES = ((-1, 'r', (R_HIP, R_KNE, R_ANK), (R_SHO, R_ELB, R_WRI)),
          (1, 'l', (L_HIP, L_KNE, L_ANK), (L_SHO, L_ELB, L_WRI)))


def _body(rng):
    """Joints [16, 2] of one random pose in height units (pelvis at 0, upright, y down).

    The person faces the camera: its right side (MPII's r_*) is at negative x.
    """
    n = _lengths(rng)
    lean, tilt = _draw_angle(rng, 'lean'), _draw_angle(rng, 'head_tilt')
    joints = np.zeros((NUM_MPII_JOINTS, 2))
    up = _rotate(np.array([0.0, -1.0]), lean)
    side = _rotate(np.array([1.0, 0.0]), lean)          # toward the body's left
    joints[THORAX] = n['torso'] * up
    joints[NECK] = joints[THORAX] + n['neck'] * up
    joints[HEAD] = joints[NECK] + n['head'] * _rotate(up, tilt)
    for s, p, (hip, knee, ankle), (sho, elb, wri) in _SIDES:
        joints[hip] = s * n['hip'] * np.array([1.0, 0.0])
        joints[knee], joints[ankle] = _limb(joints[hip], n[f'{p}_thigh'], n[f'{p}_shin'],
                                            _draw_angle(rng, 'leg'), _draw_angle(rng, 'knee'),
                                            s, 0.0)
        joints[sho] = joints[THORAX] + s * n['shoulder'] * side - n['shoulder_drop'] * up
        joints[elb], joints[wri] = _limb(joints[sho], n[f'{p}_upper_arm'], n[f'{p}_forearm'],
                                         _draw_angle(rng, 'arm'), _draw_angle(rng, 'elbow'),
                                         s, lean)
    return joints


def sample_mpii_poses(rng, n):
    """Random 2D poses of the synthetic body, upright-ish, in height units.

    Args:
        rng (np.random.Generator): source of randomness.
        n (int): number of poses.

    Returns:
        np.ndarray: float64 [n, 16, 2], MPII joint order, x right, y down, pelvis at the
        origin, the standing height (ankle to head top) ≈ 1, rotated in-plane by a
        random angle (``ANGLE_DISTRIBUTIONS['rotation']``).
    """
    poses = np.stack([_body(rng) for _ in range(n)]) if n else np.zeros((0, 16, 2))
    for pose in poses:
        pose[:] = _rotate(pose, _draw_angle(rng, 'rotation'))
    return poses


# ------------------------------------------------------------------------ people
def _head_ellipse(joints):
    """(centre [2], semi-axes (along, across), axis unit [2]) of the head ellipse.

    The ellipse spans the upper neck to the head top; its width is HEAD_WIDTH × length.
    """
    axis = joints[HEAD] - joints[NECK]
    length = max(np.linalg.norm(axis), 1e-6)
    centre = (joints[HEAD] + joints[NECK]) / 2
    return centre, (length / 2, length / 2 * HEAD_WIDTH), axis / length


def head_box(joints):
    """Axis-aligned box [[x1, y1], [x2, y2]] (0-based px) of the head ellipse."""
    centre, (a, b), u = _head_ellipse(joints)
    v = np.array([-u[1], u[0]])
    half = np.sqrt((a * u) ** 2 + (b * v) ** 2)
    return np.stack([centre - half, centre + half])


def _extent(joints, height):
    """Box [[x1, y1], [x2, y2]] px around a person's joints, strokes and head."""
    pad = LIMB_WIDTH * 1.2 * height / 2
    box = np.stack([joints.min(axis=0) - pad, joints.max(axis=0) + pad])
    head = head_box(joints)
    return np.stack([np.minimum(box[0], head[0]), np.maximum(box[1], head[1])])


def _overlaps(box, boxes, margin):
    return any(np.all(box[0] - margin < other[1]) and np.all(other[0] - margin < box[1])
               for other in boxes)


def _place(rng, pose, height, taken, image_size):
    """Place a pose without overlapping ``taken`` boxes: (joints [16, 2] px, height) or None.

    A person too big for the image is shrunk until it fits.
    """
    w, h = image_size
    truncate = rng.random() < TRUNCATE_PROB
    for _ in range(30):
        box = _extent(pose * height, height)
        size = box[1] - box[0]
        slack = 0.3 * size if truncate else np.zeros(2)
        low, high = -box[0] - slack, np.array([w, h]) - box[1] + slack
        if np.any(high < low):
            height *= 0.9
            continue
        joints = pose * height + rng.uniform(low, high)
        if not _overlaps(_extent(joints, height), taken, 0.03 * height):
            return joints, height
    return None


def _layout(rng, image_size):
    """People of one image: list of (joints [16, 2] px, height px)."""
    counts, probs = zip(*PEOPLE_PER_IMAGE)
    count = rng.choice(counts, p=probs)
    top = HEIGHT_RANGE[1] / (1.0 + 0.25 * (count - 1))
    people, taken = [], []
    for pose in sample_mpii_poses(rng, count):
        height = float(np.exp(rng.uniform(np.log(HEIGHT_RANGE[0]), np.log(top))))
        placed = _place(rng, pose, height, taken, image_size)
        if placed is not None:
            people.append(placed)
            taken.append(_extent(*placed))
    return people


# --------------------------------------------------------------------- rendering
def make_background(image_size, rng):
    """Textured, noisy background uint8 [H, W, 3] RGB in muted, mid-dark tones.

    Low-frequency brightness/colour blobs, a mid-frequency texture, pixel noise and a
    few low-saturation distractor shapes (lines, rectangles, ellipses).
    """
    w, h = image_size
    base = rng.uniform(50, 120) + rng.uniform(-10, 10, 3)
    blobs = rng.uniform(-35, 35, (5, 8, 1)) + rng.uniform(-10, 10, (5, 8, 3))
    img = base + cv2.resize(blobs.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    texture = rng.uniform(-16, 16, (h // 12, w // 12)).astype(np.float32)
    img = img + cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    _distractors(img, rng)
    return img


def _muted(rng):
    """A random low-saturation colour (tuple of 3 floats)."""
    grey = rng.uniform(40, 190)
    return tuple(float(v) for v in np.clip(grey + rng.uniform(-18, 18, 3), 0, 255))


def _distractors(img, rng):
    """Paint 6-14 muted shapes onto img (in place)."""
    h, w = img.shape[:2]
    for _ in range(rng.integers(6, 15)):
        kind = rng.integers(3)
        p = rng.uniform([0, 0], [w, h]).astype(int)
        q = rng.uniform([0, 0], [w, h]).astype(int)
        if kind == 0:
            cv2.line(img, tuple(map(int, p)), tuple(map(int, q)), _muted(rng),
                     int(rng.integers(2, 12)), cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, tuple(map(int, p)), tuple(map(int, p + rng.integers(20, 200, 2))),
                          _muted(rng), -1)
        else:
            axes = tuple(int(v) for v in rng.integers(10, 90, 2))
            cv2.ellipse(img, tuple(map(int, p)), axes, float(rng.uniform(0, 180)), 0, 360,
                        _muted(rng), -1, cv2.LINE_AA)


_SHIFT = 4                          # cv2 sub-pixel bits (coordinates in 1/16 px)


def _pt(point):
    return tuple(int(v) for v in np.round(np.asarray(point) * (1 << _SHIFT)))


def _stroke(img, a, b, width, colour):
    """Thick anti-aliased line with round ends from a to b (px)."""
    cv2.line(img, _pt(a), _pt(b), colour, max(2, int(round(width))), cv2.LINE_AA, _SHIFT)


def _disc(img, centre, radius, colour):
    cv2.circle(img, _pt(centre), max(1 << _SHIFT, int(round(radius * (1 << _SHIFT)))),
               colour, -1, cv2.LINE_AA, _SHIFT)


def _jitter(rng, colour, amount=18):
    return tuple(float(v) for v in np.clip(np.asarray(colour) + rng.uniform(-amount, amount, 3),
                                           0, 255))


def _person_style(rng):
    """Colours of one person: per-side limb colours (sides swapped at random), skin, torso."""
    sides = list(SIDE_COLOURS)
    if rng.random() < 0.5:
        sides.reverse()
    limbs = [[_jitter(rng, c) for c in side] for side in sides]
    return dict(right=limbs[0], left=limbs[1],
                skin=_jitter(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10),
                torso=_jitter(rng, TORSO_COLOURS[rng.integers(len(TORSO_COLOURS))], 15))


def _draw_limbs(img, joints, ids, colours, width):
    """Two segments (ids: root, middle, end) and a darker disc at the middle joint."""
    root, middle, end = (joints[i] for i in ids)
    _stroke(img, root, middle, width, colours[0])
    _stroke(img, middle, end, width, colours[1])
    _disc(img, middle, 0.45 * width, tuple(0.6 * c for c in colours[0]))


def draw_person(img, joints, height, rng):
    """Paint one person (joints [16, 2] 0-based px, standing height px) onto img RGB."""
    style = _person_style(rng)
    arm, leg = LIMB_WIDTH * height, LIMB_WIDTH * 1.2 * height
    torso = np.array([joints[R_SHO], joints[L_SHO], joints[L_HIP], joints[R_HIP]])
    _draw_limbs(img, joints, (R_HIP, R_KNE, R_ANK), style['right'][2:], leg)
    _draw_limbs(img, joints, (L_HIP, L_KNE, L_ANK), style['left'][2:], leg)
    cv2.fillPoly(img, [np.round(torso * (1 << _SHIFT)).astype(np.int32)], style['torso'],
                 cv2.LINE_AA, _SHIFT)
    _stroke(img, joints[PELVIS], joints[THORAX], 0.5 * arm, tuple(0.75 * c for c in style['torso']))
    _stroke(img, joints[THORAX], joints[NECK], 0.9 * arm, style['skin'])
    centre, (a, b), u = _head_ellipse(joints)
    angle = float(np.degrees(np.arctan2(u[1], u[0])))
    cv2.ellipse(img, _pt(centre), (int(a * (1 << _SHIFT)), int(b * (1 << _SHIFT))), angle,
                0, 360, style['skin'], -1, cv2.LINE_AA, _SHIFT)
    for ids, key in (((R_SHO, R_ELB, R_WRI), 'right'), ((L_SHO, L_ELB, L_WRI), 'left')):
        _draw_limbs(img, joints, ids, style[key][:2], arm)


def _occlude(img, joints, height, rng):
    """Maybe hide part of a person behind a muted block; returns bool [16] hidden joints."""
    hidden = np.zeros(NUM_MPII_JOINTS, bool)
    if rng.random() >= OCCLUDER_PROB:
        return hidden
    target = joints[rng.choice([R_ANK, L_ANK, R_KNE, L_KNE, R_WRI, L_WRI, R_ELB, L_ELB])]
    half = rng.uniform(0.06, 0.14, 2) * height
    low, high = target - half + rng.uniform(-0.5, 0.5, 2) * half, target + half
    cv2.rectangle(img, _pt(low), _pt(high), _muted(rng), -1, cv2.LINE_AA, _SHIFT)
    return np.all((joints >= low) & (joints <= high), axis=1)


def render_mpii_image(rng, image_size=IMAGE_SIZE):
    """Render one image with its people.

    Returns:
        tuple: image uint8 [H, W, 3] RGB and a list of people, each a dict with
        'joints' float64 [16, 2] (0-based px), 'visible' bool [16], 'head_box' float64
        [2, 2] ([[x1, y1], [x2, y2]], 0-based px) and 'extent' float64 [2, 2] (box
        around the drawn body, 0-based px).
    """
    w, h = image_size
    img = make_background(image_size, rng)
    people = []
    for joints, height in _layout(rng, image_size):
        draw_person(img, joints, height, rng)
        hidden = _occlude(img, joints, height, rng)
        inside = np.all((joints >= 0) & (joints <= [w - 1, h - 1]), axis=1)
        people.append(dict(joints=joints, visible=inside & ~hidden,
                           head_box=head_box(joints), extent=_extent(joints, height)))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.0))
    noise = rng.normal(0.0, rng.uniform(3, 7), img.shape[:2] + (1,))
    return np.clip(img + noise, 0, 255).astype(np.uint8), people


# ------------------------------------------------------------------------ writing
def mpii_record(image_name, person):
    """The MMPose-style JSON record of one rendered person (1-based MATLAB px)."""
    low, high = person['extent']
    scale = float(size_to_scale(np.max(high - low)))
    center = (low + high) / 2 - np.array([0.0, CENTER_SHIFT * scale])
    return {'image': image_name, 'center': [round(float(v) + 1, 2) for v in center],
            'scale': round(scale, 4),
            'joints': [[round(float(x) + 1, 2), round(float(y) + 1, 2)]
                       for x, y in person['joints']],
            'joints_vis': [int(v) for v in person['visible']]}


def _write_images(out_dir, split, num, rng, image_size, progress):
    """Render ``num`` images of one split; returns (records, people) in file order."""
    records, people = [], []
    bar = _progress_bar(num, split) if progress else None
    for i in range(num):
        name = f'{split}_{i:06d}.jpg'
        img, persons = render_mpii_image(rng, image_size)
        path = osp.join(out_dir, 'images', name)
        if not cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f'could not write {path}')
        records += [mpii_record(name, p) for p in persons]
        people += persons
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    return records, people


def _progress_bar(num, split):
    print(f'rendering {num} synthetic MPII {split} images')
    return ProgressBar(num)


def _write_json(path, records):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(records, f)


def _write_gt_mat(path, people):
    """mpii_gt_val.mat in the official layout (1-based px)."""
    n = len(people)
    pos = np.array([p['joints'] for p in people]).reshape(n, NUM_MPII_JOINTS, 2) + 1.0
    visible = np.array([p['visible'] for p in people]).reshape(n, NUM_MPII_JOINTS)
    boxes = np.array([p['head_box'] for p in people]).reshape(n, 2, 2) + 1.0
    save_mpii_gt(path, pos, visible, boxes, joint_names=MAT_JOINT_NAMES)


def write_mpii_split(out_dir, num_train, num_val, image_size=IMAGE_SIZE, seed=0,
                     progress=True):
    """Write a synthetic stand-in of MPII in the real dataset's layout.

    Writes under out_dir: ``images/{train,val}_NNNNNN.jpg`` (``image_size`` (W, H), one
    to three people each), ``annotations/mpii_train.json`` and
    ``annotations/mpii_val.json`` (one record per person, 1-based MATLAB px) and
    ``annotations/mpii_gt_val.mat`` (pos_gt_src [16, 2, N] 1-based, jnt_visible and
    jnt_missing [16, N], headboxes_src [2, 2, N]; N = val records, in the val JSON's
    order). Train and val use independent random streams derived from ``seed``.

    Args:
        out_dir (str): the data root to write.
        num_train, num_val (int): number of train / val images (not people).
        image_size (tuple[int, int]): (width, height) of the images.
        seed (int): random seed.
        progress (bool): show a progress bar.

    Returns:
        dict: 'train_json', 'val_json', 'gt_mat' (paths), 'num_train_people',
        'num_val_people'.
    """
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    written = {}
    for split_id, (split, num) in enumerate((('train', num_train), ('val', num_val))):
        rng = np.random.default_rng([seed, split_id])
        records, people = _write_images(out_dir, split, num, rng, image_size, progress)
        written[f'{split}_json'] = osp.join(out_dir, 'annotations', f'mpii_{split}.json')
        _write_json(written[f'{split}_json'], records)
        written[f'num_{split}_people'] = len(records)
        if split == 'val':
            written['gt_mat'] = osp.join(out_dir, 'annotations', 'mpii_gt_val.mat')
            _write_gt_mat(written['gt_mat'], people)
    return written
