"""Dataset metainfo in MMPose's ``dataset_info`` format, parsed into lookup tables.

A metainfo file (``configs/_base_/datasets/<name>.py``, MMPose's own files read
unchanged) defines ``dataset_info = dict(dataset_name=..., keypoint_info={id: dict(
name, id, color, type='upper'|'lower'|'', swap=<mirror joint name or ''>)},
skeleton_info={id: dict(link=(name, name), id, color)}, joint_weights=[K floats],
sigmas=[K floats or empty])``. Other keys (e.g. ``paper_info``, or hpekit's optional
``pckh_table``) are passed through.

Every dataset, transform, metric, visualiser and tool reads joint counts, names,
flip pairs, body halves and skeletons from the parsed dict; nothing else in the
package names a dataset's joints.
"""
from typing import Any, Dict

import numpy as np
from mmengine.config import Config

from hpekit.config.files import find_config_file

REQUIRED_KEYS = ('dataset_name', 'keypoint_info', 'skeleton_info', 'joint_weights',
                 'sigmas')
_CONSUMED = set(REQUIRED_KEYS) | {'from_file'}
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
                  f'{entries[j]["name"]}, which swaps with {entries[indices[j]]["name"]}')
    return indices, sorted(set(pairs))


def _per_keypoint_array(info, key, num, source, allow_empty=False):
    values = np.asarray(info[key], dtype=np.float32).reshape(-1)
    if not (len(values) == num or (allow_empty and len(values) == 0)):
        _fail(source, key, f'expected {num} values (one per keypoint), found {len(values)}')
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
            non-symmetric swap, or per-keypoint lists of the wrong length (the source
            and field are named). FileNotFoundError: ``from_file`` not found.
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
    name2id = {name: i for i, name in enumerate(names)}
    flip_indices, flip_pairs = _flip_tables(entries, name2id, source)
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
