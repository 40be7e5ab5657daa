"""Read a folder of labelme JSON files (one per image) as keypoint annotations.

labelme's format (one ``<image>.json`` beside or near each image): a dict with
``imagePath`` (the image, relative to the JSON file's folder), ``imageWidth``,
``imageHeight`` (px), ``imageData`` (base64 image or null; not used here) and
``shapes``, a list of dicts with ``label``, ``points`` (a list of [x, y] px),
``shape_type`` and ``group_id`` (an int or null). For keypoints:

- ``shape_type='point'``: one keypoint; ``label`` = the keypoint name, ``group_id`` =
  the person (or animal) it belongs to; points without a ``group_id`` form one
  person of their own;
- ``shape_type='rectangle'`` (optional): the box of the person with the same
  ``group_id``, ``points`` = two opposite corners, any label;
- other shapes (polygons, lines, circles, ...) are skipped and counted.

labelme has no visibility flag, so every point is visible (COCO's v = 2); a keypoint
that was not clicked is not labelled (v = 0). Coordinates are copied unchanged.
Only the JSON files directly inside the folder are read, in sorted name order; the
images must lie inside the folder (``imagePath`` may name a subfolder).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from hpekit.datasets.converters.common import (AnnotationFormatError, AnnotationSet,
                                               ImageRecord, Person, Point, check_label,
                                               finite_number, safe_relative_name)


def read_labelme_dir(folder: str) -> AnnotationSet:
    """All labelme JSON files directly inside ``folder``, as an AnnotationSet.

    Images are referenced, not copied: each ``ImageRecord.file_name`` is the image
    path relative to ``folder``.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
        AnnotationFormatError: no JSON file; an invalid or truncated JSON file; a
            missing or malformed field (file, shape index and field named); an image
            that is missing or outside ``folder``; two files for one image; a point
            without a name or given twice for one person; two rectangles for one person.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'labelme folder not found: {folder}')
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith('.json') and osp.isfile(osp.join(folder, n)))
    if not names:
        raise AnnotationFormatError(f'{folder}: no labelme JSON files (*.json) in this '
                                    'folder; expected one per annotated image')
    ignored: Dict[str, int] = {}
    images, seen = [], {}
    for name in names:
        image = read_labelme_file(osp.join(folder, name), folder, ignored)
        if image.file_name in seen:
            raise AnnotationFormatError(f'{image.where}: field imagePath: '
                                        f'{image.file_name!r} is also annotated by '
                                        f'{seen[image.file_name]}; expected one JSON per image')
        seen[image.file_name] = image.where
        images.append(image)
    images.sort(key=lambda im: im.file_name)
    return AnnotationSet(images=images, source=folder, image_root=folder, tool='labelme',
                         ignored_shapes=ignored)


def _load_json(path):
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AnnotationFormatError(f'{path}: not valid JSON (a truncated or damaged '
                                    f'file?): {err}') from None
    if not isinstance(data, dict) or not isinstance(data.get('shapes'), list):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise AnnotationFormatError(f"{path}: field shapes: expected a labelme dict with "
                                    f"a 'shapes' list, found {found}")
    return data


def _size(data, path, field_name):
    value = data.get(field_name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise AnnotationFormatError(f'{path}: field {field_name}: expected the image size '
                                    f'in px (a positive integer), found {value!r:.80}')
    return value


def _image_file(data, path, image_root):
    image_path = data.get('imagePath')
    if not isinstance(image_path, str) or not image_path:
        raise AnnotationFormatError(f'{path}: field imagePath: expected the image file '
                                    f'name, found {image_path!r:.80}')
    full = osp.normpath(osp.join(osp.dirname(path), image_path.replace('\\', '/')))
    name = safe_relative_name(osp.relpath(full, image_root), path, 'imagePath')
    if not osp.isfile(full):
        raise AnnotationFormatError(f'{path}: field imagePath: image {full} not found')
    return name


def _points(shape, where, count):
    points = shape.get('points')
    if not isinstance(points, list) or len(points) != count or \
            any(not isinstance(p, list) or len(p) != 2 for p in points):
        raise AnnotationFormatError(f'{where}: field points: expected {count} [x, y] '
                                    f'pair{"s" if count > 1 else ""}, found {points!r:.80}')
    return [(finite_number(x, where, 'points'), finite_number(y, where, 'points'))
            for x, y in points]


def _group(shape, where):
    group = shape.get('group_id')
    if group is not None and (isinstance(group, bool) or not isinstance(group, int)):
        raise AnnotationFormatError(f'{where}: field group_id: expected an integer (the '
                                    f'person) or null, found {group!r:.80}')
    return group


def read_labelme_file(path: str, image_root: str,
                      ignored: Optional[Dict[str, int]] = None) -> ImageRecord:
    """One labelme JSON file as an ImageRecord (people in order of first appearance).

    Args:
        path: the JSON file.
        image_root: the folder the image path is made relative to.
        ignored: counts of skipped shape types, updated in place.

    Raises:
        AnnotationFormatError: as ``read_labelme_dir``.
    """
    data = _load_json(path)
    image = ImageRecord(file_name=_image_file(data, path, image_root),
                        width=_size(data, path, 'imageWidth'),
                        height=_size(data, path, 'imageHeight'), where=path)
    people: Dict[Optional[int], Person] = {}
    for i, shape in enumerate(data['shapes']):
        where = f'{path}: shapes[{i}]'
        if not isinstance(shape, dict):
            raise AnnotationFormatError(f'{where}: expected a shape dict, found '
                                        f'{type(shape).__name__}')
        kind = shape.get('shape_type', 'polygon')   # labelme's default shape type
        if kind not in ('point', 'rectangle'):
            if ignored is not None:
                ignored[str(kind)] = ignored.get(str(kind), 0) + 1
            continue
        group = _group(shape, where)
        person = people.get(group)
        if person is None:
            label = 'the shapes without group_id' if group is None else f'group_id {group}'
            person = people[group] = Person(where=label)
        if kind == 'point':
            label = check_label(shape.get('label'), where)
            (x, y), = _points(shape, where, 1)
            person.add_point(label, Point(x, y, 2, where))
        else:
            _add_rectangle(person, _points(shape, where, 2), where)
    image.people = list(people.values())
    return image


def _add_rectangle(person: Person, corners: List[tuple], where: str) -> None:
    if person.box is not None:
        raise AnnotationFormatError(f'{where}: field shape_type: a second rectangle for '
                                    f'{person.where}; expected at most one box per person')
    (x1, y1), (x2, y2) = corners
    person.box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
