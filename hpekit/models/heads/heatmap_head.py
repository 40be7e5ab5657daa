"""MMPose 1.x's general top-down heatmap head: [deconvs] → [convs] → final conv.

Constructor arguments and state-dict names (``deconv_layers.*``, ``conv_layers.*``,
``final_layer.*``) equal MMPose's ``HeatmapHead``, so its checkpoints' ``head.*``
tensors load with ``strict=True``; loss, flip test and decoding are hpekit's
(``BaseHeatmapHead``).
"""
import torch
import torch.nn as nn

from hpekit.models.heads.heatmap_heads import (BaseHeatmapHead, _check_positive_int,
                                               _deconv_layers)
from hpekit.registry import MODELS

DEFAULT_INIT_CFG = [dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
                    dict(type='Constant', layer='BatchNorm2d', val=1)]


def _check_pairs(channels, kernels, what):
    """``channels`` and ``kernels`` (sequences of int) must have the same length."""
    if kernels is None or len(channels) != len(kernels):
        raise ValueError(f'{what}_out_channels and {what}_kernel_sizes must be int '
                         f'sequences of the same length, got {channels!r} and {kernels!r}')
    for value in channels:
        _check_positive_int(f'{what}_out_channels entries', value)


def _conv_layers(in_channels, channels, kernels):
    """[Conv2d (bias, stride 1, same padding), BN, ReLU] per entry: size unchanged
    for odd kernels."""
    layers = []
    for out_channels, kernel in zip(channels, kernels):
        layers += [nn.Conv2d(in_channels, out_channels, kernel, 1, (kernel - 1) // 2),
                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        in_channels = out_channels
    return nn.Sequential(*layers)


def _final_conv(in_channels, out_channels, final_layer):
    """``nn.Conv2d(in, out, kernel_size=1, **final_layer)`` (None: identity)."""
    if final_layer is None:
        return nn.Identity()
    cfg = {'kernel_size': 1, **final_layer}
    if cfg.pop('type', 'Conv2d') not in ('Conv2d', 'Conv'):
        raise ValueError(f'final_layer must describe a Conv2d, got {final_layer!r}')
    return nn.Conv2d(in_channels, out_channels, **cfg)


def _rename_legacy_keys(state_dict, prefix, num_conv_modules):
    """MMPose 0.x ``TopdownHeatmapSimpleHead`` keys → this layout, in place: its
    ``final_layer.{n}.*`` held the intermediate convs (now ``conv_layers.{n}.*``) and,
    at the last index, the final conv (now ``final_layer.*``)."""
    for key in [k for k in state_dict if k.startswith(prefix + 'final_layer.')]:
        parts = key[len(prefix):].split('.')
        if len(parts) != 3:
            continue
        index, name = int(parts[1]), parts[2]
        new = f'conv_layers.{index}.{name}' if index < num_conv_modules \
            else f'final_layer.{name}'
        state_dict[prefix + new] = state_dict.pop(key)


@MODELS.register_module()
class HeatmapHead(BaseHeatmapHead):
    """SimpleBaseline/HRNet heatmap head with MMPose 1.x's arguments and key names.

    The last feature map of the backbone goes through stride-2 transposed convs
    (``deconv_layers``: ConvTranspose2d without bias, BN, ReLU each), then stride-1
    convs (``conv_layers``: Conv2d with bias, BN, ReLU each), then ``final_layer``
    (Conv2d with bias) to ``out_channels`` heatmaps.

    Args:
        in_channels (int): channels of the last feature map (e.g. 32 for HRNet-W32).
        out_channels (int): K, the number of keypoint heatmaps.
        deconv_out_channels (Sequence[int], optional): output channels of each deconv;
            None or empty: no deconv layers. Default (256, 256, 256).
        deconv_kernel_sizes (Sequence[int], optional): their kernels (4, 3 or 2).
        conv_out_channels (Sequence[int], optional): output channels of each conv
            after the deconvs. Default None (none).
        conv_kernel_sizes (Sequence[int], optional): their kernels (padding
            ``(k - 1) // 2``).
        final_layer (dict, optional): extra ``nn.Conv2d`` arguments of the final conv
            (default ``dict(kernel_size=1)``, no padding unless given); None: no final
            conv (then the last layer's channels must be K).
        loss (dict): loss config, called as ``loss(pred, target, target_weight)``.
            Default ``KeypointMSELoss`` with target weights.
        decoder (dict): the keypoint codec config (e.g. ``MSRAHeatmap``); required.
        init_cfg (dict | list, optional): default: convs and deconvs Normal(std=0.001),
            BatchNorms weight 1 (MMPose's default).

    Shapes:
        forward(tuple of maps, the last [B, in_channels, h, w], or one tensor) → tuple
        of one tensor [B, K, h·2^n, w·2^n] (n deconvs; 1×1 final conv). E.g. HRNet-W32
        [B, 32, 64, 48] with no deconvs → ([B, 17, 64, 48],).
        loss / predict: as ``BaseHeatmapHead``.
    """

    _version = 2
    sweep_example = dict(
        cfg=dict(in_channels=8, out_channels=3, deconv_out_channels=(4,),
                 deconv_kernel_sizes=(4,), conv_out_channels=(4,), conv_kernel_sizes=(3,),
                 decoder=dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8))),
        inputs=[[(2, 8, 4, 4)]])

    def __init__(self, in_channels, out_channels, deconv_out_channels=(256, 256, 256),
                 deconv_kernel_sizes=(4, 4, 4), conv_out_channels=None,
                 conv_kernel_sizes=None, final_layer=dict(kernel_size=1),
                 loss=dict(type='KeypointMSELoss', use_target_weight=True),
                 decoder=None, init_cfg=None):
        super().__init__(out_channels, loss, decoder,
                         init_cfg=init_cfg if init_cfg is not None else DEFAULT_INIT_CFG)
        _check_positive_int('in_channels', in_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        channels = in_channels
        self.deconv_layers = nn.Identity()
        if deconv_out_channels:
            _check_pairs(deconv_out_channels, deconv_kernel_sizes, 'deconv')
            self.deconv_layers, channels = _deconv_layers(
                channels, tuple(deconv_out_channels), tuple(deconv_kernel_sizes))
        self.conv_layers = nn.Identity()
        if conv_out_channels:
            _check_pairs(conv_out_channels, conv_kernel_sizes, 'conv')
            self.conv_layers = _conv_layers(channels, conv_out_channels, conv_kernel_sizes)
            channels = conv_out_channels[-1]
        self.final_layer = _final_conv(channels, out_channels, final_layer)
        self._register_load_state_dict_pre_hook(self._upgrade_state_dict)

    def _upgrade_state_dict(self, state_dict, prefix, local_metadata, *args):
        """Rename MMPose 0.x head keys when the checkpoint predates version 2."""
        if (local_metadata.get('version') or 0) >= self._version:
            return
        convs = len(self.conv_layers) if isinstance(self.conv_layers, nn.Sequential) else 0
        _rename_legacy_keys(state_dict, prefix, convs)

    def forward(self, feats):
        """Feature maps (tuple: the last is used) [B, C, h, w] → ([B, K, H, W],)."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'expected features [B, {self.in_channels}, h, w], '
                             f'got {tuple(x.shape)}')
        return (self.final_layer(self.conv_layers(self.deconv_layers(x))),)
