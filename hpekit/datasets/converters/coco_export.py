"""Write an AnnotationSet as COCO keypoints plus an MMPose metainfo file.

``convert_to_coco`` writes, all at once (into a hidden temporary folder beside
``out_dir`` that is renamed onto ``out_dir`` when everything is written, so a failed
conversion leaves no ``out_dir`` and no partial file)::

    out_dir/
      annotations/train.json   COCO keypoints: images, annotations, categories
      annotations/val.json
      metainfo.py              dataset_info = dict(...) (MMPose's metainfo format)

Images are referenced, not copied: ``file_name`` is relative to the annotation
set's image folder, which a config names as ``data_prefix=dict(img=...)``
(``ConversionSummary.config_lines`` prints it relative to ``out_dir``).

Rules (also in the printed summary):

- keypoints [x, y, v] × K in the metainfo's order: coordinates copied unchanged
  from the tool; v = 2 visible, 1 occluded (CVAT), 0 not labelled (x = y = 0);
  ``num_keypoints`` counts v > 0;
- ``bbox`` [x, y, w, h]: a drawn box exactly as drawn; else the labelled keypoints'
  extent (each side at least ``MIN_BOX_SIDE`` = 16 px) enlarged by ``box_margin`` ×
  its width (height) on each side and clipped to the image; ``area`` = w × h (no outline is annotated); ``iscrowd`` = 0,
  ``category_id`` = 1; a person with neither a labelled keypoint nor a box is skipped;
- the split is by image: the file names are sorted, shuffled by
  ``numpy.random.default_rng(seed)`` and the first round(val_ratio × N) go to val
  (at least one, and at least one train image, when N >= 2 and val_ratio > 0); the
  same images and seed always give the same split; image ids are 1..N in sorted
  file-name order, annotation ids 1..M;
- metainfo: keypoint colours left green, right orange, centre blue (so a flip is
  visible; a link takes the colour of the one side it touches, else blue), ``type``
  '' unless given, joint weights 1, skeleton and flip pairs as
  decided by ``common.py``; proposed flip pairs and default sigmas are marked by
  comments to confirm, and ``sigmas_default=True`` flags default sigmas (passed
  through by ``parse_pose_metainfo``).
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import numpy as np

from hpekit.datasets.converters.common import (DEFAULT_SIGMA, AnnotationFormatError,
                                               AnnotationSet, ConversionOptionError,
                                               PairSpec, Person, SigmaSpec,
                                               check_flip_pairs, check_skeleton,
                                               keypoint_order, parse_name_pairs,
                                               propose_flip_pairs, resolve_sigmas, side_of)
from hpekit.datasets.metainfo import MetainfoError, load_metainfo_file, parse_pose_metainfo

LEFT_COLOR = (0, 255, 0)          # MMPose's colours for a body's sides and centre
RIGHT_COLOR = (255, 128, 0)
CENTRE_COLOR = (51, 153, 255)
DEFAULT_BOX_MARGIN = 0.1          # derived boxes: + 10 % of the keypoints' extent per side
OUTPUT_NAMES = ('annotations', 'metainfo.py')
KEYPOINT_TYPES = ('upper', 'lower', '')


@dataclass
class ConversionSummary:
    """What a conversion read, decided and wrote (``lines()`` formats it)."""
    source: str
    tool: str
    out_dir: str
    image_root: str
    keypoint_names: List[str]
    order_from: str
    skeleton: List[Tuple[str, str]]
    skeleton_from: str
    flip_pairs: List[Tuple[str, str]]
    flip_pairs_proposed: bool
    unpaired_side_names: List[str]
    sigmas_default: bool
    num_images: int = 0
    num_train: int = 0
    num_val: int = 0
    num_people: int = 0
    people_skipped: int = 0
    num_labelled: int = 0
    num_occluded: int = 0
    boxes_drawn: int = 0
    boxes_derived: int = 0
    box_margin: float = DEFAULT_BOX_MARGIN
    val_ratio: float = 0.2
    seed: int = 0
    ignored_shapes: Dict[str, int] = field(default_factory=dict)
    files: List[str] = field(default_factory=list)

    @property
    def data_prefix(self) -> str:
        """The image folder relative to ``out_dir`` (for ``data_prefix=dict(img=...)``)."""
        return osp.relpath(osp.abspath(self.image_root), osp.abspath(self.out_dir)) + '/'

    def config_lines(self) -> List[str]:
        """The dataset settings of a config that trains on the result."""
        meta = osp.join(self.out_dir, 'metainfo.py')
        return [f"dataset=dict(type='CocoDataset', data_root={self.out_dir!r},",
                "             ann_file='annotations/train.json',  # val: annotations/val.json",
                f'             data_prefix=dict(img={self.data_prefix!r}),',
                f'             metainfo=dict(from_file={meta!r}))']

    def lines(self) -> List[str]:
        """A short human-readable report, one fact per line."""
        names = self.keypoint_names
        out = [f'read {self.num_images} images from {self.source} ({self.tool}): '
               f'{self.num_people} people/objects, {self.num_labelled} labelled keypoints '
               f'({self.num_occluded} occluded)',
               f'keypoints ({len(names)}, order from {self.order_from}): {", ".join(names)}',
               f'skeleton: {len(self.skeleton)} edges ({self.skeleton_from})']
        pairs = ', '.join(f'{a}/{b}' for a, b in self.flip_pairs) or 'none'
        if self.flip_pairs_proposed:
            out.append(f'flip pairs PROPOSED from the names (confirm them in metainfo.py): '
                       f'{pairs}')
        else:
            out.append(f'flip pairs (--flip-pairs): {pairs}')
        if self.unpaired_side_names:
            out.append('names with a side but no mirror (not flipped): '
                       + ', '.join(self.unpaired_side_names))
        out.append(f'boxes: {self.boxes_drawn} drawn (kept as drawn), {self.boxes_derived} '
                   f'derived from the keypoints (+{self.box_margin:.0%} of their extent each '
                   'side, clipped to the image)')
        if self.people_skipped:
            out.append(f'skipped {self.people_skipped} people with neither a labelled '
                       'keypoint nor a box')
        if self.ignored_shapes:
            out.append('skipped shapes that are neither points nor boxes: ' + ', '.join(
                f'{k} {v}' for k, v in sorted(self.ignored_shapes.items())))
        out.append(f'sigmas: default {DEFAULT_SIGMA} for every keypoint (flagged in '
                   'metainfo.py; pass --sigmas)' if self.sigmas_default else
                   'sigmas: given (--sigmas)')
        out.append(f'split by image: {self.num_train} train, {self.num_val} val '
                   f'(val ratio {self.val_ratio}, seed {self.seed})')
        out += [f'wrote {path}' for path in self.files]
        out.append('in a config:')
        out += ['    ' + line for line in self.config_lines()]
        return out


# ------------------------------------------------------------------ boxes and split
#: The shortest side (px) of a box derived from keypoints, before the margin.
MIN_BOX_SIDE = 16.0


def derive_box(points: Sequence[Tuple[float, float]], width: int, height: int,
               margin: float = DEFAULT_BOX_MARGIN) -> Tuple[float, float, float, float]:
    """The box (x1, y1, x2, y2 px) of labelled keypoints [(x, y)]: their extent
    enlarged by ``margin`` × its width (height) on each side — a side shorter than
    ``MIN_BOX_SIDE`` px (one keypoint, or keypoints on a line) first widened to it
    about its centre — clipped to [0, width] × [0, height], rounded to 0.01 px."""
    xy = np.asarray(points, np.float64).reshape(-1, 2)
    low, high = xy.min(axis=0), xy.max(axis=0)
    short = np.maximum(MIN_BOX_SIDE - (high - low), 0) / 2
    low, high = low - short, high + short
    pad = margin * (high - low)
    low = np.clip(low - pad, 0, [width, height])
    high = np.clip(high + pad, 0, [width, height])
    return tuple(round(float(v), 2) for v in (*low, *high))


def split_images(file_names: Sequence[str], val_ratio: float = 0.2,
                 seed: int = 0) -> Set[str]:
    """The file names of the val split (rule in the module docstring).

    Raises:
        ConversionOptionError: ``val_ratio`` outside [0, 1).
    """
    if not 0 <= val_ratio < 1:
        raise ConversionOptionError(f'--val-ratio: expected a fraction in [0, 1), found '
                                    f'{val_ratio}')
    names = sorted(file_names)
    count = int(round(val_ratio * len(names)))
    if val_ratio > 0 and len(names) >= 2:
        count = min(max(count, 1), len(names) - 1)
    elif len(names) < 2:
        count = 0
    order = np.random.default_rng(seed).permutation(len(names))
    return {names[i] for i in order[:count]}


# ------------------------------------------------------------------ COCO records
def _coco_annotation(ann_id, image_id, person: Person, names, image, margin):
    """(COCO annotation dict, box was derived) of one person."""
    keypoints = []
    for name in names:
        point = person.points.get(name)
        keypoints += [point.x, point.y, point.v] if point else [0, 0, 0]
    if person.box is not None:
        x1, y1, x2, y2 = person.box
        derived = False
    else:
        x1, y1, x2, y2 = derive_box([(p.x, p.y) for p in person.points.values()],
                                    image.width, image.height, margin)
        derived = True
    w, h = x2 - x1, y2 - y1
    if derived:
        w, h = round(w, 2), round(h, 2)
    return dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=0,
                bbox=[x1, y1, w, h], area=w * h, num_keypoints=len(person.points),
                keypoints=keypoints, segmentation=[]), derived


def _category(name, names, skeleton):
    index = {n: i + 1 for i, n in enumerate(names)}
    return dict(id=1, name=name, supercategory=name, keypoints=list(names),
                skeleton=[[index[a], index[b]] for a, b in skeleton])


# ------------------------------------------------------------------ metainfo.py
def _sides(names, flip_pairs):
    """name → 'left' | 'right' | None: a flip pair's members by their side words
    (first = left when the names carry none), other names by their side word."""
    sides = {name: side_of(name) for name in names}
    for a, b in flip_pairs:
        if sides[a] == sides[b] or sides[a] is None or sides[b] is None:
            sides[a], sides[b] = 'left', 'right'
    return sides


def _color(side):
    return list({'left': LEFT_COLOR, 'right': RIGHT_COLOR}.get(side, CENTRE_COLOR))


def metainfo_text(dataset_name: str, names: Sequence[str],
                  skeleton: Sequence[Tuple[str, str]],
                  flip_pairs: Sequence[Tuple[str, str]], proposed: bool,
                  unpaired: Sequence[str], sigmas: Sequence[float], sigmas_default: bool,
                  keypoint_types: Mapping[str, str], source: str) -> str:
    """The text of ``metainfo.py`` (MMPose's ``dataset_info`` format; see module doc)."""
    swap = {a: b for a, b in flip_pairs}
    swap.update({b: a for a, b in flip_pairs})
    sides = _sides(names, flip_pairs)
    check = '  # proposed from the names: CONFIRM' if proposed else ''
    lines = [f'# {dataset_name}: keypoint metainfo (MMPose\'s dataset_info format), written '
             f'by hpekit\'s converter from {source}.', '#']
    if proposed and flip_pairs:
        lines += ['# CONFIRM the flip pairs: every swap below was PROPOSED FROM THE NAMES',
                  '# (left_*/right_*, l_*/r_*, *_l/*_r, LShoulder/RShoulder, ...). Names are',
                  '# only a guess: mirrored keypoints whose names do not say so are not found,',
                  '# and a wrong flip map trains a mirrored model. Fix a swap here (on both',
                  "# keypoints), or set swap='' for a keypoint on the axis of symmetry."]
    elif proposed:
        lines.append('# No left/right pair was found in the names: nothing is flipped. Set '
                     'swap=... for mirrored keypoints.')
    else:
        lines.append('# Flip pairs as given to the converter (--flip-pairs).')
    if unpaired:
        lines.append(f'# Names with a side but no mirror (left unpaired): {", ".join(unpaired)}')
    if sigmas_default:
        lines += ['#', f'# CHECK the sigmas: unknown, so every keypoint has the default '
                  f'{DEFAULT_SIGMA}', '# (between COCO\'s face points, 0.025-0.035, and its '
                  'limb joints, 0.062-0.107). OKS AP', '# depends on them: replace them with '
                  'measured values and set sigmas_default=False.']
    lines += ['dataset_info = dict(', f'    dataset_name={dataset_name!r},',
              f'    paper_info=dict(author=\'\', title={dataset_name!r}, container=\'\', '
              'year=\'\', homepage=\'\'),', '    keypoint_info={']
    for i, name in enumerate(names):
        mirror = swap.get(name, '')
        lines.append(f'        {i}: dict(name={name!r}, id={i}, color={_color(sides[name])}, '
                     f'type={keypoint_types.get(name, "")!r}, swap={mirror!r}),'
                     + (check if mirror else ''))
    lines += ['    },', '    skeleton_info={']
    for i, (a, b) in enumerate(skeleton):
        ends = {sides[a], sides[b]} - {None}      # a link to one side has its colour
        side = ends.pop() if len(ends) == 1 else None
        lines.append(f'        {i}: dict(link=({a!r}, {b!r}), id={i}, color={_color(side)}),')
    lines += ['    },', f'    joint_weights={[1.0] * len(names)},', f'    sigmas={list(sigmas)},',
              f'    sigmas_default={sigmas_default},', ')', '']
    return '\n'.join(lines)


# ------------------------------------------------------------------ output folder
def check_out_dir(out_dir: str, overwrite: bool = False) -> None:
    """Refuse an ``out_dir`` that cannot be (re)written: a file, or a non-empty folder
    without ``overwrite``, or (with it) one holding more than a former conversion's
    ``annotations/`` and ``metainfo.py``.

    Raises:
        ConversionOptionError: naming the folder and the fix.
    """
    if not osp.lexists(out_dir):
        return
    if not osp.isdir(out_dir) or osp.islink(out_dir):
        raise ConversionOptionError(f'--out-dir: {out_dir} exists and is not a folder')
    entries = set(os.listdir(out_dir))
    if entries and not overwrite:
        raise ConversionOptionError(f'--out-dir: {out_dir} exists and is not empty; pass '
                                    '--overwrite to replace a former conversion')
    if entries - set(OUTPUT_NAMES):
        raise ConversionOptionError(f'--out-dir: {out_dir} holds {sorted(entries)}, more '
                                    f'than a conversion writes ({list(OUTPUT_NAMES)}); '
                                    'refusing to replace it: choose another folder')


def _publish(files: Dict[str, str], out_dir: str, overwrite: bool) -> None:
    """Write ``files`` (relative path → text) into a temporary folder beside
    ``out_dir``, check metainfo.py parses, then rename the folder onto ``out_dir``."""
    check_out_dir(out_dir, overwrite)
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f'.{osp.basename(osp.abspath(out_dir))}.',
                           suffix='.tmp')
    old = None
    try:
        for rel, text in files.items():
            path = osp.join(tmp, rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
        try:
            parse_pose_metainfo(load_metainfo_file(osp.join(tmp, 'metainfo.py')))
        except MetainfoError as err:
            raise ConversionOptionError(f'the metainfo.py of these options is refused by '
                                        f'parse_pose_metainfo (check --flip-pairs, '
                                        f'--keypoints): {err}') from None
        if osp.isdir(out_dir) and os.listdir(out_dir):
            old = tmp + '.old'
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not osp.exists(out_dir):
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ conversion
def _decide_keypoints(annotations, keypoints, skeleton, flip_pairs):
    """(names, order_from, skeleton, skeleton_from, pairs, proposed, unpaired)."""
    names = keypoint_order(annotations, keypoints)
    order_from = ('--keypoints' if keypoints is not None else
                  f'the {annotations.tool} skeleton' if annotations.keypoint_names else
                  'first appearance in sorted file order')
    if skeleton is not None:
        edges = check_skeleton(parse_name_pairs(skeleton, names, '--skeleton'), names,
                               '--skeleton')
        skeleton_from = '--skeleton'
    else:
        edges = check_skeleton(annotations.skeleton, names, annotations.source,
                               AnnotationFormatError)
        skeleton_from = f'the {annotations.tool} skeleton' if edges else 'none given'
    if flip_pairs is not None:
        pairs = check_flip_pairs(parse_name_pairs(flip_pairs, names, '--flip-pairs'), names)
        unpaired, proposed = [], False
    else:
        pairs, unpaired = propose_flip_pairs(names)
        proposed = True
    return names, order_from, edges, skeleton_from, pairs, proposed, unpaired


def _check_not_empty(annotations):
    if not annotations.images:
        raise AnnotationFormatError(f'{annotations.source}: no images; expected at least '
                                    'one annotated image (an empty export?)')
    if not any(person.points for image in annotations.images for person in image.people):
        raise AnnotationFormatError(f'{annotations.source}: no labelled keypoints in '
                                    f'{len(annotations.images)} images (an empty export?)')


def _check_types(keypoint_types, names):
    for name, kind in keypoint_types.items():
        if name not in names or kind not in KEYPOINT_TYPES:
            raise ConversionOptionError(f'--upper/--lower: {name!r} -> {kind!r}: expected a '
                                        f'keypoint of {list(names)} and upper/lower')
    return dict(keypoint_types)


def _coco_splits(annotations, names, summary, margin, val_names, category):
    """{'train': COCO dict, 'val': COCO dict}, counts added to ``summary``."""
    splits = {s: dict(images=[], annotations=[], categories=[category]) for s in ('train', 'val')}
    ann_id = 0
    for image_id, image in enumerate(annotations.images, start=1):
        split = splits['val' if image.file_name in val_names else 'train']
        split['images'].append(dict(id=image_id, file_name=image.file_name,
                                    width=image.width, height=image.height))
        for person in image.people:
            if not person.points and person.box is None:
                summary.people_skipped += 1
                continue
            ann_id += 1
            ann, derived = _coco_annotation(ann_id, image_id, person, names, image, margin)
            split['annotations'].append(ann)
            summary.boxes_derived += derived
            summary.boxes_drawn += not derived
            summary.num_labelled += len(person.points)
            summary.num_occluded += sum(p.v == 1 for p in person.points.values())
    summary.num_people = ann_id
    summary.num_train, summary.num_val = (len(splits[s]['images']) for s in ('train', 'val'))
    return splits


def convert_to_coco(annotations: AnnotationSet, out_dir: str,
                    keypoints: Optional[Sequence[str]] = None,
                    skeleton: Union[None, str, Sequence[PairSpec]] = None,
                    flip_pairs: Union[None, str, Sequence[PairSpec]] = None,
                    sigmas: SigmaSpec = None,
                    keypoint_types: Optional[Mapping[str, str]] = None,
                    val_ratio: float = 0.2, seed: int = 0,
                    box_margin: float = DEFAULT_BOX_MARGIN,
                    dataset_name: Optional[str] = None,
                    overwrite: bool = False) -> ConversionSummary:
    """Write ``annotations`` as COCO keypoints and metainfo.py under ``out_dir``.

    Args:
        annotations: from ``read_labelme_dir`` or ``read_cvat_xml``.
        out_dir: the output folder; must not exist or be empty (or hold a former
            conversion, with ``overwrite``).
        keypoints: the keypoint names in order (default: the rule of
            ``common.keypoint_order``).
        skeleton: edges as 'a-b,c-d' text or pairs (default: the tool's, else none).
        flip_pairs: left/right pairs as 'a-b,c-d' or pairs (default: proposed from
            the names).
        sigmas: per-keypoint OKS sigmas (``common.resolve_sigmas``; default
            ``DEFAULT_SIGMA``, flagged).
        keypoint_types: name → 'upper' | 'lower' (others '').
        val_ratio, seed: the split (module docstring).
        box_margin: fraction of the keypoints' extent added on each side of a
            derived box.
        dataset_name: ``dataset_name`` of the metainfo (default: ``out_dir``'s name).
        overwrite: replace a former conversion in ``out_dir``.

    Returns:
        ConversionSummary.

    Raises:
        AnnotationFormatError: an empty export; a label that is not a keypoint; a
            skeleton edge of the export to a keypoint not in the list.
        ConversionOptionError: a bad option (named), or ``out_dir`` not writable.
    """
    check_out_dir(out_dir, overwrite)
    if not np.isfinite(box_margin) or box_margin < 0:
        raise ConversionOptionError(f'--box-margin: expected a fraction >= 0, found '
                                    f'{box_margin}')
    _check_not_empty(annotations)
    names, order_from, edges, skeleton_from, pairs, proposed, unpaired = \
        _decide_keypoints(annotations, keypoints, skeleton, flip_pairs)
    sigma_values, sigmas_default = resolve_sigmas(sigmas, names)
    types = _check_types(keypoint_types or {}, names)
    val_names = split_images([im.file_name for im in annotations.images], val_ratio, seed)
    dataset_name = dataset_name or osp.basename(osp.abspath(out_dir))
    summary = ConversionSummary(
        source=annotations.source, tool=annotations.tool, out_dir=out_dir,
        image_root=annotations.image_root, keypoint_names=names, order_from=order_from,
        skeleton=edges, skeleton_from=skeleton_from, flip_pairs=pairs,
        flip_pairs_proposed=proposed, unpaired_side_names=unpaired,
        sigmas_default=sigmas_default, num_images=len(annotations.images),
        box_margin=box_margin, val_ratio=val_ratio, seed=seed,
        ignored_shapes=dict(annotations.ignored_shapes))
    category = _category(annotations.category or dataset_name, names, edges)
    splits = _coco_splits(annotations, names, summary, box_margin, val_names, category)
    files = {osp.join('annotations', f'{s}.json'): json.dumps(splits[s]) for s in splits}
    files['metainfo.py'] = metainfo_text(dataset_name, names, edges, pairs, proposed,
                                         unpaired, sigma_values, sigmas_default, types,
                                         annotations.source)
    _publish(files, out_dir, overwrite)
    summary.files = [osp.join(out_dir, rel) for rel in files]
    return summary
