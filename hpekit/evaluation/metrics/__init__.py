"""mmengine metric classes (registered in ``hpekit.registry.METRICS``)."""
from .mpjpe_metric import MPJPE
from .mpii_pckh import MPIIPCKh

__all__ = ['MPJPE']
__all__ += ['MPIIPCKh']
