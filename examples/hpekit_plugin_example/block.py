"""A residual-block design (BLOCKS): pre-activation bottleneck + squeeze-and-excitation."""
import torch.nn as nn

from hpekit.registry import BLOCKS


@BLOCKS.register_module()
class SEBottleneck(nn.Module):
    """BN→ReLU→1×1, BN→ReLU→3×3, BN→ReLU→1×1 (width out/2 inside), then channel
    attention (global pool → 1×1 → ReLU → 1×1 → sigmoid, ``reduction``), plus the
    shortcut (identity, or a 1×1 conv when the widths differ).

    [N, in_channels, H, W] → [N, out_channels, H, W]. Any part that builds blocks from
    the BLOCKS registry (the stacked hourglass, the TinyConvNet backbone) takes it.
    """

    sweep_example = dict(cfg=dict(in_channels=4, out_channels=8), inputs=[(2, 4, 6, 6)])

    def __init__(self, in_channels, out_channels, reduction=4):
        super().__init__()
        mid = max(out_channels // 2, 1)

        def step(cin, cout, k):
            return [nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                    nn.Conv2d(cin, cout, k, padding=k // 2)]

        self.body = nn.Sequential(*step(in_channels, mid, 1), *step(mid, mid, 3),
                                  *step(mid, out_channels, 1))
        squeeze = max(out_channels // reduction, 1)
        self.excite = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                                    nn.Conv2d(out_channels, squeeze, 1), nn.ReLU(inplace=True),
                                    nn.Conv2d(squeeze, out_channels, 1), nn.Sigmoid())
        self.shortcut = nn.Identity() if in_channels == out_channels else \
            nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        y = self.body(x)
        return self.shortcut(x) + y * self.excite(y)
