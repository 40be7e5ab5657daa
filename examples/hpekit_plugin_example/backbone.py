"""A backbone (MODELS) whose stages are made of any registered block design."""
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.registry import BLOCKS, MODELS


@MODELS.register_module()
class TinyConvNet(BaseModule):
    """Stages of a stride-2 3×3 conv + BN + ReLU followed by one block of ``block``.

    Args:
        channels (tuple[int]): output channels of the stages (stride 2 each).
        block (dict): a BLOCKS config, e.g. ``dict(type='SEBottleneck')``.

    [N, 3, H, W] → a 1-tuple with the last stage's map [N, channels[-1], H/2^S, W/2^S]
    (hpekit backbones return tuples of feature maps).
    """

    sweep_example = dict(cfg=dict(channels=(4, 8)), inputs=[(2, 3, 16, 16)])

    def __init__(self, channels=(16, 32, 64, 128), block=dict(type='SEBottleneck'),
                 init_cfg=None):
        super().__init__(init_cfg)
        layers, in_ch = [], 3
        for out_ch in channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
                       BLOCKS.build(dict(block, in_channels=out_ch, out_channels=out_ch))]
            in_ch = out_ch
        self.layers = nn.Sequential(*layers)
        self.out_channels = [channels[-1]]

    def forward(self, x):
        return (self.layers(x), )
