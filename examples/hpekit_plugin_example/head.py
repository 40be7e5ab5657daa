"""A heatmap head (MODELS): loss, flip test and decoding come from hpekit's base."""
import torch.nn as nn

from hpekit.models.heads.heatmap_heads import BaseHeatmapHead
from hpekit.registry import MODELS


@MODELS.register_module()
class ConvHeatmapHead(BaseHeatmapHead):
    """3×3 conv + BN + ReLU, then a 1×1 conv to K heatmaps at the feature resolution.

    Args:
        in_channels (int): channels of the backbone's last map.
        num_joints (int): K.
        decoder (dict): the config's codec (``decoder=codec`` in a config).
        mid_channels (int): width of the 3×3 conv.
        loss (dict): heatmap loss config.

    forward(tuple of maps, the last used, [B, C, h, w]) → ([B, K, h, w],).
    ``loss``/``predict`` are ``BaseHeatmapHead``'s.
    """

    sweep_example = dict(
        cfg=dict(in_channels=4, num_joints=3,
                 decoder=dict(type='MSRAHeatmap', input_size=(16, 16), heatmap_size=(4, 4))),
        inputs=[[(2, 4, 4, 4)]])

    def __init__(self, in_channels, num_joints, decoder, mid_channels=64,
                 loss=dict(type='KeypointMSELoss', use_target_weight=True), init_cfg=None):
        super().__init__(num_joints, loss, decoder, init_cfg=init_cfg)
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, num_joints, 1))

    def forward(self, feats):
        return (self.layers(feats[-1]), )
