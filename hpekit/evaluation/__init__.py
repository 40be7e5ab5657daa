"""Evaluation: pure numpy metric functions and mmengine metric classes."""
from . import functional, metrics  # noqa: F401  (registers the metric classes)
from .metrics import *  # noqa: F401,F403
