"""Two-conv designs (no bottleneck): two 3×3 convs in→out/2→out, pre-activation."""
from hpekit.models.backbones.blocks.base import (DWSepConv, PreActResidual, check_dilation, conv3x3,
                                                 pre_act_body)
from hpekit.registry import BLOCKS


@BLOCKS.register_module()
class TwoDWSepConv(PreActResidual):
    """Two depthwise-separable 3×3 convs: BN→ReLU→DWSep in→out/2, BN→ReLU→DWSep out/2→out.

    Both DW convs use dilation ``dilation``; shortcut identity (in==out) or a biased
    1×1 conv; ``skip=False`` drops it.

    Input [N, in_channels, H, W] → output [N, out_channels, H, W].
    """

    sweep_example = dict(cfg=dict(in_channels=8, out_channels=8, skip=False),
                         inputs=[(2, 8, 8, 8)])

    def __init__(self, in_channels, out_channels, dilation=1, skip=True):
        super().__init__(in_channels, out_channels, skip)
        check_dilation(dilation)
        mid = out_channels // 2
        self.body = pre_act_body([
            (in_channels, DWSepConv(in_channels, mid, dilation=dilation)),
            (mid, DWSepConv(mid, out_channels, dilation=dilation)),
        ])


@BLOCKS.register_module()
class TwoConv3x3(PreActResidual):
    """Two plain 3×3 convs (biased): BN→ReLU→conv in→out/2, BN→ReLU→conv out/2→out.

    Both convs use dilation ``dilation``; shortcut identity (in==out) or a biased 1×1
    conv; ``skip=False`` drops it.

    Input [N, in_channels, H, W] → output [N, out_channels, H, W].
    """

    sweep_example = dict(cfg=dict(in_channels=4, out_channels=8), inputs=[(2, 4, 8, 8)])

    def __init__(self, in_channels, out_channels, dilation=1, skip=True):
        super().__init__(in_channels, out_channels, skip)
        check_dilation(dilation)
        mid = out_channels // 2
        self.body = pre_act_body([
            (in_channels, conv3x3(in_channels, mid, dilation)),
            (mid, conv3x3(mid, out_channels, dilation)),
        ])
