"""mmengine metric classes (registered in ``hpekit.registry.METRICS``)."""
from .mpjpe_metric import MPJPE

__all__ = ['MPJPE']
