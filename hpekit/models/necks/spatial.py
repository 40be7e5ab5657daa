"""Spatial necks: turn a backbone feature map into one feature vector per frame."""
import torch
import torch.nn as nn

from hpekit.models.necks.temporal import check_positive_int
from hpekit.registry import MODELS


def last_feature_map(feats):
    """The tensor itself, or the last element of a tuple/list of feature maps."""
    if isinstance(feats, (tuple, list)):
        if not feats:
            raise ValueError('expected a tensor or a non-empty tuple of feature maps, '
                             'got an empty sequence')
        feats = feats[-1]
    if not isinstance(feats, torch.Tensor) or feats.dim() != 4:
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats)
        raise ValueError(f'expected a feature map [N, C, h, w], got {shape}')
    return feats


@MODELS.register_module()
class ChannelReduction(nn.Module):
    """Per-position dense layer (1×1 conv + ReLU), then optional flatten.

    Args:
        in_channels (int): channels C of the input map.
        out_channels (int): channels after the reduction (e.g. 2048 → 128).
        flatten (bool): flatten the reduced map to a vector. Default True.

    Shapes:
        forward: [N, C, h, w] (or a tuple of maps, the last is used) →
        [N, out_channels × h × w] when ``flatten`` (e.g. 128 × 7 × 7 = 6272),
        else [N, out_channels, h, w].
    """

    sweep_example = dict(cfg=dict(in_channels=8, out_channels=2), inputs=[(2, 8, 3, 3)])

    def __init__(self, in_channels, out_channels, flatten=True):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('out_channels', out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.flatten = flatten
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, feats):
        """[N, C, h, w] → [N, out_channels·h·w] (or [N, out_channels, h, w])."""
        x = self.relu(self.conv(last_feature_map(feats)))
        return x.flatten(1) if self.flatten else x


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Mean over the spatial positions.

    Shapes:
        forward: [N, C, h, w] (or a tuple of maps, the last is used) → [N, C].
    """

    sweep_example = dict(cfg=dict(), inputs=[(2, 8, 3, 3)])

    def forward(self, feats):
        """[N, C, h, w] → [N, C]."""
        return last_feature_map(feats).mean(dim=(2, 3))
