"""Frozen stages and frozen BatchNorm statistics for backbones (MMPose's
``frozen_stages`` and ``norm_eval`` options), in one place.

A backbone mixes in ``FrozenStagesMixin`` before mmengine's ``BaseModule`` and defines
``_frozen_modules()`` (the modules its ``frozen_stages`` freezes) and ``norm_eval``.
"""
from typing import List

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


class FrozenStagesMixin:
    """``train(mode)`` that keeps frozen stages in eval with ``requires_grad=False``,
    and with ``norm_eval`` every BatchNorm in eval (running statistics fixed)."""

    norm_eval: bool = False

    def _frozen_modules(self) -> List[nn.Module]:
        """The modules that ``frozen_stages`` freezes (none by default)."""
        return []

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Set the mode; frozen stages (and with ``norm_eval`` all BNs) stay in eval.
        Returns the module itself."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
