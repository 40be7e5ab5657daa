"""The model's 4-D tensors in ``torch.channels_last`` memory format."""
import torch
from mmengine.hooks import Hook

from hpekit.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put the model's 4-D parameters and buffers in ``torch.channels_last`` memory format.

    Faster convolutions on recent GPUs (tensor cores prefer NHWC); the values and the
    outputs are the same. Inputs in the default layout are converted by the first
    convolution. Enable with ``custom_hooks = [dict(type='ChannelsLastHook')]`` (or
    ``tools/benchmark.py --channels-last``).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner):
        runner.model.to(memory_format=torch.channels_last)
