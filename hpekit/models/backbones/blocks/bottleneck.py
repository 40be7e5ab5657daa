"""Pre-activation bottleneck designs: 1×1 → 3×3 → 1×1 with width out/2 inside."""
from hpekit.models.backbones.blocks.base import (DWSepConv, PreActResidual, check_dilation, conv1x1,
                                                 conv3x3, pre_act_body)
from hpekit.registry import BLOCKS


@BLOCKS.register_module()
class PreActBottleneck(PreActResidual):
    """The hourglass baseline block (Newell et al.).

    BN→ReLU→1×1 conv in→out/2, BN→ReLU→3×3 conv out/2→out/2 (dilation ``dilation``),
    BN→ReLU→1×1 conv out/2→out; all convs biased; shortcut identity (in==out) or a
    biased 1×1 conv; ``skip=False`` drops the shortcut.

    Input [N, in_channels, H, W] → output [N, out_channels, H, W].
    """

    sweep_example = dict(cfg=dict(in_channels=4, out_channels=8), inputs=[(2, 4, 8, 8)])

    def __init__(self, in_channels, out_channels, dilation=1, skip=True):
        super().__init__(in_channels, out_channels, skip)
        check_dilation(dilation)
        mid = out_channels // 2
        self.body = pre_act_body([
            (in_channels, conv1x1(in_channels, mid)),
            (mid, conv3x3(mid, mid, dilation)),
            (mid, conv1x1(mid, out_channels)),
        ])


@BLOCKS.register_module()
class DWSepBottleneck(PreActResidual):
    """Bottleneck whose three convs are all 3×3 depthwise + 1×1 pointwise (biased).

    BN→ReLU→DWSep in→out/2, BN→ReLU→DWSep out/2→out/2 (dilation ``dilation``),
    BN→ReLU→DWSep out/2→out; shortcut as in :class:`PreActBottleneck` (a plain 1×1
    conv projection — that reading reproduces the 2.92 M of the design table).

    Input [N, in_channels, H, W] → output [N, out_channels, H, W].
    """

    sweep_example = dict(cfg=dict(in_channels=4, out_channels=8), inputs=[(2, 4, 8, 8)])

    def __init__(self, in_channels, out_channels, dilation=1, skip=True):
        super().__init__(in_channels, out_channels, skip)
        check_dilation(dilation)
        mid = out_channels // 2
        self.body = pre_act_body([
            (in_channels, DWSepConv(in_channels, mid)),
            (mid, DWSepConv(mid, mid, dilation=dilation)),
            (mid, DWSepConv(mid, out_channels)),
        ])


@BLOCKS.register_module()
class DWSepMidBottleneck(PreActResidual):
    """Bottleneck whose middle 3×3 conv only is depthwise-separable.

    BN→ReLU→1×1 conv in→out/2, BN→ReLU→DWSep 3×3 out/2→out/2 (dilation ``dilation``),
    BN→ReLU→1×1 conv out/2→out; shortcut as in :class:`PreActBottleneck`.

    Input [N, in_channels, H, W] → output [N, out_channels, H, W].
    """

    sweep_example = dict(cfg=dict(in_channels=4, out_channels=8, dilation=2),
                         inputs=[(2, 4, 8, 8)])

    def __init__(self, in_channels, out_channels, dilation=1, skip=True):
        super().__init__(in_channels, out_channels, skip)
        check_dilation(dilation)
        mid = out_channels // 2
        self.body = pre_act_body([
            (in_channels, conv1x1(in_channels, mid)),
            (mid, DWSepConv(mid, mid, dilation=dilation)),
            (mid, conv1x1(mid, out_channels)),
        ])
