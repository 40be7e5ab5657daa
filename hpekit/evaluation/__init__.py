"""Evaluation: pure numpy metric functions and mmengine metric classes."""
from hpekit.evaluation import functional, metrics  # noqa: F401  (registers the metric classes)
from hpekit.evaluation.metrics import *  # noqa: F401,F403
