"""mmengine metric classes (registered in ``hpekit.registry.METRICS``)."""
from .mpjpe_metric import MPJPE
from .h36m_metric import H36MPerActionMPJPE
from .mpii_pckh import MPIIPCKh
from .coco_metric import CocoMetric
from .pck_accuracy import PCKAccuracy

__all__ = ['MPJPE']
__all__ += ['MPIIPCKh']
__all__ += ['CocoMetric', 'PCKAccuracy']
__all__ += ['H36MPerActionMPJPE']
