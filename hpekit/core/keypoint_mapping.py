"""Keypoints of one dataset's definition formed from another's, by keypoint names.

A mapping is data, not code: ``{target name: {source name: weight}}``, each target an
affine combination of source keypoints (weights summing to 1; ``{'a': 0.5, 'b': 0.5}``
is the mean of a and b). Mapping files live beside the metainfo files, e.g.
``configs/_base_/datasets/coco_to_h36m.py`` (COCO-17 → Human3.6M-17, MMPose's rules;
the file documents them), and are read with :func:`load_keypoint_mapping`; a caller
above the config room finds the shipped file with
``hpekit.config.find_config_file('_base_/datasets/coco_to_h36m.py')``.

:func:`map_keypoints` applies a mapping to keypoints [..., K_src, C] (any C: px, mm, m)
and their scores. A target without a rule copies the source keypoint of the same name;
a target that can be formed neither way is an error naming it.
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

Mapping = Dict[str, Dict[str, float]]

# Weights of a rule must sum to 1 within this tolerance (an affine combination).
_WEIGHT_SUM_TOL = 1e-6


def check_keypoint_mapping(mapping: Any, source: str = 'mapping') -> Mapping:
    """Validate a mapping and return it as ``{target: {source: float weight}}``.

    Raises:
        ValueError: naming ``source`` and the target whose rule is not a non-empty
            dict of source names to finite weights summing to 1.
    """
    if not isinstance(mapping, dict):
        raise ValueError(f'{source}: keypoint mapping must be a dict {{target name: '
                         f'{{source name: weight}}}}, got {type(mapping).__name__}')
    checked = {}
    for target, rule in mapping.items():
        if not isinstance(rule, dict) or not rule or \
                not all(isinstance(name, str) for name in rule):
            raise ValueError(f'{source}: the rule of target keypoint {target!r} must be a '
                             f'non-empty dict {{source name: weight}}, got {rule!r}')
        weights = np.asarray(list(rule.values()), dtype=np.float64)
        if not np.isfinite(weights).all() or abs(weights.sum() - 1) > _WEIGHT_SUM_TOL:
            raise ValueError(f'{source}: the weights of target keypoint {target!r} must be '
                             f'finite and sum to 1 (an affine combination), got {rule!r}')
        checked[str(target)] = {name: float(w) for name, w in rule.items()}
    return checked


def load_keypoint_mapping(path: str) -> Mapping:
    """Read ``keypoint_mapping = dict(keypoints={target: {source: weight}}, ...)`` from
    a Python config file (mmengine ``Config``) and validate it.

    Returns:
        dict {target name: {source name: weight}}.
    Raises:
        FileNotFoundError: ``path`` does not exist. ValueError: the file has no
            ``keypoint_mapping['keypoints']`` or a bad rule (file and target named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'keypoint mapping file {path} does not exist')
    cfg = Config.fromfile(path)
    table = cfg.get('keypoint_mapping')
    if not isinstance(table, dict) or 'keypoints' not in table:
        raise ValueError(f"{path}: expected keypoint_mapping = dict(keypoints={{target "
                         f"name: {{source name: weight}}}}, ...)")
    return check_keypoint_mapping(table['keypoints'].to_dict()
                                  if hasattr(table['keypoints'], 'to_dict')
                                  else table['keypoints'], path)


def _rules(src_names: Sequence[str], dst_names: Sequence[str],
           mapping: Mapping) -> List[List[Tuple[int, float]]]:
    """Per target, the (source index, weight) pairs; ValueError naming every target
    that cannot be formed from ``src_names``."""
    index = {name: i for i, name in enumerate(src_names)}
    rules, problems = [], []
    for target in dst_names:
        rule = mapping.get(target, {target: 1.0} if target in index else None)
        if rule is None:
            problems.append(f'{target!r} (no rule in the mapping and no source keypoint '
                            'of that name)')
            continue
        missing = [name for name in rule if name not in index]
        if missing:
            problems.append(f'{target!r} (needs {", ".join(rule)}; not in the source: '
                            f'{", ".join(missing)})')
            continue
        rules.append([(index[name], w) for name, w in rule.items()])
    if problems:
        raise ValueError(f'cannot form the target keypoints {"; ".join(problems)} from '
                         f'the source keypoints {list(src_names)}')
    return rules


def map_keypoints(keypoints: Any, scores: Optional[Any], src_names: Sequence[str],
                  dst_names: Sequence[str], mapping: Optional[Mapping] = None
                  ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Form the ``dst_names`` keypoints from the ``src_names`` ones.

    Args:
        keypoints: [..., K_src, C] (any leading dims: people, frames; any unit).
        scores: [..., K_src] or None.
        src_names: the K_src names of the source keypoints, in order.
        dst_names: the K_dst names wanted, in order.
        mapping: ``{target: {source: weight}}`` (see the module docstring); None: only
            same-named keypoints are copied.

    Returns:
        (keypoints float64 [..., K_dst, C], scores float64 [..., K_dst] or None): each
        target the weighted sum of its sources (NaN if one of them is NaN), its score
        the lowest of its sources' scores.

    Raises:
        ValueError: a bad shape, a bad mapping, or target keypoints that cannot be
            formed (all of them named, with the sources they need).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    src_names, dst_names = list(src_names), list(dst_names)
    if keypoints.ndim < 2 or keypoints.shape[-2] != len(src_names):
        raise ValueError(f'keypoints must have shape [..., K_src, C] with K_src = '
                         f'{len(src_names)} (the source names), got {list(keypoints.shape)}')
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != keypoints.shape[:-1]:
            raise ValueError(f'scores must have shape {list(keypoints.shape[:-1])}, '
                             f'got {list(scores.shape)}')
    if not dst_names:
        raise ValueError('dst_names is empty: name at least one target keypoint')
    rules = _rules(src_names, dst_names, check_keypoint_mapping(mapping or {}))
    out = np.stack([sum(w * keypoints[..., i, :] for i, w in rule) for rule in rules],
                   axis=-2)
    if scores is None:
        return out, None
    out_scores = np.stack([np.min([scores[..., i] for i, _ in rule], axis=0)
                           for rule in rules], axis=-1)
    return out, out_scores
