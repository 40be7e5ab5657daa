"""What the annotation readers produce, and the keypoint-set decisions of a conversion.

The readers (``labelme.py``, ``cvat.py``) turn a tool's export into an
``AnnotationSet``: images (file name relative to the image folder, size) with their
people, each a dict of named points and an optional drawn box. Every point and box
remembers where it came from (file, record, shape index), so every later check can
name it. This module then decides, from the set and the user's options:

- the keypoint names and their order (``keypoint_order``): the user's list if given,
  else the annotation tool's own order (CVAT's skeleton), else the order in which the
  names first appear when the images are read in sorted file-name order (stable:
  the same files always give the same order, whatever the file system lists first);
- the skeleton (``check_skeleton``): the user's edges if given, else the tool's
  (CVAT's skeleton), else none;
- the left/right flip pairs (``propose_flip_pairs``, ``check_flip_pairs``): the
  user's pairs if given, else pairs proposed from the names;
- the per-keypoint OKS sigmas (``resolve_sigmas``): the user's values if given, else
  ``DEFAULT_SIGMA`` for every keypoint, flagged as a default.

Errors: ``AnnotationFormatError`` for a bad annotation file (file, record, field and
what was expected are named), ``ConversionOptionError`` for a bad option (the option
is named); both are ``ConversionError`` (a ``ValueError``).
"""
import json
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from hpekit.datasets.metainfo import mirror_name

# OKS sigma of a keypoint whose annotation spread is unknown. 0.05 lies between
# COCO's face points (0.025-0.035) and its limb joints (0.062-0.107): a middling
# tolerance that neither ignores a point nor makes it impossible to score. Measure
# your own (COCO's definition: the standard deviation of several annotators' clicks
# divided by the object scale sqrt(area)) and pass them with --sigmas when you can.
DEFAULT_SIGMA = 0.05


class ConversionError(ValueError):
    """An annotation export cannot be converted (base of the two errors below)."""


class AnnotationFormatError(ConversionError):
    """A malformed annotation file: the message names the file, the record (image,
    shape index), the field and what was expected."""


class ConversionOptionError(ConversionError):
    """A bad conversion option (keypoints, skeleton, flip pairs, sigmas, split, output
    folder): the message names the option and what was expected."""


@dataclass
class Point:
    """One labelled keypoint: image px ``x``, ``y`` (as the tool wrote them), COCO's
    visibility ``v`` (2 visible, 1 labelled but occluded) and ``where`` it was read
    (file and record, for messages)."""
    x: float
    y: float
    v: int
    where: str


@dataclass
class Person:
    """One annotated object (a person, an animal, ...): ``points`` name → Point (only
    labelled points; a point outside the image is absent), ``box`` as drawn (x1, y1,
    x2, y2 px, x1 <= x2, y1 <= y2) or None, ``where``: which one of its image it is
    (e.g. 'group_id 3'; its points and box name the file)."""
    where: str
    points: Dict[str, Point] = field(default_factory=dict)
    box: Optional[Tuple[float, float, float, float]] = None

    def add_point(self, name: str, point: Point) -> None:
        """Add a point; a name given twice for this person is an AnnotationFormatError."""
        if name in self.points:
            raise AnnotationFormatError(
                f'{point.where}: field label: keypoint {name!r} is given twice for '
                f'{self.where} (first at {self.points[name].where}); expected at most '
                'one point per keypoint and person')
        self.points[name] = point


@dataclass
class ImageRecord:
    """One annotated image: ``file_name`` relative to the image folder, size in px,
    its people, ``where`` its annotation was read."""
    file_name: str
    width: int
    height: int
    where: str
    people: List[Person] = field(default_factory=list)


@dataclass
class AnnotationSet:
    """All images of one export, as read.

    Attributes:
        images: the annotated images, in sorted file-name order.
        source: the export (a folder or file), for messages.
        image_root: the folder the images' ``file_name`` is relative to.
        tool: 'labelme' or 'cvat'.
        keypoint_names: the tool's own keypoint order (CVAT's skeleton), or None.
        skeleton: the tool's own edges as name pairs (CVAT's skeleton), or [].
        category: the object category name (CVAT's skeleton label), or None.
        ignored_shapes: shape type → count of shapes that are neither keypoints nor
            boxes (polygons, lines, ...), which a keypoint conversion skips.
    """
    images: List[ImageRecord]
    source: str
    image_root: str
    tool: str
    keypoint_names: Optional[List[str]] = None
    skeleton: List[Tuple[str, str]] = field(default_factory=list)
    category: Optional[str] = None
    ignored_shapes: Dict[str, int] = field(default_factory=dict)


def check_label(label: object, where: str) -> str:
    """A keypoint label as a non-empty string, or an AnnotationFormatError."""
    if not isinstance(label, str) or not label.strip():
        raise AnnotationFormatError(f'{where}: field label: expected the keypoint name, '
                                    f'found {label!r} (a point with no name)')
    return label


def finite_number(value: object, where: str, field_name: str) -> float:
    """``value`` (a number or numeric text) as a finite float, or an AnnotationFormatError."""
    try:
        number = float(value) if isinstance(value, (int, float, str)) and \
            not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise AnnotationFormatError(f'{where}: field {field_name}: expected a finite '
                                    f'number, found {value!r:.80}')
    return number


def safe_relative_name(name: str, where: str, field_name: str) -> str:
    """An image path relative to the image folder ('/' separated, no '..', not
    absolute), or an AnnotationFormatError."""
    norm = osp.normpath(name.replace('\\', '/')).replace(osp.sep, '/')
    if not name or osp.isabs(norm) or norm == '..' or norm.startswith('../') or \
            osp.splitdrive(norm)[0]:
        raise AnnotationFormatError(f'{where}: field {field_name}: {name!r} is not inside '
                                    'the image folder (expected a relative path without '
                                    "'..')")
    return norm


# ------------------------------------------------------------------ keypoint order
def keypoint_order(annotations: AnnotationSet,
                   keypoints: Optional[Sequence[str]] = None) -> List[str]:
    """The keypoint names in id order, every labelled point checked to be one of them.

    Rule: ``keypoints`` if given (then every label must be in it); else the tool's
    own order (CVAT's skeleton: its sub-labels as listed in the export); else the
    order in which names first appear, reading images in sorted file-name order and
    each image's shapes in file order.

    Raises:
        ConversionOptionError: ``keypoints`` repeats or has an empty name.
        AnnotationFormatError: a point's label is not one of the names (the point's
            file and record are named).
    """
    if keypoints is not None:
        names = check_name_list(keypoints, '--keypoints')
    elif annotations.keypoint_names:
        names = list(annotations.keypoint_names)
    else:
        names = []
        for point_name, _ in _all_points(annotations):
            if point_name not in names:
                names.append(point_name)
    known = set(names)
    for point_name, point in _all_points(annotations):
        if point_name not in known:
            origin = '--keypoints' if keypoints is not None else \
                f'the keypoints of {annotations.source}'
            raise AnnotationFormatError(
                f'{point.where}: field label: unknown keypoint {point_name!r}; expected '
                f'one of {names} ({origin})')
    return names


def _all_points(annotations):
    for image in annotations.images:
        for person in image.people:
            yield from person.points.items()


def check_name_list(names: Sequence[str], option: str) -> List[str]:
    """``names`` as a list, checked: non-empty strings, none twice, at least one."""
    names = list(names)
    if not names:
        raise ConversionOptionError(f'{option}: expected at least one keypoint name')
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConversionOptionError(f'{option}: expected non-empty keypoint names, '
                                        f'found {name!r} in {names}')
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConversionOptionError(f'{option}: {twice} appear more than once in {names}')
    return names


# ------------------------------------------------------------------ name pairs
PairSpec = Union[str, Sequence[str]]


def parse_name_pairs(pairs: Union[str, Sequence[PairSpec]], names: Sequence[str],
                     option: str) -> List[Tuple[str, str]]:
    """Name pairs of a skeleton or flip-pair option, each name checked to be a keypoint.

    Args:
        pairs: 'a-b,c-d' text, or a sequence of 'a-b' texts or (a, b) pairs. A name
            may itself hold '-': the item is split at the '-' that leaves two
            keypoint names.
        names: the K keypoint names.
        option: the option's name, for messages.

    Raises:
        ConversionOptionError: an item that is not two keypoint names.
    """
    items = pairs.split(',') if isinstance(pairs, str) else list(pairs)
    out = []
    for item in items:
        if isinstance(item, str):
            item = _split_pair(item.strip(), names, option)
        if len(item) != 2:
            raise ConversionOptionError(f'{option}: expected pairs NAME-NAME, found {item!r}')
        for name in item:
            if name not in names:
                raise ConversionOptionError(
                    f'{option}: {item[0]}-{item[1]} names {name!r}, which is not one of '
                    f'the {len(names)} keypoints {list(names)}')
        out.append((item[0], item[1]))
    return out


def _split_pair(text, names, option):
    cuts = [i for i, ch in enumerate(text) if ch == '-']
    if not cuts:
        raise ConversionOptionError(f'{option}: expected NAME-NAME, found {text!r}')
    known = [(text[:i], text[i + 1:]) for i in cuts
             if text[:i] in names and text[i + 1:] in names]
    if len(known) == 1:
        return known[0]
    if len(known) > 1:
        raise ConversionOptionError(f'{option}: {text!r} splits into keypoint names in '
                                    f'more than one way: {known}')
    if len(cuts) == 1:
        return text[:cuts[0]], text[cuts[0] + 1:]
    raise ConversionOptionError(f'{option}: {text!r} is not two keypoint names joined by '
                                f"'-'; keypoints: {list(names)}")


def check_skeleton(edges: Sequence[Tuple[str, str]], names: Sequence[str], source: str,
                   error: type = ConversionOptionError) -> List[Tuple[str, str]]:
    """The skeleton edges, checked: both ends keypoints, no self-loop, no edge twice.

    Raises ``error`` (ConversionOptionError for an option, AnnotationFormatError for
    a skeleton read from a file), naming ``source`` and the edge.
    """
    seen = set()
    for n, (a, b) in enumerate(edges):
        for name in (a, b):
            if name not in names:
                raise error(
                    f'{source}: skeleton edge {n} ({a}-{b}): keypoint {name!r} is not one '
                    f'of the {len(names)} keypoints {list(names)}')
        if a == b or frozenset((a, b)) in seen:
            raise error(f'{source}: skeleton edge {n} ({a}-{b}): expected two different '
                        'keypoints, each edge once')
        seen.add(frozenset((a, b)))
    return [tuple(edge) for edge in edges]


# ------------------------------------------------------------------ flip pairs
def side_of(name: str) -> Optional[str]:
    """'left' or 'right' when ``name`` states a side by a naming convention
    (``hpekit.datasets.metainfo.mirror_name``: left_*/right_*, l_*/r_*, *_l/*_r,
    LShoulder/RShoulder, Eye_Left, ...), else None."""
    mirror = mirror_name(name)
    if mirror is None:
        return None
    first = next(i for i, (a, b) in enumerate(zip(name, mirror)) if a != b)
    return 'left' if name[first] in 'lL' else 'right'


def propose_flip_pairs(names: Sequence[str]) -> Tuple[List[Tuple[str, str]], List[str]]:
    """Left/right pairs proposed from the names.

    A name with a side word (left_ear, LShoulder, paw_l, ...) is paired with the name
    that has the opposite side word in the same spelling (right_ear, RShoulder,
    paw_r), when that name exists: the convention ``parse_pose_metainfo`` checks flip
    maps against (``mirror_name``). These are guesses from names: confirm them.

    Returns:
        (pairs as (left name, right name) in keypoint order, names that carry a side
        word but have no mirror among ``names``).
    """
    known = set(names)
    mirror = {name: mirror_name(name) for name in names if mirror_name(name) in known}
    pairs, unpaired = [], []
    for name in names:
        other = mirror.get(name)
        if other is not None and mirror.get(other) == name:
            if side_of(name) == 'left' and (name, other) not in pairs:
                pairs.append((name, other))
            elif side_of(name) == 'right' and (other, name) not in pairs:
                pairs.append((other, name))
        elif side_of(name) is not None:
            unpaired.append(name)
    return pairs, unpaired


def check_flip_pairs(pairs: Sequence[Tuple[str, str]], names: Sequence[str],
                     option: str = '--flip-pairs') -> List[Tuple[str, str]]:
    """Flip pairs checked: two different keypoints each, no keypoint in two pairs.

    Raises:
        ConversionOptionError: naming the option, the pair and the keypoint.
    """
    used = {}
    for a, b in pairs:
        for name in (a, b):
            if name not in names:
                raise ConversionOptionError(f'{option}: {a}-{b}: {name!r} is not one of the '
                                            f'keypoints {list(names)}')
        if a == b:
            raise ConversionOptionError(f'{option}: {a}-{b}: a keypoint cannot be its own '
                                        'mirror (leave an axis keypoint out)')
        for name in (a, b):
            if name in used:
                raise ConversionOptionError(
                    f'{option}: {name!r} is named twice ({used[name]} and {a}-{b}); each '
                    'keypoint has at most one mirror')
            used[name] = f'{a}-{b}'
    return [tuple(p) for p in pairs]


# ------------------------------------------------------------------ sigmas
SigmaSpec = Union[None, float, str, Sequence[float], Mapping[str, float]]


def resolve_sigmas(sigmas: SigmaSpec, names: Sequence[str]) -> Tuple[List[float], bool]:
    """Per-keypoint OKS sigmas and whether they are the default.

    Args:
        sigmas: None (``DEFAULT_SIGMA`` for every keypoint); one number (for every
            keypoint); K numbers in keypoint order; a dict name → number covering
            every keypoint; or text: a path to a JSON file holding one of those, a
            comma list of numbers, or one number.
        names: the K keypoint names.

    Returns:
        (K floats > 0, True when the default was used).

    Raises:
        ConversionOptionError: wrong count, a missing or unknown name, a value that is
            not a positive finite number, an unreadable file.
    """
    if sigmas is None:
        return [DEFAULT_SIGMA] * len(names), True
    if isinstance(sigmas, str):
        sigmas = _sigmas_from_text(sigmas)
    if isinstance(sigmas, Mapping):
        missing = [n for n in names if n not in sigmas]
        unknown = [n for n in sigmas if n not in names]
        if missing or unknown:
            raise ConversionOptionError(f'--sigmas: expected one value per keypoint; '
                                        f'missing {missing}, unknown {unknown}')
        sigmas = [sigmas[n] for n in names]
    elif isinstance(sigmas, (int, float)) and not isinstance(sigmas, bool):
        sigmas = [sigmas] * len(names)
    values = list(sigmas)
    if len(values) != len(names):
        raise ConversionOptionError(f'--sigmas: expected {len(names)} values (one per '
                                    f'keypoint {list(names)}), found {len(values)}')
    for name, value in zip(names, values):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or value <= 0:
            raise ConversionOptionError(f'--sigmas: keypoint {name!r}: expected a positive '
                                        f'number, found {value!r}')
    return [float(v) for v in values], False


def _sigmas_from_text(text):
    if osp.isfile(text):
        try:
            with open(text, encoding='utf-8') as f:
                return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConversionOptionError(f'--sigmas: {text}: not valid JSON (expected a '
                                        f'list of numbers or a name → number dict): {err}')
    try:
        values = [float(v) for v in text.split(',')]
    except ValueError:
        raise ConversionOptionError(f'--sigmas: {text!r} is neither a JSON file nor '
                                    'numbers separated by commas') from None
    return values[0] if len(values) == 1 else values
