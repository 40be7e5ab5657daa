"""Losses."""
from hpekit.models.losses.regression import L1Loss, MPJPELoss, MSELoss

__all__ = ['L1Loss', 'MSELoss']
from hpekit.models.losses.heatmap_loss import KeypointMSELoss  # noqa: E402

__all__ += ['KeypointMSELoss']
__all__ += ['MPJPELoss']
from hpekit.models.losses.classification_loss import KLDiscretLoss  # noqa: E402

__all__ += ['KLDiscretLoss']
