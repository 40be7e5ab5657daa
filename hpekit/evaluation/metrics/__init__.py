"""mmengine metric classes (registered in ``hpekit.registry.METRICS``)."""
from hpekit.evaluation.metrics.coco_metric import CocoMetric
from hpekit.evaluation.metrics.h36m_metric import H36MPerActionMPJPE
from hpekit.evaluation.metrics.mpii_pckh import MPIIPCKh
from hpekit.evaluation.metrics.mpjpe_metric import MPJPE
from hpekit.evaluation.metrics.pck_accuracy import PCKAccuracy

__all__ = ['MPJPE']
__all__ += ['MPIIPCKh']
__all__ += ['CocoMetric', 'PCKAccuracy']
__all__ += ['H36MPerActionMPJPE']
