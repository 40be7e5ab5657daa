"""Learnable synthetic COCO person keypoints: rendered stick people in COCO's files.

The synthetic twin of COCO person keypoints (see ``CocoDataset``), written as real
COCO-format files in MMPose's layout:

- ``annotations/person_keypoints_{train,val}2017.json``: COCO JSON (``images``,
  ``annotations`` with 17 keypoints [x, y, v], ``num_keypoints``, ``bbox``, ``area``,
  ``iscrowd``, and the ``person`` category with its keypoint names and skeleton);
- ``{train,val}2017/NNNNNNNNNNNN.jpg``: the images (640×480 by default);
- ``person_detection_results/val2017_detections.json``: COCO detection results for
  the val images (every person's box jittered, plus a few low-scoring false boxes), to
  exercise ``bbox_file``.

The bodies are those of the synthetic MPII renderer (``synthetic_mpii``: coloured
limbs per segment and side, torso, neck, head ellipse, textured background,
occluding blocks, people cut by the border), plus a face on the head ellipse: two
dark eyes, a red nose and two ears on its sides. COCO's 17 keypoints are the MPII
body's shoulders, elbows, wrists, hips, knees and ankles and these five face points.
The people face the camera, so the body's left is on the image's right (a mirrored
image with swapped labels is as likely, which keeps flip augmentation consistent).

Labels follow COCO's conventions: v = 2 visible, 1 labelled but hidden behind an
occluding block, 0 (and x = y = 0) outside the image; ``num_keypoints`` counts v > 0;
``bbox`` [x, y, w, h] is the drawn body's extent clipped to the image; ``area`` (the
silhouette area in COCO, which sets the OKS scale) is half the box area; keypoint
coordinates are 0-based px (pixel centres at integers).

Public API: ``coco_keypoints_from_body``, ``render_coco_image``, ``write_coco_split``.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.datasets.synthetic import mpii as body

# The renderer's body model: COCO's 17 keypoints in the order of
# configs/_base_/datasets/coco.py (tests/datasets/test_coco_dataset.py checks it).
COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                  'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                  'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                  'right_knee', 'left_ankle', 'right_ankle')
NUM_COCO_KEYPOINTS = len(COCO_KEYPOINTS)
# COCO's skeleton (1-based keypoint ids), as in the official annotation files.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
                 [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3],
                 [2, 4], [3, 5], [4, 6], [5, 7]]
# The body keypoints (ids 5-16) in the MPII body's joint order.
BODY_FROM_MPII = (body.L_SHO, body.R_SHO, body.L_ELB, body.R_ELB, body.L_WRI, body.R_WRI,
                  body.L_HIP, body.R_HIP, body.L_KNE, body.R_KNE, body.L_ANK, body.R_ANK)

IMAGE_SIZE = (640, 480)             # (width, height), COCO-like
JPEG_QUALITY = 90
# Standing height in px of a lone person: the MPII renderer's range scaled to the
# image height.
HEIGHT_RANGE = tuple(v * IMAGE_SIZE[1] / body.IMAGE_SIZE[1] for v in body.HEIGHT_RANGE)
AREA_FRACTION = 0.5                 # 'area' = this × box area (a silhouette's share)

# Face points on the head ellipse (centre c, semi-axes a along the head, b across,
# axis u from the neck to the head top, v toward the body's left): offsets
# (along · a, across · b).
NOSE = (-0.15, 0.0)
EYES = (0.18, 0.40)                 # left eye +across, right eye -across
EARS = (0.0, 1.0)
EYE_RADIUS, NOSE_RADIUS, EAR_RADIUS = 0.16, 0.15, 0.26    # × b
EYE_COLOUR = (25, 25, 35)
NOSE_COLOUR = (205, 40, 40)
OCCLUDER_PROB = body.OCCLUDER_PROB


def _face_frame(joints):
    """(centre [2], a, b, u [2], v [2]) of the head ellipse of MPII-order joints."""
    centre, (a, b), u = body._head_ellipse(joints)
    return centre, a, b, u, np.array([-u[1], u[0]])


def _face_point(frame, along, across):
    centre, a, b, u, v = frame
    return centre + along * a * u + across * b * v


def coco_keypoints_from_body(joints):
    """COCO's 17 keypoints [17, 2] (0-based px) of a rendered MPII-order body [16, 2]."""
    frame = _face_frame(joints)
    face = [_face_point(frame, *NOSE),
            _face_point(frame, EYES[0], EYES[1]), _face_point(frame, EYES[0], -EYES[1]),
            _face_point(frame, EARS[0], EARS[1]), _face_point(frame, EARS[0], -EARS[1])]
    return np.concatenate([np.array(face), joints[list(BODY_FROM_MPII)]])


def _draw_face(img, joints, keypoints):
    """Ears (skin, darker), eyes (dark) and nose (red) on the drawn head."""
    centre, _, b, _, _ = _face_frame(joints)
    cx, cy = (int(round(v)) for v in centre)
    skin = tuple(float(c) for c in img[np.clip(cy, 0, img.shape[0] - 1),
                                       np.clip(cx, 0, img.shape[1] - 1)])
    ear = tuple(0.8 * c for c in skin)
    for i in (3, 4):
        body._disc(img, keypoints[i], EAR_RADIUS * b, ear)
    for i in (1, 2):
        body._disc(img, keypoints[i], EYE_RADIUS * b, EYE_COLOUR)
    body._disc(img, keypoints[0], NOSE_RADIUS * b, NOSE_COLOUR)


def _occlude(img, keypoints, height, rng):
    """Maybe hide a limb joint behind a muted block; returns bool [17] hidden points."""
    hidden = np.zeros(len(keypoints), bool)
    if rng.random() >= OCCLUDER_PROB:
        return hidden
    target = keypoints[rng.integers(7, NUM_COCO_KEYPOINTS)]   # elbows … ankles
    half = rng.uniform(0.06, 0.14, 2) * height
    low, high = target - half + rng.uniform(-0.5, 0.5, 2) * half, target + half
    cv2.rectangle(img, body._pt(low), body._pt(high), body._muted(rng), -1, cv2.LINE_AA,
                  body._SHIFT)
    return np.all((keypoints >= low) & (keypoints <= high), axis=1)


def _layout(rng, image_size, height_range):
    """People of one image: list of (MPII-order joints [16, 2] px, height px)."""
    counts, probs = zip(*body.PEOPLE_PER_IMAGE)
    count = rng.choice(counts, p=probs)
    top = height_range[1] / (1.0 + 0.25 * (count - 1))
    people, taken = [], []
    for pose in body.sample_mpii_poses(rng, count):
        height = float(np.exp(rng.uniform(np.log(height_range[0]), np.log(top))))
        placed = body._place(rng, pose, height, taken, image_size)
        if placed is not None:
            people.append(placed)
            taken.append(body._extent(*placed))
    return people


def render_coco_image(rng, image_size=IMAGE_SIZE, height_range=None):
    """Render one image with its people.

    Args:
        rng (np.random.Generator): source of randomness.
        image_size ((W, H)): image size in px.
        height_range ((low, high), optional): standing height in px of a lone person;
            default ``HEIGHT_RANGE`` scaled to the image height.

    Returns:
        tuple: image uint8 [H, W, 3] RGB and a list of people, each a dict with
        'keypoints' float64 [17, 2] (0-based px, COCO order), 'flags' int [17] (COCO's
        v: 2 visible, 1 hidden by an occluder, 0 outside the image) and 'bbox'
        float64 [4] ([x, y, w, h], the drawn body's extent clipped to the image).
    """
    w, h = image_size
    if height_range is None:
        height_range = tuple(v * h / IMAGE_SIZE[1] for v in HEIGHT_RANGE)
    img = body.make_background(image_size, rng)
    people = []
    for joints, height in _layout(rng, image_size, height_range):
        keypoints = coco_keypoints_from_body(joints)
        body.draw_person(img, joints, height, rng)
        _draw_face(img, joints, keypoints)
        hidden = _occlude(img, keypoints, height, rng)
        inside = np.all((keypoints >= 0) & (keypoints <= [w - 1, h - 1]), axis=1)
        flags = np.where(inside, np.where(hidden, 1, 2), 0)
        low, high = body._extent(joints, height)
        low, high = np.clip(low, 0, [w, h]), np.clip(high, 0, [w, h])
        people.append(dict(keypoints=keypoints, flags=flags,
                           bbox=np.concatenate([low, high - low])))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.0))
    noise = rng.normal(0.0, rng.uniform(3, 7), img.shape[:2] + (1,))
    return np.clip(img + noise, 0, 255).astype(np.uint8), people


# ------------------------------------------------------------------------ writing
def coco_annotation(ann_id, image_id, person):
    """The COCO annotation record of one rendered person."""
    flags = person['flags']
    points = np.where(flags[:, None] > 0, person['keypoints'], 0.0)
    keypoints = []
    for (x, y), v in zip(points, flags):
        keypoints += [round(float(x), 2), round(float(y), 2), int(v)]
    x, y, bw, bh = (round(float(v), 2) for v in person['bbox'])
    return {'id': ann_id, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0,
            'bbox': [x, y, bw, bh], 'area': round(AREA_FRACTION * bw * bh, 2),
            'num_keypoints': int(np.count_nonzero(flags)), 'keypoints': keypoints,
            'segmentation': []}


def person_category():
    """COCO's person category with its keypoint names and skeleton."""
    return {'id': 1, 'name': 'person', 'supercategory': 'person',
            'keypoints': list(COCO_KEYPOINTS), 'skeleton': COCO_SKELETON}


def _detections(rng, image_id, people, image_size):
    """Detection records of one image: each person's box jittered, plus false boxes."""
    w, h = image_size
    dets = []
    for person in people:
        x, y, bw, bh = person['bbox']
        if bw < 2 or bh < 2:
            continue
        cx, cy = x + bw / 2 + rng.normal(0, 0.04) * bw, y + bh / 2 + rng.normal(0, 0.04) * bh
        bw, bh = bw * np.exp(rng.normal(0, 0.05)), bh * np.exp(rng.normal(0, 0.05))
        dets.append((cx - bw / 2, cy - bh / 2, bw, bh, rng.uniform(0.6, 1.0)))
    for _ in range(rng.integers(0, 2)):
        bw, bh = rng.uniform(0.1, 0.3) * w, rng.uniform(0.2, 0.5) * h
        dets.append((rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw, bh,
                     rng.uniform(0.05, 0.4)))
    return [{'image_id': image_id, 'category_id': 1,
             'bbox': [round(float(v), 2) for v in d[:4]], 'score': round(float(d[4]), 4)}
            for d in dets]


def _write_split(out_dir, split, num, rng, image_size, progress):
    """Render one split; returns (COCO dict, detection records)."""
    folder = osp.join(out_dir, f'{split}2017')
    os.makedirs(folder, exist_ok=True)
    images, annotations, detections = [], [], []
    bar = _progress_bar(num, split) if progress else None
    for i in range(num):
        image_id, name = i + 1, f'{i + 1:012d}.jpg'
        img, people = render_coco_image(rng, image_size)
        path = osp.join(folder, name)
        if not cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f'could not write {path}')
        images.append({'id': image_id, 'file_name': name, 'width': image_size[0],
                       'height': image_size[1]})
        for person in people:
            annotations.append(coco_annotation(len(annotations) + 1, image_id, person))
        detections += _detections(rng, image_id, people, image_size)
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    info = {'description': 'hpekit synthetic COCO person keypoints', 'version': '1.0'}
    return dict(info=info, images=images, annotations=annotations,
                categories=[person_category()]), detections


def _progress_bar(num, split):
    print(f'rendering {num} synthetic COCO {split} images')
    return ProgressBar(num)


def _write_json(path, data):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)


def write_coco_split(out_dir, num_train, num_val, image_size=IMAGE_SIZE, seed=0,
                     progress=True):
    """Write a synthetic stand-in of COCO person keypoints in MMPose's layout.

    Writes under out_dir: ``train2017/`` and ``val2017/`` (``NNNNNNNNNNNN.jpg``, image
    ids from 1, ``image_size`` (W, H), one to three people each),
    ``annotations/person_keypoints_{train,val}2017.json`` (annotation ids from 1) and
    ``person_detection_results/val2017_detections.json``. Train and val use
    independent random streams derived from ``seed``.

    Args:
        out_dir (str): the data root to write.
        num_train, num_val (int): number of train / val images (not people).
        image_size ((W, H)): image size in px.
        seed (int): random seed.
        progress (bool): show a progress bar.

    Returns:
        dict: 'train_json', 'val_json', 'val_detections' (paths), 'num_train_people',
        'num_val_people' (annotations with at least one labelled keypoint).
    """
    written = {}
    for split_id, (split, num) in enumerate((('train', num_train), ('val', num_val))):
        rng = np.random.default_rng([seed, split_id, 17])
        data, detections = _write_split(out_dir, split, num, rng, image_size, progress)
        path = osp.join(out_dir, 'annotations', f'person_keypoints_{split}2017.json')
        _write_json(path, data)
        written[f'{split}_json'] = path
        written[f'num_{split}_people'] = sum(a['num_keypoints'] > 0
                                             for a in data['annotations'])
        if split == 'val':
            written['val_detections'] = osp.join(out_dir, 'person_detection_results',
                                                 'val2017_detections.json')
            _write_json(written['val_detections'], detections)
    return written
