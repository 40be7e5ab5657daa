"""Datasets (registered in ``hpekit.registry.DATASETS``), their metainfo and transforms."""
from . import h36m_clips, mpii, synthetic, transforms  # noqa: F401  (registers the parts)
from .base import BasePoseDataset
from .coco import CocoDataset
from .h36m_clips import H36MClipDataset, SyntheticH36MClips
from .h36m_video import H36MLiftingDataset, H36MVideoDataset
from .metainfo import MetainfoError, keypoint_names, parse_pose_metainfo
from .mpii import MPIIDataset

__all__ = ['BasePoseDataset', 'H36MClipDataset', 'SyntheticH36MClips', 'MPIIDataset',
           'MetainfoError', 'keypoint_names', 'parse_pose_metainfo']
__all__ += ['CocoDataset']
__all__ += ['H36MLiftingDataset', 'H36MVideoDataset']
