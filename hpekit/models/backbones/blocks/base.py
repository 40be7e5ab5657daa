"""Shared pieces of the hourglass residual-block designs.

Every design is a pre-activation residual block: a ``body`` of BN→ReLU→conv steps plus
an optional shortcut (identity when ``in_channels == out_channels``, else a 1×1 conv
with bias on the raw input), summed with no activation after the add.

Activations and the add work in place: each ReLU overwrites the fresh output of its BN
(BN's backward needs its input, not its output) and the shortcut is added into the
body's last conv output (a conv's backward needs its input and weight, not its
output). The block's input is never written. Same numbers and gradients as the
out-of-place version (tests/models/test_inplace_activations.py), one buffer less per step and
activation: fewer page faults and less memory in training.
"""
from collections import OrderedDict

import torch.nn as nn


def check_channels(in_channels, out_channels):
    """Raise ``ValueError`` unless both are positive ints and ``out_channels`` is even.

    The designs halve ``out_channels`` for their inner width, so it must be even.
    """
    for name, value in (('in_channels', in_channels), ('out_channels', out_channels)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    if out_channels % 2:
        raise ValueError(f'out_channels must be even (the inner width is out_channels/2), '
                         f'got {out_channels}')


def check_dilation(dilation):
    """Raise ``ValueError`` unless ``dilation`` is a positive int."""
    if not isinstance(dilation, int) or isinstance(dilation, bool) or dilation < 1:
        raise ValueError(f'dilation must be a positive int, got {dilation!r}')


class DWSepConv(nn.Sequential):
    """Depthwise-separable conv: k×k depthwise conv then 1×1 pointwise conv, both biased.

    Input [N, in_channels, H, W] → output [N, out_channels, H, W] (stride 1, 'same'
    padding ``dilation * (kernel_size // 2)``). No norm or activation in between.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, dilation=1):
        padding = dilation * (kernel_size // 2)
        super().__init__(OrderedDict(
            depthwise=nn.Conv2d(in_channels, in_channels, kernel_size, padding=padding,
                                dilation=dilation, groups=in_channels, bias=True),
            pointwise=nn.Conv2d(in_channels, out_channels, 1, bias=True)))


def conv3x3(in_channels, out_channels, dilation=1):
    """Plain 3×3 conv with bias and 'same' padding: [N,in,H,W] → [N,out,H,W]."""
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation,
                     bias=True)


def conv1x1(in_channels, out_channels):
    """Plain 1×1 conv with bias: [N,in,H,W] → [N,out,H,W]."""
    return nn.Conv2d(in_channels, out_channels, 1, bias=True)


def pre_act_body(convs):
    """Sequential of BN→ReLU→conv steps, one per ``(channels, conv)`` pair in ``convs``.

    ``channels`` is the conv's input width (the BN's size). Layers are named
    ``bn1, relu1, conv1, bn2, …``; the result maps [N, first channels, H, W] to
    [N, last conv's output channels, H, W].
    """
    layers = OrderedDict()
    for i, (channels, conv) in enumerate(convs, start=1):
        layers[f'bn{i}'] = nn.BatchNorm2d(channels)
        layers[f'relu{i}'] = nn.ReLU(inplace=True)
        layers[f'conv{i}'] = conv
    return nn.Sequential(layers)


class PreActResidual(nn.Module):
    """Base of every design: ``body(x) + shortcut(x)``, no activation after the add.

    Subclasses call ``super().__init__(in_channels, out_channels, skip)`` and then set
    ``self.body`` (a module mapping [N,in,H,W] → [N,out,H,W]).
    ``skip=False`` removes the shortcut entirely (``self.shortcut is None``).
    """

    def __init__(self, in_channels, out_channels, skip=True):
        super().__init__()
        check_channels(in_channels, out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.skip = bool(skip)
        self.body = None
        self.shortcut = self._make_shortcut() if self.skip else None

    def _make_shortcut(self):
        """Identity when in==out, else a biased 1×1 projection conv."""
        if self.in_channels == self.out_channels:
            return nn.Identity()
        return conv1x1(self.in_channels, self.out_channels)

    def forward(self, x):
        """x: [N, in_channels, H, W] → [N, out_channels, H, W]."""
        out = self.body(x)
        if self.shortcut is not None:
            out += self.shortcut(x)   # in place: ``out`` is the body's fresh conv output
        return out

    def extra_repr(self):
        return f'in_channels={self.in_channels}, out_channels={self.out_channels}, ' \
               f'skip={self.skip}'
