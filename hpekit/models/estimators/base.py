"""Helpers shared by the top-level estimators."""
import torch.nn as nn

from hpekit.registry import MODELS


def build_part(cfg):
    """Build a part config with hpekit's MODELS; pass built modules and None through."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)
