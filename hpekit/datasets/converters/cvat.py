"""Read a CVAT "for images 1.1" XML export as keypoint annotations.

The parts of CVAT's format used here (``annotations.xml``)::

    <annotations>
      <version>1.1</version>
      <meta><task> (or <project>, <job>) <labels>
        <label><name>animal</name><type>skeleton</type>
               <svg>(escaped) <line data-node-from="1" data-node-to="2"/> ...
                    <circle data-node-id="1" data-label-name="nose"/> ...</svg></label>
        <label><name>nose</name><type>points</type><parent>animal</parent></label> ...
      </labels></task></meta>
      <image id="0" name="img_000001.jpg" width="320" height="240">
        <skeleton label="animal" group_id="1">
          <points label="nose" points="x,y" occluded="0|1" outside="0|1"/> ...
        </skeleton>
        <points label="nose" points="x,y" occluded="0" group_id="2"/>
        <box label="animal" xtl=".." ytl=".." xbr=".." ybr=".." group_id="1"/>
      </image>
    </annotations>

A ``<skeleton>`` is one person (or animal); its sub-labels, in the order the
export lists them under ``<labels>``, are the keypoint order, and the ``svg``
edges (node ids → ``data-label-name``) the skeleton. Plain ``<points>`` (one point
each) and ``<box>`` shapes belong to the person of their ``group_id``; those without
one form a single ungrouped person of their image (a skeleton without ``group_id``
never gets a box). Visibility: ``occluded="1"`` → COCO's v = 1, ``outside="1"`` →
not labelled (v = 0), else v = 2. Other shapes (polygons, tags, ...) are skipped and
counted; CVAT's video format (``<track>``) is refused. A DOCTYPE or entity
declaration is refused before parsing (``xml.etree`` would expand entities).
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Tuple

from hpekit.datasets.converters.common import (AnnotationFormatError, AnnotationSet,
                                               ImageRecord, Person, Point, check_label,
                                               finite_number, safe_relative_name)


def read_cvat_xml(path: str, image_dir: str) -> AnnotationSet:
    """A CVAT for images 1.1 XML file as an AnnotationSet.

    Args:
        path: the XML file (``annotations.xml`` of CVAT's export).
        image_dir: the folder holding the images (CVAT's ``images/``); each image's
            ``name`` is relative to it and ``ImageRecord.file_name`` keeps it so.

    Raises:
        FileNotFoundError: ``path`` or ``image_dir`` does not exist.
        AnnotationFormatError: invalid or truncated XML, a DOCTYPE/entity, a video
            export, more than one skeleton label, a malformed svg, image or shape
            (file, image, shape index and field named), a missing image, an image
            listed twice, a point without a name or given twice for one person.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CVAT annotation file not found: {path}')
    if not osp.isdir(image_dir):
        raise FileNotFoundError(f'image folder (--images) not found: {image_dir}')
    root = _parse(path)
    if root.find('track') is not None:
        raise AnnotationFormatError(f'{path}: <track> elements: this is CVAT for video; '
                                    'expected an export in "CVAT for images 1.1"')
    skeleton_label, names, edges = _skeleton(root, path)
    ignored: Dict[str, int] = {}
    images, seen = [], {}
    for element in root.findall('image'):
        image = _image(element, path, image_dir, skeleton_label, ignored)
        if image.file_name in seen:
            raise AnnotationFormatError(f'{image.where}: attribute name: image '
                                        f'{image.file_name!r} is listed twice')
        seen[image.file_name] = True
        images.append(image)
    images.sort(key=lambda im: im.file_name)
    return AnnotationSet(images=images, source=path, image_root=image_dir, tool='cvat',
                         keypoint_names=names, skeleton=edges, category=skeleton_label,
                         ignored_shapes=ignored)


def _parse(path):
    with open(path, 'rb') as f:
        data = f.read()
    if b'<!DOCTYPE' in data or b'<!ENTITY' in data:
        raise AnnotationFormatError(f'{path}: holds a DOCTYPE or ENTITY declaration, which '
                                    'is refused (CVAT exports have none)')
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise AnnotationFormatError(f'{path}: not valid XML (a truncated or damaged '
                                    f'file?): {err}') from None
    if root.tag != 'annotations':
        raise AnnotationFormatError(f'{path}: root element <{root.tag}>: expected '
                                    '<annotations> (CVAT for images 1.1)')
    return root


# ------------------------------------------------------------------ labels
def _labels(root):
    """[(name, type, parent, svg text)] of the first <labels> under <meta>."""
    meta = root.find('meta')
    labels = next(meta.iter('labels'), None) if meta is not None else None
    if labels is None:
        return []
    return [((label.findtext('name') or ''), (label.findtext('type') or ''),
             (label.findtext('parent') or ''), label.findtext('svg'))
            for label in labels.findall('label')]


def _skeleton(root, path):
    """(skeleton label, keypoint names, edges) of the export's skeleton label, or
    (None, None, []) when it has none."""
    labels = _labels(root)
    skeletons = [lab for lab in labels if lab[1] == 'skeleton']
    if not skeletons:
        return None, None, []
    if len(skeletons) > 1:
        raise AnnotationFormatError(f'{path}: <labels>: {len(skeletons)} skeleton labels '
                                    f'{[s[0] for s in skeletons]}; expected one (convert '
                                    'one keypoint set at a time)')
    name, _, _, svg = skeletons[0]
    where = f'{path}: <labels>: skeleton label {name!r}: field svg'
    nodes, edges = _svg_graph(svg or '', where)
    subs = [lab[0] for lab in labels if lab[2] == name] or list(nodes.values())
    for node, sub in nodes.items():
        if sub not in subs:
            raise AnnotationFormatError(f'{where}: node {node} names {sub!r}, which is not '
                                        f'a sub-label of {name!r} ({subs})')
    return name, subs, edges


def _svg_graph(svg, where):
    """({node id: label name}, [(name, name)]) of CVAT's skeleton svg text."""
    if '<!' in svg:
        raise AnnotationFormatError(f'{where}: holds a declaration (<!...); expected '
                                    'only <line> and <circle> elements')
    try:
        elements = ET.fromstring(f'<svg>{svg}</svg>')
    except ET.ParseError as err:
        raise AnnotationFormatError(f'{where}: not valid svg markup: {err}') from None
    if elements.find('svg') is not None:
        elements = elements.find('svg')
    nodes = {}
    for circle in elements.iter('circle'):
        node, label = circle.get('data-node-id'), circle.get('data-label-name')
        if not node or not label:
            raise AnnotationFormatError(f'{where}: a <circle> without data-node-id or '
                                        'data-label-name; expected both on every node')
        nodes[node] = label
    edges = []
    for line in elements.iter('line'):
        ends = (line.get('data-node-from'), line.get('data-node-to'))
        for end in ends:
            if end not in nodes:
                raise AnnotationFormatError(f'{where}: an edge <line> to node {end!r}, '
                                            f'which has no <circle> (nodes: {sorted(nodes)})')
        edges.append((nodes[ends[0]], nodes[ends[1]]))
    return nodes, edges


# ------------------------------------------------------------------ images
def _size(element, where, attr):
    value = element.get(attr)
    if value is None or not value.isdigit() or int(value) <= 0:
        raise AnnotationFormatError(f'{where}: attribute {attr}: expected the image size '
                                    f'in px (a positive integer), found {value!r}')
    return int(value)


def _image(element, path, image_dir, skeleton_label, ignored):
    name = element.get('name')
    where = f'{path}: <image id={element.get("id")!r} name={name!r}>'
    if not name:
        raise AnnotationFormatError(f'{where}: attribute name: expected the image file name')
    file_name = safe_relative_name(name, where, 'name')
    if not osp.isfile(osp.join(image_dir, file_name)):
        raise AnnotationFormatError(f'{where}: attribute name: image '
                                    f'{osp.join(image_dir, file_name)} not found (--images)')
    image = ImageRecord(file_name=file_name, width=_size(element, where, 'width'),
                        height=_size(element, where, 'height'), where=where)
    people: Dict[Tuple, Person] = {}
    for i, shape in enumerate(element):
        shape_where = f'{where}: shape {i} <{shape.tag}>'
        if shape.tag == 'skeleton':
            person = _person(people, _group_key(shape, shape_where, i))
            _read_skeleton(shape, shape_where, skeleton_label, person)
        elif shape.tag == 'points':
            person = _person(people, _group_key(shape, shape_where, None))
            _add_point(person, shape, shape_where)
        elif shape.tag == 'box':
            person = _person(people, _group_key(shape, shape_where, None))
            _add_box(person, shape, shape_where)
        else:
            ignored[shape.tag] = ignored.get(shape.tag, 0) + 1
    image.people = list(people.values())
    return image


def _group_key(shape, where, skeleton_index: Optional[int]):
    group = shape.get('group_id')
    if group is not None:
        if not group.strip().lstrip('-').isdigit():
            raise AnnotationFormatError(f'{where}: attribute group_id: expected an '
                                        f'integer, found {group!r}')
        return ('group', int(group))
    return ('skeleton', skeleton_index) if skeleton_index is not None else ('ungrouped',)


def _person(people, key):
    """The Person of ``key`` in ``people`` (made on first use)."""
    if key not in people:
        label = {'group': f'group_id {key[-1]}', 'skeleton': f'the skeleton (shape {key[-1]})',
                 'ungrouped': 'the shapes without group_id'}[key[0]]
        people[key] = Person(where=label)
    return people[key]


def _read_skeleton(shape, where, skeleton_label, person):
    label = shape.get('label')
    if skeleton_label is None or label != skeleton_label:
        raise AnnotationFormatError(f'{where}: attribute label: skeleton {label!r} is not '
                                    f'the skeleton label of <labels> ({skeleton_label!r})')
    for k, point in enumerate(shape.findall('points')):
        _add_point(person, point, f'{where} <points> {k}')


def _flag(shape, where, attr):
    value = shape.get(attr, '0')
    if value not in ('0', '1'):
        raise AnnotationFormatError(f'{where}: attribute {attr}: expected "0" or "1", '
                                    f'found {value!r}')
    return value == '1'


def _coordinates(shape, where) -> List[float]:
    text = shape.get('points') or ''
    pairs = [p for p in text.split(';') if p.strip()]
    parts = pairs[0].split(',') if len(pairs) == 1 else []
    if len(parts) != 2:
        raise AnnotationFormatError(f'{where}: attribute points: expected one point "x,y" '
                                    f'(one <points> shape per keypoint), found {text!r:.80}')
    return [finite_number(v.strip(), where, 'points') for v in parts]


def _add_point(person, shape, where):
    name = check_label(shape.get('label'), where)
    x, y = _coordinates(shape, where)
    if _flag(shape, where, 'outside'):
        return                                      # not labelled: v = 0
    visibility = 1 if _flag(shape, where, 'occluded') else 2
    person.add_point(name, Point(x, y, visibility, where))


def _add_box(person, shape, where):
    if person.box is not None:
        raise AnnotationFormatError(f'{where}: a second <box> for {person.where}; expected '
                                    'at most one box per person')
    x1, y1, x2, y2 = (finite_number(shape.get(k), where, k)
                      for k in ('xtl', 'ytl', 'xbr', 'ybr'))
    if x2 < x1 or y2 < y1:
        raise AnnotationFormatError(f'{where}: attributes xtl, ytl, xbr, ybr: expected '
                                    f'xtl <= xbr and ytl <= ybr, found {x1}, {y1}, {x2}, {y2}')
    person.box = (x1, y1, x2, y2)
