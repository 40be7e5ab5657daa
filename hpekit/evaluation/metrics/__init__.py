"""mmengine metric classes (registered in ``hpekit.registry.METRICS``)."""
from hpekit.evaluation.metrics.auc import AUC
from hpekit.evaluation.metrics.coco_metric import CocoMetric
from hpekit.evaluation.metrics.epe import EPE
from hpekit.evaluation.metrics.h36m_metric import H36MPerActionMPJPE
from hpekit.evaluation.metrics.mpii_pckh import MPIIPCKh
from hpekit.evaluation.metrics.mpjpe_metric import MPJPE
from hpekit.evaluation.metrics.pck_accuracy import PCKAccuracy
from hpekit.evaluation.metrics.per_keypoint import (PerKeypointTable, build_table,
                                                    log_per_keypoint_table, write_table_files)

__all__ = ['MPJPE']
__all__ += ['MPIIPCKh']
__all__ += ['CocoMetric', 'PCKAccuracy', 'AUC', 'EPE']
__all__ += ['H36MPerActionMPJPE']
__all__ += ['PerKeypointTable', 'build_table', 'log_per_keypoint_table', 'write_table_files']
