"""Datasets (registered in ``hpekit.registry.DATASETS``), their metainfo and transforms."""
from hpekit.datasets import h36m_clips, mpii, transforms  # noqa: F401  (registers the parts)
from hpekit.datasets.base import BasePoseDataset
from hpekit.datasets.coco import CocoDataset
from hpekit.datasets.combined import CombinedDataset, CombinedDatasetError
from hpekit.datasets.h36m_clips import H36MClipDataset, SyntheticH36MClips
from hpekit.datasets.h36m_video import H36MLiftingDataset, H36MVideoDataset
from hpekit.datasets.metainfo import MetainfoError, keypoint_names, parse_pose_metainfo
from hpekit.datasets.mpii import MPIIDataset

__all__ = ['BasePoseDataset', 'H36MClipDataset', 'SyntheticH36MClips', 'MPIIDataset',
           'MetainfoError', 'keypoint_names', 'parse_pose_metainfo']
__all__ += ['CocoDataset']
__all__ += ['H36MLiftingDataset', 'H36MVideoDataset']
__all__ += ['CombinedDataset', 'CombinedDatasetError']
