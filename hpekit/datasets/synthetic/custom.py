"""A learnable synthetic custom-keypoint dataset: top-view lab animals, written as an
annotation tool would export them (labelme JSON or CVAT for images 1.1 XML).

This is the stand-in for "your own keypoints": a non-human figure with 9 keypoints
and left/right pairs (``ANIMAL_KEYPOINTS``: nose, ears, neck, fore- and hind paws,
tail base), seen from above, 1-2 animals per image, each with a random heading,
size, head turn, gait and tail curl. Visual cues a small CNN learns quickly: a
pale body ellipse and head, a pink nose tip, dark round ears, pink paws at the ends
of short legs, a long thin tail starting at the tail base. The left and right parts
look the same: which one is left is told only by the geometry relative to head and
tail, as in real data (a flip must swap the labels).

Writers:

- ``write_labelme_dataset(out)``: ``out/img_NNNNNN.jpg`` + ``out/img_NNNNNN.json``
  (labelme 5 JSON: a ``point`` shape per labelled keypoint, ``label`` = keypoint
  name, ``group_id`` = animal; about half the animals also get a ``rectangle``; a
  lone animal sometimes has no ``group_id``). labelme has no visibility flag: every
  keypoint inside the image is written (COCO v = 2), one outside is left out (v = 0).
- ``write_cvat_dataset(out)``: ``out/images/img_NNNNNN.jpg`` + ``out/annotations.xml``
  (CVAT for images 1.1: a ``skeleton`` label with the 9 points as sub-labels and the
  edges ``ANIMAL_SKELETON`` in its svg; a ``<skeleton>`` per animal whose points are
  ``occluded="1"`` behind an occluding block (v = 1) and ``outside="1"`` outside the
  image (v = 0); about half the animals also get a ``<box>`` with the skeleton's
  ``group_id``).

The images of a seed are the same in both formats. Keypoint coordinates are 0-based
px rounded to 0.01 px, written exactly as returned in the writers' truth records.

Public API: ``ANIMAL_KEYPOINTS``, ``ANIMAL_SKELETON``, ``render_custom_image``,
``write_labelme_dataset``, ``write_cvat_dataset``.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from hpekit.datasets.synthetic import mpii as body
from hpekit.fileio import atomic_open, write_json_atomic

# The renderer's animal model (its keypoint names are the dataset's own).
ANIMAL_KEYPOINTS = ('nose', 'left_ear', 'right_ear', 'neck', 'left_forepaw',
                    'right_forepaw', 'left_hindpaw', 'right_hindpaw', 'tail_base')
NOSE, L_EAR, R_EAR, NECK, L_FORE, R_FORE, L_HIND, R_HIND, TAIL = range(9)
ANIMAL_SKELETON = (('nose', 'left_ear'), ('nose', 'right_ear'), ('left_ear', 'neck'),
                   ('right_ear', 'neck'), ('neck', 'left_forepaw'),
                   ('neck', 'right_forepaw'), ('neck', 'tail_base'),
                   ('tail_base', 'left_hindpaw'), ('tail_base', 'right_hindpaw'))
LABEL = 'animal'                      # the object label (labelme rectangles, CVAT)

IMAGE_SIZE = (320, 240)               # (width, height) px
JPEG_QUALITY = 92
LENGTH_RANGE = (60.0, 115.0)          # nose to tail base, px
ANIMALS_PER_IMAGE = ((1, 0.6), (2, 0.4))
HEAD_TURN = 35.0                      # max head yaw against the body axis, degrees
OCCLUDER_PROB = 0.3                   # chance an animal is partly hidden by a block
TRUNCATE_PROB = 0.15                  # chance an animal is placed partly off the image
RECTANGLE_PROB = 0.5                  # chance an animal's box is drawn in the export
FUR_COLOURS = ((235, 232, 225), (175, 175, 180), (160, 120, 85), (205, 175, 125))
PINK = (240, 165, 170)
NOSE_COLOUR = (225, 95, 115)
EAR_COLOUR = (60, 45, 45)


# ------------------------------------------------------------------ geometry
def _unit(angle):
    return np.array([np.cos(angle), np.sin(angle)])


def _left_of(u):
    """The animal's left seen from above in image px (x right, y down): u turned by
    -90 degrees (an animal facing up, (0, -1), has its left at (-1, 0))."""
    return np.array([u[1], -u[0]])


def sample_animal(rng: np.random.Generator, centre: Sequence[float], length: float,
                  heading: float) -> Tuple[np.ndarray, np.ndarray]:
    """One animal's keypoints and tail.

    Args:
        rng: source of randomness (head turn, gait, paw jitter, tail curl).
        centre: (x, y) px of the middle of the back.
        length: nose-to-tail-base length, px.
        heading: direction from tail to neck, radians in image px.

    Returns:
        keypoints float64 [9, 2] (``ANIMAL_KEYPOINTS`` order, px) and the tail
        polyline float64 [6, 2] px starting at the tail base.
    """
    c, L = np.asarray(centre, np.float64), float(length)
    u = _unit(heading)
    uh = _unit(heading + np.deg2rad(rng.uniform(-HEAD_TURN, HEAD_TURN)))
    left, left_h = _left_of(u), _left_of(uh)
    neck, tail = c + 0.15 * L * u, c - 0.35 * L * u
    gait = rng.uniform(-0.09, 0.09)
    kpts = np.empty((9, 2))
    kpts[NOSE], kpts[NECK], kpts[TAIL] = neck + 0.36 * L * uh, neck, tail
    kpts[L_EAR], kpts[R_EAR] = (neck + L * (0.12 * uh + s * 0.10 * left_h) for s in (1, -1))
    kpts[L_FORE] = neck + L * ((-0.05 + gait) * u + 0.19 * left)
    kpts[R_FORE] = neck + L * ((-0.05 - gait) * u - 0.19 * left)
    kpts[L_HIND] = tail + L * ((0.10 - gait) * u + 0.20 * left)
    kpts[R_HIND] = tail + L * ((0.10 + gait) * u - 0.20 * left)
    for i in (L_FORE, R_FORE, L_HIND, R_HIND):
        kpts[i] += rng.normal(0, 0.015 * L, 2)
    angle, curl = heading + np.pi, rng.uniform(-0.5, 0.5)
    points = [tail]
    for _ in range(5):
        angle += curl + rng.normal(0, 0.15)
        points.append(points[-1] + 0.14 * L * _unit(angle))
    return kpts, np.array(points)


def _extent(kpts, tail, length):
    """(low [2], high [2]) px of everything drawn for one animal."""
    pts = np.concatenate([kpts, tail])
    pad = 0.08 * length
    return pts.min(axis=0) - pad, pts.max(axis=0) + pad


# ------------------------------------------------------------------ drawing
def _ellipse(img, centre, half_length, half_width, u, colour):
    angle = float(np.degrees(np.arctan2(u[1], u[0])))
    scale = 1 << body._SHIFT
    axes = (int(round(half_length * scale)), int(round(half_width * scale)))
    cv2.ellipse(img, body._pt(centre), axes, angle, 0, 360, colour, -1, cv2.LINE_AA,
                body._SHIFT)


def draw_animal(img: np.ndarray, kpts: np.ndarray, tail: np.ndarray, length: float,
                rng: np.random.Generator) -> None:
    """Draw one animal (in place) on img uint8 [H, W, 3] RGB: tail, legs and paws,
    back, head, ears, nose."""
    L = float(length)
    fur = body._jitter(rng, FUR_COLOURS[rng.integers(len(FUR_COLOURS))], 12)
    dark = tuple(0.75 * c for c in fur)
    pink = body._jitter(rng, PINK, 10)
    for a, b, w in zip(tail[:-1], tail[1:], np.linspace(0.045, 0.02, len(tail) - 1)):
        body._stroke(img, a, b, w * L, tuple(0.9 * c for c in pink))
    neck, tail_base = kpts[NECK], kpts[TAIL]
    u = (neck - tail_base) / max(np.linalg.norm(neck - tail_base), 1e-6)
    for paw, root in ((L_FORE, neck), (R_FORE, neck), (L_HIND, tail_base),
                      (R_HIND, tail_base)):
        start = root + 0.12 * L * u if paw in (L_HIND, R_HIND) else root - 0.05 * L * u
        body._stroke(img, start, kpts[paw], 0.06 * L, dark)
        body._disc(img, kpts[paw], (0.04 if paw in (L_FORE, R_FORE) else 0.05) * L, pink)
    _ellipse(img, (neck + tail_base) / 2, 0.33 * L, 0.15 * L, u, fur)
    uh = (kpts[NOSE] - neck) / max(np.linalg.norm(kpts[NOSE] - neck), 1e-6)
    _ellipse(img, neck + 0.17 * L * uh, 0.20 * L, 0.105 * L, uh, fur)
    for ear in (L_EAR, R_EAR):
        body._disc(img, kpts[ear], 0.065 * L, EAR_COLOUR)
        body._disc(img, kpts[ear], 0.035 * L, tuple(0.7 * c for c in pink))
    body._disc(img, kpts[NOSE], 0.04 * L, NOSE_COLOUR)


def _occlude(img, kpts, length, rng):
    """Maybe hide part of an animal behind a muted block; returns bool [9] hidden."""
    hidden = np.zeros(len(kpts), bool)
    if rng.random() >= OCCLUDER_PROB:
        return hidden
    target = kpts[rng.integers(len(kpts))]
    half = rng.uniform(0.08, 0.16, 2) * length
    low = target - half + rng.uniform(-0.5, 0.5, 2) * half
    high = target + half
    cv2.rectangle(img, body._pt(low), body._pt(high), body._muted(rng), -1, cv2.LINE_AA,
                  body._SHIFT)
    return np.all((kpts >= low) & (kpts <= high), axis=1)


def make_background(image_size: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A cage-floor-like background uint8 [H, W, 3] RGB: a mid-dark tone with soft
    blotches, fine bedding texture and 3-8 small muted clutter shapes."""
    w, h = image_size
    base = rng.uniform(45, 115) + rng.uniform(-12, 12, 3)
    blobs = rng.uniform(-25, 25, (4, 6, 1)) + rng.uniform(-8, 8, (4, 6, 3))
    img = base + cv2.resize(blobs.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.uniform(-14, 14, (h // 3, w // 3)).astype(np.float32)
    img = img + cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(3, 9)):
        p = rng.uniform([0, 0], [w, h])
        if rng.random() < 0.5:
            q = p + rng.uniform(-60, 60, 2)
            body._stroke(img, p, q, rng.uniform(2, 6), body._muted(rng))
        else:
            body._disc(img, p, rng.uniform(4, 18), body._muted(rng))
    return img


def _place(rng, length, taken, image_size):
    """(centre, heading) of a new animal not overlapping ``taken`` discs, or None.
    With ``TRUNCATE_PROB`` the centre lies near an image edge, so that part of the
    animal is cut off."""
    size = np.array(image_size, np.float64)
    radius = 0.6 * length
    for _ in range(50):
        margin = np.minimum(radius, size / 2 - 1)
        centre = rng.uniform(margin, size - margin)
        if rng.random() < TRUNCATE_PROB:
            axis = rng.integers(2)
            offset = rng.uniform(-0.1, 0.25) * length
            centre[axis] = -offset if rng.random() < 0.5 else size[axis] + offset
        if all(np.linalg.norm(centre - c) > radius + r for c, r in taken):
            taken.append((centre, radius))
            return centre, rng.uniform(0, 2 * np.pi)
    return None


def render_custom_image(rng: np.random.Generator,
                        image_size: Tuple[int, int] = IMAGE_SIZE
                        ) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
    """Render one image with 1-2 animals.

    Returns:
        image uint8 [H, W, 3] RGB and a list of animals, each a dict with 'keypoints'
        float64 [9, 2] (0-based px, rounded to 0.01, ``ANIMAL_KEYPOINTS`` order),
        'hidden' bool [9] (behind an occluding block), 'inside' bool [9] (inside the
        image: 0 <= x <= W-1, 0 <= y <= H-1) and 'box' float64 [4] (x1, y1, x2, y2,
        the drawn animal's extent clipped to [0, W] x [0, H], rounded to 0.01).
    """
    w, h = image_size
    img = make_background(image_size, rng)
    counts, probs = zip(*ANIMALS_PER_IMAGE)
    animals, taken = [], []
    for _ in range(rng.choice(counts, p=probs)):
        length = float(np.exp(rng.uniform(*np.log(LENGTH_RANGE))))
        placed = _place(rng, length, taken, image_size)
        if placed is None:
            continue
        kpts, tail = sample_animal(rng, placed[0], length, placed[1])
        kpts = np.round(kpts, 2)
        draw_animal(img, kpts, tail, length, rng)
        hidden = _occlude(img, kpts, length, rng)
        low, high = _extent(kpts, tail, length)
        box = np.round(np.concatenate([np.clip(low, 0, [w, h]), np.clip(high, 0, [w, h])]), 2)
        inside = np.all((kpts >= 0) & (kpts <= [w - 1, h - 1]), axis=1)
        animals.append(dict(keypoints=kpts, hidden=hidden, inside=inside, box=box))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 0.9))
    noise = rng.normal(0.0, rng.uniform(2, 5), img.shape[:2] + (1,))
    return np.clip(img + noise, 0, 255).astype(np.uint8), animals


# ------------------------------------------------------------------ writing
def _write_image(path, img):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f'could not write {path}')


def _images(num, seed, image_size, progress, what):
    """Yield (index from 1, image, animals, rng for the export's own choices)."""
    render_rng = np.random.default_rng([seed, 29])
    export_rng = np.random.default_rng([seed, 30])
    bar = None
    if progress:
        print(f'rendering {num} synthetic animal images ({what})')
        bar = ProgressBar(num)
    for i in range(1, num + 1):
        img, animals = render_custom_image(render_rng, image_size)
        yield i, img, animals, export_rng
        if bar is not None:
            bar.update()
    if bar is not None:
        print()


def _truth_animal(animal, visibility, box, group_id):
    return dict(keypoints=animal['keypoints'].tolist(), visibility=list(visibility),
                box=None if box is None else [float(v) for v in box], group_id=group_id)


def _labelme_shapes(animal, group_id, rectangle, reverse):
    shapes = [dict(label=name, points=[[float(x), float(y)]], group_id=group_id,
                   description='', shape_type='point', flags={}, mask=None)
              for name, (x, y), inside in zip(ANIMAL_KEYPOINTS, animal['keypoints'],
                                               animal['inside']) if inside]
    if rectangle:
        x1, y1, x2, y2 = (float(v) for v in animal['box'])
        corners = [[x2, y2], [x1, y1]] if reverse else [[x1, y1], [x2, y2]]
        shapes.append(dict(label=LABEL, points=corners, group_id=group_id, description='',
                           shape_type='rectangle', flags={}, mask=None))
    return shapes


def write_labelme_dataset(out_dir: str, num: int, seed: int = 0,
                          image_size: Tuple[int, int] = IMAGE_SIZE,
                          progress: bool = True) -> Dict[str, Any]:
    """Write ``num`` images with labelme JSON files into ``out_dir`` (module doc).

    Returns:
        dict: 'folder' (``out_dir``), 'images': one truth record per image, dict(
        file_name, width, height, animals=[dict(keypoints (9, 2) px, visibility (9, )
        (COCO v: 2 written, 0 left out), box (x1, y1, x2, y2) of the written rectangle
        or None, group_id)]).
    """
    records = []
    for i, img, animals, rng in _images(num, seed, image_size, progress, 'labelme'):
        name = f'img_{i:06d}'
        _write_image(osp.join(out_dir, f'{name}.jpg'), img)
        shapes, truth = [], []
        lone_without_group = len(animals) == 1 and rng.random() < 0.5
        for k, animal in enumerate(animals):
            group_id = None if lone_without_group else k + 1
            rectangle = rng.random() < RECTANGLE_PROB
            shapes += _labelme_shapes(animal, group_id, rectangle, rng.random() < 0.3)
            truth.append(_truth_animal(animal, np.where(animal['inside'], 2, 0),
                                       animal['box'] if rectangle else None, group_id))
        write_json_atomic(osp.join(out_dir, f'{name}.json'), dict(
            version='5.4.1', flags={}, shapes=shapes, imagePath=f'{name}.jpg',
            imageData=None, imageHeight=image_size[1], imageWidth=image_size[0]))
        records.append(dict(file_name=f'{name}.jpg', width=image_size[0],
                            height=image_size[1], animals=truth))
    return dict(folder=out_dir, images=records)


def _skeleton_svg():
    """CVAT's skeleton template: a <circle> per keypoint and a <line> per edge (node
    ids 1..9), on a 100 x 100 canvas, as markup text."""
    kpts, _ = sample_animal(np.random.default_rng(0), (50, 55), 80, -np.pi / 2)
    node = {name: i + 1 for i, name in enumerate(ANIMAL_KEYPOINTS)}
    lines = [f'<line x1="{kpts[node[a] - 1][0]:.1f}" y1="{kpts[node[a] - 1][1]:.1f}" '
             f'x2="{kpts[node[b] - 1][0]:.1f}" y2="{kpts[node[b] - 1][1]:.1f}" '
             f'stroke="black" data-type="edge" data-node-from="{node[a]}" '
             f'stroke-width="0.5" data-node-to="{node[b]}"></line>'
             for a, b in ANIMAL_SKELETON]
    circles = [f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x:.1f}" cy="{y:.1f}" '
               f'stroke-width="0.1" data-type="element node" data-element-id="{i + 1}" '
               f'data-node-id="{i + 1}" data-label-name="{name}"></circle>'
               for i, (name, (x, y)) in enumerate(zip(ANIMAL_KEYPOINTS, kpts))]
    return ''.join(lines + circles)


def _cvat_meta(root, num):
    task = ET.SubElement(ET.SubElement(root, 'meta'), 'task')
    for tag, text in (('id', '1'), ('name', 'synthetic animals'), ('size', str(num)),
                      ('mode', 'annotation'), ('overlap', '0'), ('flipped', 'False')):
        ET.SubElement(task, tag).text = text
    labels = ET.SubElement(task, 'labels')
    entries = [(LABEL, '#e0b040', 'skeleton', None)] + \
        [(name, '#%02x%02x%02x' % (40 + 20 * i, 90, 200 - 15 * i), 'points', LABEL)
         for i, name in enumerate(ANIMAL_KEYPOINTS)]
    for name, colour, kind, parent in entries:
        label = ET.SubElement(labels, 'label')
        for tag, text in (('name', name), ('color', colour), ('type', kind)):
            ET.SubElement(label, tag).text = text
        ET.SubElement(label, 'attributes')
        if kind == 'skeleton':
            ET.SubElement(label, 'svg').text = _skeleton_svg()
        else:
            ET.SubElement(label, 'parent').text = parent


def _cvat_animal(image, animal, group_id, with_box):
    """Add one animal's <box> (maybe) and <skeleton>; returns its COCO visibility [9]."""
    if with_box:
        x1, y1, x2, y2 = (f'{v:.2f}' for v in animal['box'])
        ET.SubElement(image, 'box', label=LABEL, source='manual', occluded='0', xtl=x1,
                      ytl=y1, xbr=x2, ybr=y2, z_order='0', group_id=str(group_id))
    skeleton = ET.SubElement(image, 'skeleton', label=LABEL, source='manual', z_order='0',
                             group_id=str(group_id))
    visibility = []
    for name, (x, y), hidden, inside in zip(ANIMAL_KEYPOINTS, animal['keypoints'],
                                            animal['hidden'], animal['inside']):
        ET.SubElement(skeleton, 'points', label=name, source='manual',
                      outside='0' if inside else '1', occluded='1' if hidden else '0',
                      points=f'{x:.2f},{y:.2f}')
        visibility.append(0 if not inside else 1 if hidden else 2)
    return visibility


def write_cvat_dataset(out_dir: str, num: int, seed: int = 0,
                       image_size: Tuple[int, int] = IMAGE_SIZE,
                       progress: bool = True) -> Dict[str, Any]:
    """Write ``num`` images under ``out_dir/images/`` and ``out_dir/annotations.xml``
    (CVAT for images 1.1; module doc).

    Returns:
        dict: 'xml' (the XML path), 'images_dir', 'images': truth records as
        ``write_labelme_dataset`` (visibility: 2, 1 occluded, 0 outside; box of the
        written ``<box>`` or None).
    """
    root = ET.Element('annotations')
    ET.SubElement(root, 'version').text = '1.1'
    _cvat_meta(root, num)
    images_dir, records = osp.join(out_dir, 'images'), []
    for i, img, animals, rng in _images(num, seed, image_size, progress, 'CVAT'):
        name = f'img_{i:06d}.jpg'
        _write_image(osp.join(images_dir, name), img)
        image = ET.SubElement(root, 'image', id=str(i - 1), name=name,
                              width=str(image_size[0]), height=str(image_size[1]))
        truth = []
        for k, animal in enumerate(animals):
            with_box = rng.random() < RECTANGLE_PROB
            visibility = _cvat_animal(image, animal, k + 1, with_box)
            truth.append(_truth_animal(animal, visibility,
                                       animal['box'] if with_box else None, k + 1))
        records.append(dict(file_name=name, width=image_size[0], height=image_size[1],
                            animals=truth))
    xml_path = osp.join(out_dir, 'annotations.xml')
    ET.indent(root)
    with atomic_open(xml_path, 'wb') as f:
        ET.ElementTree(root).write(f, encoding='utf-8', xml_declaration=True)
    return dict(xml=xml_path, images_dir=images_dir, images=records)
