"""``KeypointConverter``: a sample's keypoints mapped into another keypoint set (MMPose's
name and arguments), so datasets with different keypoints train one model
(``CombinedDataset``, "Mixing datasets" in docs/config.md).
"""
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from hpekit.registry import TRANSFORMS

#: A source: one keypoint index, or two whose mean is the target (MMPose's form).
Source = Union[int, Tuple[int, int]]
#: Results keys holding targets made from the keypoints: the converter must run first.
TARGET_KEYS = ('heatmaps', 'target_weight', 'keypoint_x_labels', 'keypoint_y_labels')


class KeypointMappingError(ValueError):
    """A ``KeypointConverter`` mapping or the sample it meets is wrong (the message
    names the transform's arguments and the mapping entry or sample)."""


def _is_index(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _sample_text(results: dict) -> str:
    """' (sample_idx N, image X)' for messages, from what the results hold."""
    parts = [f'{key} {results[key]}' for key in ('sample_idx', 'image_id') if key in results]
    return f' ({", ".join(parts)})' if parts else ''


def _source_text(source: Tuple[int, int]) -> str:
    """'a' for a single source (a, a), '(a, b)' for a pair."""
    return str(source[0]) if source[0] == source[1] else str(tuple(source))


def _paired(pairs: Dict[Tuple[int, int], List[int]], mirror: Dict, source: Tuple[int, int],
            position: int):
    """The target that mirrors the ``position``-th target of ``source``, or None."""
    targets = pairs.get(mirror[source], [])
    if len(targets) != len(pairs[source]):
        return None
    return targets[position]


@TRANSFORMS.register_module()
class KeypointConverter(BaseTransform):
    """Map a sample's keypoints into a target keypoint set (MMPose's ``KeypointConverter``).

    ``mapping`` lists ``(source, target)`` pairs: target keypoint ``target`` takes
    source keypoint ``source``, or, for ``source = (a, b)``, the mean of source
    keypoints a and b, labelled only where both are (MMPose's form, e.g. a neck from
    the two shoulders). Target keypoints no pair names get position 0 and visibility
    0: not labelled, so they add nothing to the loss or the metrics. A source may feed
    several targets; each target is named once.

    Reads and replaces (where present): 'keypoints' float [K_src, C] or [N, K_src, C]
    (C = 2 image px, or any C), 'keypoints_visible' [K_src] / [N, K_src] (ones when
    absent, as ``TopdownAffine`` reads it), 'keypoints_input' (when it runs after
    ``TopdownAffine``), and 'num_keypoints' (COCO's count of labelled keypoints,
    recounted). The results become [.., K, C] and [.., K] with K = ``num_keypoints``.

    The per-sample metainfo keys follow the mapping, so a flip after the conversion
    relabels the target keypoints: 'flip_indices' (target t mirrors the target of the
    mirrored source(s) of t; unmapped targets map to themselves), 'upper_body_ids' /
    'lower_body_ids' (targets whose sources are all in the half) and
    'dataset_keypoint_weights' (mean of the sources' weights; 0 for unmapped targets).
    A ``CombinedDataset`` then replaces them by its own metainfo's.

    Must run before ``GenerateTarget`` (targets already made from the source keypoints
    are refused). Typically the only step of a sub-dataset's pipeline in a
    ``CombinedDataset``.

    Args:
        num_keypoints (int): K of the target keypoint set.
        mapping (sequence): ``(source, target)`` pairs; source an index or a pair of
            indices of the source keypoints, target an index in 0..K-1.

    Raises:
        KeypointMappingError: when built, a target outside 0..K-1 or named twice, a
            negative source or a malformed pair; when applied, a source beyond the
            sample's keypoints, a source keypoint whose mirror (its 'flip_indices')
            feeds no target (a flip could not relabel it: map the mirror too), or a
            sample whose targets were already made. Each names the transform's
            arguments and the entry or the sample.
    """

    sweep_example = dict(cfg=dict(num_keypoints=5,
                                  mapping=[(0, 0), (1, 1), (2, 2), (3, 3), ((0, 1), 4)]),
                         results='image')

    def __init__(self, num_keypoints: int, mapping: Sequence[Tuple[Source, int]]) -> None:
        if not _is_index(num_keypoints) or num_keypoints <= 0:
            raise KeypointMappingError(f'KeypointConverter: num_keypoints must be a positive '
                                       f'int, got {num_keypoints!r}')
        self.num_keypoints = int(num_keypoints)
        self.mapping = [self._entry(i, entry) for i, entry in enumerate(mapping)]
        targets = [t for _, t in self.mapping]
        for i, target in enumerate(targets):
            if targets.index(target) != i:
                raise KeypointMappingError(
                    f'{self}: mapping[{i}] names target {target} again (already '
                    f'mapping[{targets.index(target)}]); each target keypoint takes one '
                    'source')
        self.targets = np.array(targets, np.int64)
        self.first = np.array([s[0] for s, _ in self.mapping], np.int64)
        self.second = np.array([s[1] for s, _ in self.mapping], np.int64)

    def _entry(self, i: int, entry) -> Tuple[Tuple[int, int], int]:
        """mapping[i] checked, as ((a, b), target) with a == b for a single source."""
        where = (f'KeypointConverter(num_keypoints={self.num_keypoints}): '
                 f'mapping[{i}] = {entry!r}')
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise KeypointMappingError(f'{where}: expected a pair (source, target)')
        source, target = entry
        if _is_index(source):
            source = (source, source)
        if not isinstance(source, (list, tuple)) or len(source) != 2 or \
                not all(_is_index(s) for s in source):
            raise KeypointMappingError(f'{where}: the source must be a keypoint index or a '
                                       'pair of indices (their mean is the target)')
        if min(source) < 0:
            raise KeypointMappingError(f'{where}: source index {min(source)} is negative')
        if not _is_index(target) or not 0 <= target < self.num_keypoints:
            raise KeypointMappingError(f'{where}: target index {target!r} is outside '
                                       f'0..{self.num_keypoints - 1} (num_keypoints='
                                       f'{self.num_keypoints})')
        return (int(source[0]), int(source[1])), int(target)

    @property
    def max_source(self) -> int:
        """The largest source index the mapping reads (-1 for an empty mapping)."""
        return int(max(self.first.max(initial=-1), self.second.max(initial=-1)))

    # ------------------------------------------------------------------ arrays
    def _convert(self, values: np.ndarray, mean: bool) -> np.ndarray:
        """[..., K_src(, C)] → [..., K(, C)]: mapped targets filled, others 0.

        ``mean``: a pair source gives the mean of its two values (positions), else
        their product (visibility: labelled only where both are)."""
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(np.float32)
        axis = values.ndim - 2 if mean else values.ndim - 1
        out_shape = list(values.shape)
        out_shape[axis] = self.num_keypoints
        out = np.zeros(out_shape, values.dtype)
        first = np.take(values, self.first, axis=axis)
        second = np.take(values, self.second, axis=axis)
        index = [slice(None)] * values.ndim
        index[axis] = self.targets
        out[tuple(index)] = (first + second) / 2 if mean else first * second
        return out

    def _check_sample(self, results: dict, num_source: int) -> None:
        made = [key for key in TARGET_KEYS if key in results]
        if made:
            raise KeypointMappingError(
                f'{self}{_sample_text(results)}: the sample already holds {made}, made '
                'from the source keypoints; put KeypointConverter before GenerateTarget')
        if self.max_source >= num_source:
            i = int(np.flatnonzero(np.maximum(self.first, self.second) >= num_source)[0])
            raise KeypointMappingError(
                f'{self}: mapping[{i}] reads source keypoint '
                f'{max(self.first[i], self.second[i])}, but the sample has {num_source} '
                f'keypoints (0..{num_source - 1}){_sample_text(results)}')

    def transform(self, results: dict) -> dict:
        """Convert the keypoint arrays and the per-sample metainfo (see class doc)."""
        keypoints = np.asarray(results['keypoints'])
        if keypoints.ndim < 2:
            raise KeypointMappingError(f'{self}{_sample_text(results)}: keypoints must be '
                                       f'[K, C] or [N, K, C], got shape {keypoints.shape}')
        num_source = keypoints.shape[-2]
        self._check_sample(results, num_source)
        visible = np.asarray(results.get('keypoints_visible',
                                         np.ones(keypoints.shape[:-1], np.float32)))
        if visible.shape != keypoints.shape[:-1]:
            raise KeypointMappingError(
                f'{self}{_sample_text(results)}: keypoints_visible has shape '
                f'{visible.shape}, expected {keypoints.shape[:-1]} (one per keypoint)')
        results['keypoints'] = self._convert(keypoints, mean=True)
        if 'keypoints_input' in results:
            results['keypoints_input'] = self._convert(np.asarray(results['keypoints_input']),
                                                       mean=True)
        results['keypoints_visible'] = self._convert(visible.astype(np.float32), mean=False)
        if 'num_keypoints' in results:
            counts = np.count_nonzero(results['keypoints_visible'] > 0, axis=-1)
            results['num_keypoints'] = int(counts) if counts.ndim == 0 else counts
        self._convert_metainfo(results, num_source)
        return results

    # ---------------------------------------------------------------- metainfo
    def _convert_metainfo(self, results: dict, num_source: int) -> None:
        """The per-sample metainfo keys of the target set (see class doc)."""
        if 'flip_indices' in results:
            results['flip_indices'] = self._flip_indices(results, num_source)
        for key in ('upper_body_ids', 'lower_body_ids'):
            if key in results:
                ids = set(int(i) for i in results[key])
                results[key] = sorted(t for (a, b), t in self.mapping if a in ids and b in ids)
        if 'dataset_keypoint_weights' in results:
            weights = np.asarray(results['dataset_keypoint_weights'], np.float32)
            results['dataset_keypoint_weights'] = self._convert(weights[:, None],
                                                                mean=True)[:, 0]

    def _flip_indices(self, results: dict, num_source: int) -> List[int]:
        """Target flip map: target t mirrors the target fed by t's mirrored source(s)."""
        flip = [int(i) for i in results['flip_indices']]
        if len(flip) != num_source:
            raise KeypointMappingError(
                f'{self}{_sample_text(results)}: flip_indices has {len(flip)} entries for '
                f'{num_source} source keypoints')
        pairs: Dict[Tuple[int, int], List[int]] = {}
        for (a, b), target in self.mapping:
            pairs.setdefault((min(a, b), max(a, b)), []).append(target)
        mirror = {(a, b): tuple(sorted((flip[a], flip[b]))) for a, b in pairs}
        out = list(range(self.num_keypoints))
        for source, targets in pairs.items():
            for position, target in enumerate(targets):
                paired = _paired(pairs, mirror, source, position)
                if paired is None:
                    raise KeypointMappingError(
                        f'{self}{_sample_text(results)}: target {target} takes source '
                        f'{_source_text(source)}, whose mirror {_source_text(mirror[source])} '
                        f'(flip_indices) feeds {len(pairs.get(mirror[source], []))} '
                        f'target(s), not {len(targets)}: a flipped sample could not be '
                        'relabelled; map the mirrored source keypoint(s) too')
                out[target] = paired
        return out

    def __repr__(self) -> str:
        mapping = [(s[0] if s[0] == s[1] else s, t) for s, t in self.mapping]
        return f'{type(self).__name__}(num_keypoints={self.num_keypoints}, mapping={mapping})'
