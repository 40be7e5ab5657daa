"""Dataset metainfo in MMPose's ``dataset_info`` format, parsed into lookup tables.

A metainfo file (``configs/_base_/datasets/<name>.py``, MMPose's own files read
unchanged) defines ``dataset_info = dict(dataset_name=..., keypoint_info={id: dict(
name, id, color, type='upper'|'lower'|'', swap=<mirror joint name or ''>)},
skeleton_info={id: dict(link=(name, name), id, color)}, joint_weights=[K floats],
sigmas=[K floats or empty])``. Other keys (e.g. ``paper_info``, or hpekit's optional
``pckh_table``) are passed through. A source may also state ``num_keypoints``,
``flip_indices`` or ``flip_pairs`` itself: they are checked against ``keypoint_info``
(K, and the swaps), never passed through unchecked.

Everything per keypoint is checked here, once, when a dataset (or metric) parses its
metainfo: ids 0..K-1, ``joint_weights`` and ``sigmas`` of length K, a flip map that is
a permutation of 0..K-1 and its own inverse (``flip_indices[flip_indices[i]] == i``)
and, where the keypoint names state sides, a flip map that follows them (below); each
error names the file and the field.

The names check: when a keypoint's name states a side by one of the usual conventions
(``left_eye``/``right_eye``, ``l_eye``/``r_eye``, ``eye_l``/``eye_r``, ``Eye_Left``,
CamelCase ``LShoulder``/``RShoulder``, ``forelegL1``/``forelegR1``; ``left``/``right``/
``l``/``r`` as a word of its own, any case) and the mirror-named keypoint exists, its
``swap`` must be that keypoint (``mirror_name``); a swap of '' or to another keypoint
is a ``MetainfoError`` naming the keypoint, its swap, the partner and the fix. Names
without a side (``nose``, ``neck``, ``tail_base``), or with a partner the file does not
have, are not checked. When the names mislead (a side word that is no side), write
``flip_check='off'`` in the ``dataset_info`` dict: the swaps are then trusted as
written (still checked to be a permutation and its own inverse); the default is
``flip_check='names'``.

Whether the *model* predicts K keypoints is checked where model and dataset meet,
before any step (``hpekit.engine.hooks.KeypointCountHook``).

Every dataset, transform, metric, visualiser and tool reads joint counts, names,
flip pairs, body halves and skeletons from the parsed dict; nothing else in the
package names a dataset's joints.
"""
import re
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from hpekit.config.files import find_config_file

REQUIRED_KEYS = ('dataset_name', 'keypoint_info', 'skeleton_info', 'joint_weights',
                 'sigmas')
# Keys a source may state that parsing derives itself: checked, then replaced.
_DERIVED = ('num_keypoints', 'flip_indices', 'flip_pairs')
_CONSUMED = set(REQUIRED_KEYS) | {'from_file', 'flip_check'} | set(_DERIVED)
#: Values of a metainfo's ``flip_check``: 'names' (default) checks the flip map against
#: left/right keypoint names, 'off' trusts the swaps as written.
FLIP_CHECKS = ('names', 'off')
_SIDES = {'left': 'right', 'right': 'left', 'l': 'r', 'r': 'l'}
# Words of a keypoint name: runs of capitals not followed by a small letter ('L' of
# 'LShoulder', 'LED'), a word with an optional capital first ('Shoulder', 'eye'), digits.
_WORD = re.compile(r'[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+')
DEFAULT_KEYPOINT_COLOR = (255, 128, 0)
DEFAULT_LINK_COLOR = (96, 96, 255)


class MetainfoError(ValueError):
    """A metainfo file or dict is malformed (the message names the source and field)."""


def load_metainfo_file(path: str) -> dict:
    """The ``dataset_info`` dict of a metainfo config file (searched as configs are).

    Raises:
        FileNotFoundError: no such file (the places searched are named).
        MetainfoError: the file defines no ``dataset_info`` dict.
    """
    resolved = find_config_file(path)
    info = Config.fromfile(resolved).get('dataset_info')
    if not isinstance(info, dict):
        raise MetainfoError(f'{resolved}: expected a variable dataset_info = dict(...) '
                            '(MMPose metainfo format)')
    return dict(info)


def _fail(source, field, problem):
    raise MetainfoError(f'{source}: field {field!r}: {problem}')


def _keypoint_table(info, source):
    """(names [K] in id order, keypoint dicts in id order), ids checked to be 0..K-1."""
    table = info['keypoint_info']
    if not isinstance(table, dict) or not table:
        _fail(source, 'keypoint_info', 'expected a non-empty dict {id: dict(name=...)}')
    ids = sorted(int(k) for k in table)
    if ids != list(range(len(ids))):
        _fail(source, 'keypoint_info', f'ids must be 0..{len(ids) - 1}, found {ids}')
    entries = [table.get(i, table.get(str(i))) for i in ids]
    for i, kpt in enumerate(entries):
        if not isinstance(kpt, dict) or not isinstance(kpt.get('name'), str):
            _fail(source, f'keypoint_info[{i}]', f'expected dict(name=str, ...), found {kpt!r}')
    names = [kpt['name'] for kpt in entries]
    if len(set(names)) != len(names):
        _fail(source, 'keypoint_info', f'keypoint names repeat: {names}')
    return names, entries


def _lookup(name2id, name, source, field):
    if name not in name2id:
        _fail(source, field, f'unknown keypoint name {name!r}; known: {sorted(name2id)}')
    return name2id[name]


def _flip_tables(entries, name2id, source):
    """(flip_indices [K], flip_pairs [(a, b)]), symmetric by construction check."""
    indices, pairs = [], []
    for i, kpt in enumerate(entries):
        swap = kpt.get('swap', '') or kpt['name']
        j = _lookup(name2id, swap, source, f'keypoint_info[{i}].swap')
        indices.append(j)
        if j != i and (j, i) not in pairs:
            pairs.append((i, j) if i < j else (j, i))
    for i, j in enumerate(indices):
        if indices[j] != i:
            _fail(source, f'keypoint_info[{i}].swap', f'{entries[i]["name"]} swaps with '
                  f'{entries[j]["name"]}, which swaps with {entries[indices[j]]["name"]}: '
                  'the flip map must be its own inverse (each joint the mirror of its '
                  'mirror)')
    return indices, sorted(set(pairs))


def _pairs_of(indices):
    return sorted({(min(i, j), max(i, j)) for i, j in enumerate(indices) if i != j})


def _index(value, num, source, field):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        _fail(source, field, f'expected a keypoint index (int), found {value!r}')
    if not 0 <= value < num:
        _fail(source, field, f'index {value} is outside 0..{num - 1} (keypoint_info has '
              f'{num} keypoints)')
    return int(value)


def check_flip_indices(indices: Sequence[int], num: int, source: str = 'metainfo',
                       field: str = 'flip_indices') -> List[int]:
    """``indices`` as a list, checked to be a flip map of ``num`` keypoints.

    A flip map gives each keypoint its mirror: it must have one entry per keypoint,
    be a permutation of 0..num-1 and be its own inverse (an involution:
    ``indices[indices[i]] == i``); a keypoint on the axis maps to itself.

    Raises:
        MetainfoError: naming ``source`` and ``field`` and the first offending entry.
    """
    if isinstance(indices, (str, bytes)) or not hasattr(indices, '__len__'):
        _fail(source, field, f'expected a list of {num} keypoint indices, found {indices!r}')
    if len(indices) != num:
        _fail(source, field, f'expected {num} indices (one per keypoint of keypoint_info), '
              f'found {len(indices)}')
    indices = [_index(v, num, source, f'{field}[{i}]') for i, v in enumerate(indices)]
    if sorted(indices) != list(range(num)):
        twice = sorted({v for v in indices if indices.count(v) > 1})
        never = sorted(set(range(num)) - set(indices))
        _fail(source, field, f'not a permutation of 0..{num - 1}: {twice} appear more than '
              f'once, {never} never (two joints cannot share one mirror)')
    for i, j in enumerate(indices):
        if indices[j] != i:
            _fail(source, field, f'not its own inverse: {field}[{i}] = {j} but '
                  f'{field}[{j}] = {indices[j]} (the mirror of a joint\'s mirror must be '
                  'the joint)')
    return indices


def _indices_from_pairs(pairs, num, source):
    """The flip map of a stated ``flip_pairs`` list, checked (each joint in one pair)."""
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, '__iter__'):
        _fail(source, 'flip_pairs', f'expected a list of (i, j) pairs, found {pairs!r}')
    indices = list(range(num))
    for n, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            _fail(source, f'flip_pairs[{n}]', f'expected a pair (i, j), found {pair!r}')
        i, j = (_index(v, num, source, f'flip_pairs[{n}]') for v in pair)
        for k in (i, j):
            if indices[k] != k:
                _fail(source, f'flip_pairs[{n}]', f'keypoint {k} is already paired with '
                      f'{indices[k]}: each keypoint has at most one mirror')
        indices[i], indices[j] = j, i
    return indices


def _given_flip_indices(info, num, source):
    """(field, flip map) of the source's own ``flip_indices`` / ``flip_pairs``, checked
    (both stated: they must agree); None if it states neither."""
    given = []
    if 'flip_indices' in info:
        given.append(('flip_indices', check_flip_indices(info['flip_indices'], num, source)))
    if 'flip_pairs' in info:
        given.append(('flip_pairs', _indices_from_pairs(info['flip_pairs'], num, source)))
    if len(given) == 2 and given[0][1] != given[1][1]:
        _fail(source, 'flip_pairs', f'{info["flip_pairs"]} disagrees with flip_indices '
              f'{given[0][1]}')
    return given[0] if given else None


def _checked_flip_tables(info, entries, name2id, source):
    """(flip_indices, flip_pairs, field) from the swaps (field 'swap'), or from the
    source's own flip_indices / flip_pairs when no keypoint has a swap (field
    'flip_indices' / 'flip_pairs': where a fix goes); both given: they must agree."""
    num = len(entries)
    indices, pairs = _flip_tables(entries, name2id, source)
    given = _given_flip_indices(info, num, source)
    if given is None or given[1] == indices:
        stated_only = given is not None and not any(k.get('swap') for k in entries)
        return indices, pairs, given[0] if stated_only else 'swap'
    field, stated = given
    if indices != list(range(num)):
        _fail(source, field, f'{info[field]} disagrees with the swaps of keypoint_info, '
              f'which give flip_indices {indices}; state the flip map once (the swaps, '
              'as MMPose does)')
    return stated, _pairs_of(stated), field


def mirror_name(name: str) -> Optional[str]:
    """The name of the mirror keypoint that a left/right naming convention gives
    ``name``, or None when the name states no side (or more than one).

    A side is a word of the name (split at ``_``, ``-``, spaces, digits and
    CamelCase): ``left``/``right`` or ``l``/``r`` in any case; it is replaced by the
    other side in the same case. ``'left_eye'`` → ``'right_eye'``, ``'eye_L'`` →
    ``'eye_R'``, ``'LShoulder'`` → ``'RShoulder'``, ``'Eye_Left'`` → ``'Eye_Right'``,
    ``'forelegL1'`` → ``'forelegR1'``; ``'nose'``, ``'tail_base'``, ``'LED'`` → None.
    """
    sides = [m for m in _WORD.finditer(name) if m.group().lower() in _SIDES]
    if len(sides) != 1:
        return None
    word = sides[0].group()
    other = _SIDES[word.lower()]
    if word.isupper():
        other = other.upper()
    elif word[0].isupper():
        other = other.capitalize()
    return name[:sides[0].start()] + other + name[sides[0].end():]


def _mirror_mismatches(names, indices):
    """[(i, j)]: keypoint i's name says its mirror is keypoint j, the flip map says
    ``indices[i]`` != j."""
    name2id = {name: i for i, name in enumerate(names)}
    wrong = []
    for i, name in enumerate(names):
        j = name2id.get(mirror_name(name))
        if j is not None and indices[i] != j:
            wrong.append((i, j))
    return wrong


def _check_flip_names(info, entries, indices, field, source):
    """Refuse a flip map that does not follow the left/right keypoint names (see the
    module doc); ``flip_check='off'`` in the source skips the check."""
    mode = info.get('flip_check', 'names')
    if mode not in FLIP_CHECKS:
        _fail(source, 'flip_check', f"expected one of {list(FLIP_CHECKS)}, found {mode!r} "
              "('off' trusts the swaps as written)")
    names = [kpt['name'] for kpt in entries]
    wrong = _mirror_mismatches(names, indices) if mode == 'names' else []
    if wrong:
        first = f'keypoint_info[{wrong[0][0]}].swap' if field == 'swap' else field
        _fail(source, first, _flip_names_problem(entries, names, indices, field, wrong))


def _flip_names_problem(entries, names, indices, field, wrong):
    """The message of ``_check_flip_names``: each mismatch [(i, j)] and its fix."""
    lines, fixes = [], []
    for i, j in wrong:
        if field == 'swap':
            swap = entries[i].get('swap', '') or ''
            lines.append(f'{names[i]} (keypoint_info[{i}]) has swap={swap!r}, but its name '
                         f'says its mirror is {names[j]} (keypoint_info[{j}])')
            fixes.append(f'swap={names[j]!r} in keypoint_info[{i}]')
        else:
            lines.append(f'{field} maps {names[i]} ({i}) to {names[indices[i]]} '
                         f'({indices[i]}), but its name says its mirror is {names[j]} ({j})')
            fixes.append(f'flip_indices[{i}] = {j}' if field == 'flip_indices' else
                         f'the pair ({min(i, j)}, {max(i, j)}) in flip_pairs')
    return ('the flip map does not follow the left/right keypoint names:\n  '
            + '\n  '.join(lines) + '\nA horizontal flip (flip augmentation, flip test) '
            'would label these keypoints with the wrong side. Fix: set '
            + ', '.join(dict.fromkeys(fixes))
            + "; or, if these names do not mean sides, add flip_check='off' to "
            'dataset_info to trust the swaps as written.')


def _per_keypoint_array(info, key, num, source, allow_empty=False):
    try:
        values = np.asarray(info[key], dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        _fail(source, key, f'expected {num} numbers (one per keypoint of keypoint_info), '
              f'found {info[key]!r}')
    if not (len(values) == num or (allow_empty and len(values) == 0)):
        _fail(source, key, f'expected {num} values (one per keypoint of keypoint_info), '
              f'found {len(values)}')
    if not np.isfinite(values).all():
        _fail(source, key, f'holds NaN/Inf: {values.tolist()}')
    return values


def parse_pose_metainfo(metainfo: Dict[str, Any]) -> Dict[str, Any]:
    """Parse dataset metainfo (MMPose's format) into the tables every part reads.

    Args:
        metainfo: a ``dataset_info`` dict, or ``dict(from_file=PATH)`` naming a
            metainfo config file (a path, or relative to hpekit's ``configs/``).

    Returns:
        dict with MMPose's keys: ``dataset_name`` str, ``num_keypoints`` K,
        ``keypoint_id2name`` {id: name}, ``keypoint_name2id`` {name: id},
        ``upper_body_ids`` / ``lower_body_ids`` [ids], ``flip_indices`` [K] (the
        mirrored joint of each joint), ``flip_pairs`` [(i, j)], ``keypoint_colors``
        uint8 [K, 3], ``num_skeleton_links``, ``skeleton_links`` [(i, j)],
        ``skeleton_link_colors`` uint8 [L, 3], ``dataset_keypoint_weights`` float32
        [K], ``sigmas`` float32 [K] (or empty); plus any extra keys of the source
        (e.g. ``paper_info``, ``pckh_table``) unchanged.

    Raises:
        MetainfoError: a missing key, an unknown joint name in a swap or link, a
            non-symmetric swap, per-keypoint lists (``joint_weights``, ``sigmas``) of
            the wrong length or not numbers, a stated ``num_keypoints`` other than
            ``keypoint_info``'s, a stated ``flip_indices`` / ``flip_pairs`` that is not
            a permutation and its own inverse or disagrees with the swaps, a flip map
            that does not follow left/right keypoint names (unless the source says
            ``flip_check='off'``; see the module doc) (the source and field are
            named). FileNotFoundError: ``from_file`` not found.
    """
    source = 'metainfo'
    if 'from_file' in metainfo:
        source = metainfo['from_file']
        info = load_metainfo_file(source)
    else:
        info = dict(metainfo)
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        raise MetainfoError(f'{source}: missing {missing}; MMPose metainfo needs '
                            f'{list(REQUIRED_KEYS)}')
    names, entries = _keypoint_table(info, source)
    if 'num_keypoints' in info and info['num_keypoints'] != len(names):
        _fail(source, 'num_keypoints', f'is {info["num_keypoints"]!r}, but keypoint_info '
              f'has {len(names)} keypoints')
    name2id = {name: i for i, name in enumerate(names)}
    flip_indices, flip_pairs, flip_field = _checked_flip_tables(info, entries, name2id,
                                                                source)
    _check_flip_names(info, entries, flip_indices, flip_field, source)
    links, link_colors = [], []
    for key in sorted(info['skeleton_info'], key=int):
        link = info['skeleton_info'][key]
        pair = link.get('link') if isinstance(link, dict) else None
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            _fail(source, f'skeleton_info[{key}].link', f'expected (name, name), found {pair!r}')
        links.append(tuple(_lookup(name2id, n, source, f'skeleton_info[{key}].link')
                           for n in pair))
        link_colors.append(link.get('color', DEFAULT_LINK_COLOR))
    num = len(names)
    parsed = dict(
        dataset_name=info['dataset_name'], num_keypoints=num,
        keypoint_id2name=dict(enumerate(names)), keypoint_name2id=name2id,
        upper_body_ids=[i for i, k in enumerate(entries) if k.get('type') == 'upper'],
        lower_body_ids=[i for i, k in enumerate(entries) if k.get('type') == 'lower'],
        flip_indices=flip_indices, flip_pairs=flip_pairs,
        keypoint_colors=np.array([k.get('color', DEFAULT_KEYPOINT_COLOR) for k in entries],
                                 np.uint8).reshape(num, 3),
        num_skeleton_links=len(links), skeleton_links=links,
        skeleton_link_colors=np.array(link_colors, np.uint8).reshape(len(links), 3),
        dataset_keypoint_weights=_per_keypoint_array(info, 'joint_weights', num, source),
        sigmas=_per_keypoint_array(info, 'sigmas', num, source, allow_empty=True))
    parsed.update({k: v for k, v in info.items() if k not in _CONSUMED})
    return parsed


def keypoint_names(meta: Dict[str, Any]) -> list:
    """The K keypoint names of parsed metainfo, in id order."""
    id2name = meta['keypoint_id2name']
    return [id2name[i] for i in range(meta['num_keypoints'])]



# Keys that travel from a dataset's metainfo into every data info (as MMPose's
# datasets do), so transforms and models read them per sample.
PER_SAMPLE_KEYS = ('flip_indices', 'upper_body_ids', 'lower_body_ids',
                   'dataset_keypoint_weights')


def add_metainfo_to_info(info: dict, meta: Dict[str, Any]) -> dict:
    """``info`` with the per-sample metainfo keys (``PER_SAMPLE_KEYS``) added."""
    for key in PER_SAMPLE_KEYS:
        if key in meta:
            info[key] = meta[key]
    return info
