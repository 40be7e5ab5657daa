"""Losses."""
from .regression import L1Loss, MSELoss

__all__ = ['L1Loss', 'MSELoss']
