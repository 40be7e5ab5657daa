"""Object detectors (MMDetection's RTMDet) and their data preprocessor."""
from hpekit.models.detectors.data_preprocessor import DetDataPreprocessor
from hpekit.models.detectors.rtmdet import RTMDet

__all__ = ['DetDataPreprocessor', 'RTMDet']
