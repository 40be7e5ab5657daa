"""``ExpMomentumEMA``: the model average of RTMPose's recipe (MMPose's and YOLOX's EMA).

Used through mmengine's own ``EMAHook``, which builds ``ema_type`` in the model
registry of the config's scope (hpekit's ``MODELS`` for ``default_scope='hpekit'``)::

    custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
                         update_buffers=True, priority=49)]

``EMAHook`` keeps the average beside the model and, as in mmengine: validates and
tests with the averaged weights (swapped in before the val/test epoch, out after it);
saves them as the checkpoint's ``state_dict`` (so a published checkpoint is the
average) with the trained weights and the average's step count in
``ema_state_dict``; and on resume swaps them back and restores the average, step
count included. ``load_from`` without resume starts the average from the loaded
weights.
"""
import math
from typing import Optional, Union

import torch
from mmengine.model import ExponentialMovingAverage
from torch import Tensor, nn

from hpekit.registry import MODELS


@MODELS.register_module()
class ExpMomentumEMA(ExponentialMovingAverage):
    """Exponential moving average whose momentum decays exponentially towards
    ``momentum``: large early in training, so the average follows the fast-changing
    weights, small later.

    At an update with ``steps`` previous updates, every averaged tensor becomes
    ``avg * (1 - m) + weight * m`` with
    ``m = (1 - momentum) * exp(-(1 + steps) / gamma) + momentum``
    (MMPose's ``ExpMomentumEMA``, after YOLOX). The first update (steps 0) copies the
    weights, as all mmengine averages do. ``steps`` is a buffer of the average, saved
    and restored with it, so a resumed run continues the schedule.

    The momentum is computed once per update (one read of ``steps``), not once per
    tensor: reading a CUDA ``steps`` per tensor would synchronise the GPU hundreds of
    times an iteration.

    Args:
        model (nn.Module): the model to average (``EMAHook`` passes it).
        momentum (float): the final momentum, in (0, 1). Default 0.0002.
        gamma (float): steps over which the extra momentum decays by e (> 0).
            Default 2000.
        interval (int): update every ``interval`` iterations. Default 1.
        device (torch.device | None): keep the average there (default: the model's).
        update_buffers (bool): average the buffers too (BatchNorm statistics), as
            RTMPose does; else copy them from the model. Default False.
    """

    sweep_example = dict(cfg=dict(model=nn.PReLU(), update_buffers=True), inputs=[(3, 2)])

    def __init__(self, model: nn.Module, momentum: float = 0.0002, gamma: float = 2000,
                 interval: int = 1, device: Optional[torch.device] = None,
                 update_buffers: bool = False) -> None:
        super().__init__(model=model, momentum=momentum, interval=interval, device=device,
                         update_buffers=update_buffers)
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma <= 0:
            raise ValueError(f'ExpMomentumEMA: gamma must be a number > 0, got {gamma!r}')
        self.gamma = gamma
        self._update_momentum: Optional[float] = None

    def momentum_at(self, steps: int) -> float:
        """The momentum of the update made after ``steps`` earlier updates."""
        return (1 - self.momentum) * math.exp(-(1 + steps) / self.gamma) + self.momentum

    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model`` in (mmengine's update; the momentum computed once)."""
        self._update_momentum = self.momentum_at(int(self.steps))
        try:
            super().update_parameters(model)
        finally:
            self._update_momentum = None

    def avg_func(self, averaged_param: Tensor, source_param: Tensor,
                 steps: Union[int, Tensor]) -> None:
        """``averaged_param = averaged_param * (1 - m) + source_param * m``, in place."""
        momentum = self._update_momentum
        if momentum is None:   # called directly, not through update_parameters
            momentum = self.momentum_at(int(steps))
        averaged_param.mul_(1 - momentum).add_(source_param, alpha=momentum)
