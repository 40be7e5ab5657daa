"""Optimizer wrappers (registered in ``hpekit.registry.OPTIM_WRAPPERS``)."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from hpekit.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Mixed precision without loss scaling: ``torch.autocast`` around the forward.

    For bfloat16, which needs no loss scaling, on any device — in particular the CPU,
    where mmengine's ``AmpOptimWrapper`` refuses to run. ``tools/train.py --amp`` picks
    this wrapper on CPU-only machines and mmengine's ``AmpOptimWrapper`` on GPUs.

    Args:
        dtype (str): 'bfloat16' (default) or 'float16' (float16 only where the caller
            accepts no loss scaling).
        **kwargs: as mmengine's ``OptimWrapper`` (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"AutocastOptimWrapper: dtype must be 'bfloat16' or "
                             f"'float16', got {dtype!r}")
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device, dtype=self.cast_dtype):
            yield
