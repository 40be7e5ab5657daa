"""Datasets (registered in ``hpekit.registry.DATASETS``) and their transforms."""
from . import h36m_clips, synthetic, transforms  # noqa: F401  (registers the parts)
from .h36m_clips import (H36M_FLIP_INDICES, H36M_JOINT_NAMES, H36M_SKELETON,
                         H36MClipDataset, SyntheticH36MClips)

__all__ = ['H36MClipDataset', 'SyntheticH36MClips', 'H36M_JOINT_NAMES',
           'H36M_FLIP_INDICES', 'H36M_SKELETON']
from . import mpii  # noqa: F401,E402  (registers MPIIDataset)
from .mpii import MPII_FLIP_INDICES, MPII_JOINT_NAMES, MPII_SKELETON, MPIIDataset  # noqa: E402
__all__ += ['MPIIDataset', 'MPII_JOINT_NAMES', 'MPII_FLIP_INDICES', 'MPII_SKELETON']
