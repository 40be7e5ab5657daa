"""``CombinedDataset``: datasets with different keypoint sets as one training set
(MMPose's name and config shape; "Mixing datasets" in docs/config.md).

Each sub-dataset maps its samples into the combined keypoint order with its own
pipeline (typically one ``KeypointConverter``); the combined pipeline (loading,
cropping, targets, packing) then runs on every sample, with the per-sample metainfo
keys of the combined metainfo::

    train_dataloader = dict(dataset=dict(
        type='CombinedDataset',
        metainfo=dict(from_file='configs/_base_/datasets/coco_mpii_combined.py'),
        datasets=[dict(type='CocoDataset', ..., pipeline=[dict(type='KeypointConverter',
                       num_keypoints=21, mapping=[(i, i) for i in range(17)])]),
                  dict(type='MPIIDataset', ..., pipeline=[dict(type='KeypointConverter',
                       num_keypoints=21, mapping=[(0, 16), (1, 14), ...])])],
        pipeline=train_pipeline))
"""
import bisect
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from hpekit.datasets.base import BasePoseDataset, build_pipeline
from hpekit.datasets.metainfo import add_metainfo_to_info
from hpekit.datasets.transforms.keypoint_converter import KeypointConverter, KeypointMappingError
from hpekit.registry import DATASETS, TRANSFORMS

#: configs/_base_/datasets/coco_mpii_combined.py's order from MPII's (source, target).
_MPII_TO_COCO_MPII = [(0, 16), (1, 14), (2, 12), (3, 11), (4, 13), (5, 15), (6, 17), (7, 18),
                      (8, 19), (9, 20), (10, 10), (11, 8), (12, 6), (13, 5), (14, 7), (15, 9)]


class CombinedDatasetError(ValueError):
    """A sub-dataset of a ``CombinedDataset`` does not fit the combined keypoint set
    (the message names ``datasets[i]`` and the fix)."""


def _name(dataset: Any) -> str:
    return type(dataset).__name__


def _transforms(dataset: Any) -> list:
    """The transforms of a dataset's pipeline (mmengine's ``Compose``), or []."""
    return list(getattr(getattr(dataset, 'pipeline', None), 'transforms', None) or ())


def _pipeline_input_size(transforms: Sequence[Any]) -> Optional[Tuple[int, int]]:
    """The (W, H) of the first transform with an ``input_size`` (the crop), or None."""
    for transform in transforms:
        size = getattr(transform, 'input_size', None)
        if size is not None:
            return int(size[0]), int(size[1])
    return None


def _check_factors(factors: Optional[Sequence[float]], count: int) -> Optional[List[float]]:
    """``sample_ratio_factor`` as floats, one per sub-dataset, each finite and >= 0."""
    if factors is None:
        return None
    if isinstance(factors, (str, bytes)) or not hasattr(factors, '__len__') or \
            len(factors) != count:
        raise CombinedDatasetError(
            f'CombinedDataset: sample_ratio_factor must list one factor per sub-dataset '
            f'({count}), got {factors!r}')
    out = []
    for i, value in enumerate(factors):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not np.isfinite(value) or value < 0:
            raise CombinedDatasetError(f'CombinedDataset: sample_ratio_factor[{i}] must be a '
                                       f'finite number >= 0, got {value!r}')
        out.append(float(value))
    return out


@DATASETS.register_module()
class CombinedDataset(BasePoseDataset):
    """Several pose datasets as one, in one keypoint set (MMPose's ``CombinedDataset``).

    Sample ``idx`` is taken from sub-dataset i (in the order of ``datasets``, each
    contributing ``len(datasets[i])`` consecutive indices, or as
    ``sample_ratio_factor`` says): the sub-dataset's item (its ``get_data_info`` through
    its own pipeline, typically one ``KeypointConverter`` into the combined order),
    with the per-sample metainfo keys (``flip_indices``, ``upper_body_ids``,
    ``lower_body_ids``, ``dataset_keypoint_weights``) of the combined metainfo, then
    through the combined ``pipeline``. ``metainfo`` (and so the model's
    ``dataset_meta``: keypoint names, sigmas, skeleton) is the combined metainfo. The
    samples keep their sub-dataset's fields ('sample_idx' is the position in the
    sub-dataset).

    Every sample must carry K = the combined ``num_keypoints`` keypoints after its
    sub-dataset's pipeline: checked when built (the sub-dataset's metainfo or its
    pipeline's last ``KeypointConverter``) and for every sample.

    Works with mmengine's samplers and distributed runs as any dataset: its length and
    indexing are fixed once the sub-datasets are loaded (``full_init``).

    Args:
        metainfo (dict): the combined keypoint set: ``dict(from_file=...)`` or a
            ``dataset_info`` dict (parsed by ``parse_pose_metainfo``).
        datasets (sequence): the sub-datasets: configs (built in DATASETS) or built
            datasets.
        pipeline (sequence): transforms run after each sub-dataset's own pipeline.
        sample_ratio_factor (sequence[float], optional): per sub-dataset, MMPose's
            resampling: sub-dataset i contributes ``round(len_i · factor_i)`` indices,
            each drawn at random from its share of the sub-dataset (index j from
            ``[j·g, (j+1)·g)``, g = len_i / that count; the share's first index in
            ``test_mode``), so a factor < 1 sees a different subset each epoch and a
            factor > 1 repeats samples.
        data_root (str): the ``data_root`` of the sub-dataset configs that set none
            (so ``--cfg-options ...dataset.data_root=DIR`` moves those).
        test_mode (bool): mmengine's test mode (no re-fetching; deterministic
            resampling).
        lazy_init (bool): defer loading the sub-datasets' lengths to first use.
        max_refetch (int): mmengine's re-fetch limit when the pipeline returns None.

    Raises:
        CombinedDatasetError: no sub-dataset, a bad ``sample_ratio_factor``, a
            sub-dataset whose samples do not have the combined keypoint count (naming
            ``datasets[i]`` and the ``KeypointConverter`` to add), whose crop boxes
            do not take the combined pipeline's input aspect ratio, or with no samples
            in total.
        KeypointMappingError: a sub-dataset's ``KeypointConverter`` is malformed or
            reads source keypoints the sub-dataset does not have
            (``datasets[i].pipeline[j]`` named).
    """

    sweep_example = dict(
        cfg=dict(metainfo=dict(from_file='configs/_base_/datasets/coco_mpii_combined.py'),
                 datasets=[dict(type='MPIIDataset', ann_file='annotations/mpii_val.json',
                                pipeline=[dict(type='KeypointConverter', num_keypoints=21,
                                               mapping=_MPII_TO_COCO_MPII)])],
                 pipeline=[dict(type='LoadImage', input_size=(32, 32)),
                           dict(type='TopdownAffine', input_size=(32, 32), augment=False),
                           dict(type='PackPoseInputs')],
                 test_mode=True),
        data='mpii')

    def __init__(self, metainfo: Dict[str, Any], datasets: Sequence[Union[dict, Any]],
                 pipeline: Sequence = (), sample_ratio_factor: Optional[Sequence[float]] = None,
                 data_root: str = '', test_mode: bool = False, lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        if isinstance(datasets, (dict, str)) or not datasets:
            raise CombinedDatasetError('CombinedDataset: datasets must list at least one '
                                       f'dataset (config or built dataset), got {datasets!r}')
        self.metainfo_source = (metainfo.get('from_file', 'the metainfo dict')
                                if isinstance(metainfo, dict) else 'the metainfo')
        self.datasets = [self._build(i, cfg, data_root) for i, cfg in enumerate(datasets)]
        self.sample_ratio_factor = _check_factors(sample_ratio_factor, len(self.datasets))
        self._lens: List[int] = []
        self._source_lens: List[int] = []
        self._ends: List[int] = []
        super().__init__(metainfo=metainfo, data_root=data_root,
                         pipeline=build_pipeline(pipeline), test_mode=test_mode,
                         lazy_init=True, max_refetch=max_refetch)
        for i, dataset in enumerate(self.datasets):
            self._check_keypoint_count(i, dataset)
            self._check_crop_aspect(i, dataset)
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------- building
    @staticmethod
    def _build(i: int, cfg: Union[dict, Any], data_root: str) -> Any:
        """Sub-dataset i, built from its config (its KeypointConverter steps checked
        first, so an error names ``datasets[i].pipeline[j]``)."""
        if not isinstance(cfg, dict):
            if not (hasattr(cfg, '__getitem__') and hasattr(cfg, '__len__')):
                raise CombinedDatasetError(f'CombinedDataset: datasets[{i}] must be a dataset '
                                           f'config dict or a dataset, got {cfg!r:.80}')
            return cfg
        cfg = dict(cfg)
        if data_root and 'data_root' not in cfg:
            cfg['data_root'] = data_root
        for j, step in enumerate(cfg.get('pipeline') or ()):
            if isinstance(step, dict) and step.get('type') in ('KeypointConverter',
                                                               KeypointConverter):
                try:
                    TRANSFORMS.build(step)
                except KeypointMappingError as err:
                    raise KeypointMappingError(
                        f'CombinedDataset datasets[{i}].pipeline[{j}]: {err}') from None
        return DATASETS.build(cfg)

    @property
    def num_keypoints(self) -> int:
        """K of the combined metainfo."""
        return int(self._metainfo['num_keypoints'])

    def _fix(self, i: int) -> str:
        return (f"end datasets[{i}].pipeline with dict(type='KeypointConverter', "
                f'num_keypoints={self.num_keypoints}, mapping=[(source, target), ...]) that '
                f'maps its keypoints into the order of {self.metainfo_source}')

    def _check_keypoint_count(self, i: int, dataset: Any) -> None:
        """Sub-dataset i gives K keypoints: its last KeypointConverter's, else its
        metainfo's; the first converter reads only keypoints the metainfo has."""
        num = (getattr(dataset, 'metainfo', None) or {}).get('num_keypoints')
        converters = [t for t in _transforms(dataset) if isinstance(t, KeypointConverter)]
        where = f'CombinedDataset: datasets[{i}] ({_name(dataset)})'
        if converters and num is not None and converters[0].max_source >= num:
            raise KeypointMappingError(
                f'{where}: its {converters[0]} reads source keypoint '
                f'{converters[0].max_source}, but the dataset has {num} keypoints '
                f'(0..{num - 1})')
        given = converters[-1].num_keypoints if converters else num
        if given is not None and given != self.num_keypoints:
            source = (f'its KeypointConverter maps to {given}' if converters else
                      f'gives {given} keypoints (its metainfo) and has no KeypointConverter')
            raise CombinedDatasetError(
                f'{where} {source}, but the combined metainfo ({self.metainfo_source}) has '
                f'{self.num_keypoints} keypoints: {self._fix(i)}')

    def _check_crop_aspect(self, i: int, dataset: Any) -> None:
        """A sub-dataset that fits its crop boxes to an input size (``CocoDataset``)
        must fit them to the aspect ratio the combined pipeline crops to."""
        size = _pipeline_input_size(_transforms(self))
        if size is None or not hasattr(dataset, 'crop_input_size'):
            return
        own = dataset.crop_input_size
        if own is None or abs(own[0] * size[1] - own[1] * size[0]) > 1e-6 * own[0] * size[1]:
            raise CombinedDatasetError(
                f'CombinedDataset: datasets[{i}] ({_name(dataset)}) fits its person boxes to '
                f'input_size {own} (None: the boxes keep their own shape), but the combined '
                f'pipeline crops to {size}, which would stretch them: set '
                f"input_size={size} (codec['input_size']) in datasets[{i}]")

    # ------------------------------------------------------------- indexing
    def full_init(self) -> None:
        """Load the sub-datasets and fix the length and the index ranges."""
        if self._fully_initialized:
            return
        for dataset in self.datasets:
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
        self._source_lens = [len(dataset) for dataset in self.datasets]
        factors = self.sample_ratio_factor or [1.0] * len(self.datasets)
        self._lens = [int(round(n * f)) for n, f in zip(self._source_lens, factors)]
        self._ends = np.cumsum(self._lens).tolist()
        if self._ends[-1] == 0:
            raise CombinedDatasetError(
                f'CombinedDataset: no samples (sub-dataset lengths {self._source_lens}, '
                f'sample_ratio_factor {self.sample_ratio_factor})')
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return int(self._ends[-1])

    def locate(self, idx: int) -> Tuple[int, int]:
        """(sub-dataset i, index in it) of sample ``idx`` (negative counts from the
        end); with ``sample_ratio_factor`` the index is drawn as the class doc says."""
        total = len(self)
        if not -total <= idx < total:
            raise IndexError(f'CombinedDataset: index {idx} is out of range for '
                             f'{total} samples')
        idx = idx + total if idx < 0 else idx
        subset = bisect.bisect_right(self._ends, idx)
        local = idx - (self._ends[subset - 1] if subset else 0)
        if self.sample_ratio_factor is not None:
            gap = self._source_lens[subset] / self._lens[subset]
            offset = 0.0 if self.test_mode else np.random.rand()
            local = min(int((local + offset) * gap), self._source_lens[subset] - 1)
        return subset, local

    def get_data_info(self, idx: int) -> dict:
        """Sub-dataset i's item for sample ``idx`` (through its own pipeline), checked
        to have the combined keypoint count, with the combined per-sample metainfo."""
        subset, local = self.locate(idx)
        info = self.datasets[subset][local]
        self._check_sample(subset, info)
        return add_metainfo_to_info(info, self._metainfo)

    def _check_sample(self, i: int, info: Any) -> None:
        where = f'CombinedDataset: datasets[{i}] ({_name(self.datasets[i])})'
        if not isinstance(info, dict) or 'keypoints' not in info:
            found = sorted(info) if isinstance(info, dict) else type(info).__name__
            raise CombinedDatasetError(
                f"{where} gave a sample without 'keypoints' (found {found}): a "
                "sub-dataset's pipeline maps keypoints only (KeypointConverter); loading, "
                "cropping and packing belong in the CombinedDataset's pipeline")
        shapes = [np.shape(info['keypoints'])[-2:-1]]
        if info.get('keypoints_visible') is not None:
            shapes.append(np.shape(info['keypoints_visible'])[-1:])
        if any(shape != (self.num_keypoints, ) for shape in shapes):
            sample = f" (sample_idx {info['sample_idx']})" if 'sample_idx' in info else ''
            raise CombinedDatasetError(
                f'{where} gave a sample{sample} with keypoints {np.shape(info["keypoints"])}'
                f' and keypoints_visible {np.shape(info.get("keypoints_visible"))}, but the '
                f'combined metainfo ({self.metainfo_source}) has {self.num_keypoints} '
                f'keypoints: {self._fix(i)}')
