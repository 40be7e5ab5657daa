"""Heads of the top-down 2D pipeline: feature maps → K keypoint heatmaps.

Both heads share ``BaseHeatmapHead``: the loss against the data samples'
``gt_heatmaps``/``target_weight`` (summed over every heatmap the head outputs, i.e.
intermediate supervision), and ``predict``, which optionally averages in the
flipped-back heatmaps of the mirrored image, decodes (argmax + quarter pixel) and maps
the result back to 0-based image pixels with ``hpekit.core.affine``.
"""
import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.codecs import build_codec
from hpekit.config.checks import codec_not_set
from hpekit.core import affine_matrix, apply_affine, invert_affine
from hpekit.registry import MODELS


def _to_numpy(value, dtype=np.float64):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=dtype)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f'{name} must be a positive int, got {value!r}')


# --------------------------------------------------------------------- flip test
def resolve_flip_indices(data_samples, test_cfg, num_joints):
    """Per-sample joint permutations for flip test: LongTensor [B, K].

    Each sample's ``flip_indices`` metainfo is used; samples without it fall back to
    ``test_cfg['flip_indices']``. Each must be a permutation of 0..num_joints-1.
    """
    default = (test_cfg or {}).get('flip_indices')
    rows = []
    for ds in data_samples:
        indices = ds.metainfo.get('flip_indices', default)
        if indices is None:
            raise ValueError('flip test needs flip_indices in the data samples\' metainfo '
                             "or in test_cfg['flip_indices']")
        indices = [int(i) for i in indices]
        if sorted(indices) != list(range(num_joints)):
            raise ValueError(f'flip_indices must be a permutation of 0..{num_joints - 1}, '
                             f'got {indices}')
        rows.append(indices)
    return torch.tensor(rows, dtype=torch.long)


def flip_back_heatmaps(heatmaps, flip_indices, shift=False):
    """Heatmaps of horizontally mirrored inputs → heatmaps in the original frame.

    Args:
        heatmaps: tensor [B, K, H, W] predicted for the mirrored images.
        flip_indices: LongTensor [B, K]; joint k of the original is joint
            ``flip_indices[b, k]`` of the mirror (e.g. left wrist ↔ right wrist).
        shift: move the result right by one heatmap pixel (the first column is kept).
            Only for models trained with an affine whose flip is x → W − x (HRNet's
            code); hpekit's affine flips exactly x → W − 1 − x and needs no shift.

    Returns:
        tensor [B, K, H, W]: mirrored along W, channels re-ordered.
    """
    index = flip_indices.to(heatmaps.device)[:, :, None, None].expand_as(heatmaps)
    out = torch.gather(torch.flip(heatmaps, dims=[3]), 1, index)
    if shift:
        out = torch.cat([out[..., :1], out[..., :-1]], dim=3)
    return out


# ------------------------------------------------------------ decode → image px
def input_to_image_matrix(metainfo, input_size, codec_grid=None):
    """2×3 matrix taking model-input px to 0-based image px of one sample.

    Assumes the test-time crop: the box itself, no scale jitter, rotation or flip.

    Args:
        metainfo: dict with ``center`` (x, y) and ``bbox_size`` (w, h), image px, and
            optionally ``input_size`` (W, H), which must equal ``input_size``, and
            ``crop_grid`` (``TopdownAffine``'s grid; 'edges' when absent).
        input_size: (W, H) of the model input, from the head's decoder.
        codec_grid (str, optional): the decoder's grid; it must equal the crop's
            (a crop and a codec on different grids put every keypoint off by a
            fraction of a pixel, silently).
    """
    missing = [key for key in ('center', 'bbox_size') if key not in metainfo]
    if missing:
        raise ValueError(f'predict needs {missing} in every data sample\'s metainfo to '
                         'map keypoints back to the image')
    declared = metainfo.get('input_size', input_size)
    if tuple(int(v) for v in _to_numpy(declared)) != tuple(input_size):
        raise ValueError(f"metainfo input_size {tuple(declared)} does not match the head's "
                         f'decoder input_size (W, H) = {tuple(input_size)}')
    grid = metainfo.get('crop_grid', 'edges')
    if codec_grid is not None and grid != codec_grid:
        raise ValueError(f"the crop's grid {grid!r} (TopdownAffine(grid=...)) differs from "
                         f"the codec's {codec_grid!r}: set the same grid in both")
    forward = affine_matrix(_to_numpy(metainfo['center']),
                            _to_numpy(metainfo['bbox_size']), input_size, grid=grid)
    return invert_affine(forward)


def heatmaps_to_samples(heatmaps, data_samples, decoder, output_heatmaps=False):
    """Decode heatmaps with the codec and store image-pixel keypoints in the samples.

    Args:
        heatmaps: tensor [B, K, H, W] (the final, possibly flip-averaged, heatmaps).
        data_samples: B ``PoseDataSample`` with ``center``/``bbox_size`` metainfo.
        decoder: the head's codec (``decode`` → input px, ``input_size``).
        output_heatmaps: also store ``pred_heatmaps`` (float32 numpy [K, H, W]).

    Returns:
        The data samples with ``pred_keypoints`` (float32 numpy [K, 2], 0-based image
        px) and ``keypoint_scores`` (float32 numpy [K], heatmap maxima) set.
    """
    maps = heatmaps.detach().float().cpu().numpy()
    coords, scores = decoder.decode(maps)
    for i, ds in enumerate(data_samples):
        matrix = input_to_image_matrix(ds.metainfo, decoder.input_size,
                                       getattr(decoder, 'grid', None))
        ds.pred_keypoints = apply_affine(coords[i], matrix).astype(np.float32)
        ds.keypoint_scores = scores[i]
        if output_heatmaps:
            ds.pred_heatmaps = maps[i]
    return data_samples


# ----------------------------------------------------------------------- heads
class BaseHeatmapHead(BaseModule):
    """Loss and prediction shared by the heatmap heads.

    Subclasses implement ``forward(feats) → tuple of heatmaps [B, K, H, W]`` and may
    override ``predict_heatmaps`` (default: the last heatmap of the tuple).

    Args:
        num_joints (int): K.
        loss (dict): MODELS config of the loss, called as
            ``loss(pred [B,K,H,W], target [B,K,H,W], target_weight [B,K])``.
        decoder (dict): the config's keypoint codec (e.g. ``MSRAHeatmap``): decodes
            the heatmaps and gives the model's input size. Required: a config writes
            ``decoder=codec`` (``CodecNotSetError`` naming ``model.head.decoder`` if
            None).
        init_cfg (dict | list | None): mmengine init config.
    """

    def __init__(self, num_joints, loss, decoder, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        _check_positive_int('num_joints', num_joints)
        self.num_joints = num_joints
        self.loss_module = MODELS.build(loss)
        if decoder is None:
            raise codec_not_set('model.head.decoder', type(self).__name__)
        self.decoder = build_codec(decoder)

    #: What ``predict_outputs`` returns, as the exported graph names its outputs.
    output_names = ('heatmaps', )
    output_layouts = ('[B, K, h, w] heatmaps', )

    def predict_heatmaps(self, feats):
        """The heatmaps used for prediction, [B, K, H, W]: the last output."""
        return self(feats)[-1]

    def predict_outputs(self, feats):
        """What the estimator's ``forward_tensor`` (and an exported graph) returns:
        the heatmaps [B, K, H, W] decoding uses."""
        return self.predict_heatmaps(feats)

    def decode_outputs(self, outputs, data_samples, test_cfg=None, flipped_outputs=None):
        """``decode_heatmaps`` for outputs in ``output_names`` order (lists of one
        tensor), as a backend that ran the exported graph has them."""
        flipped = None if flipped_outputs is None else flipped_outputs[0]
        return self.decode_heatmaps(outputs[0], data_samples, test_cfg, flipped)

    def _targets(self, data_samples, like):
        """Stack ``gt_heatmaps`` [B, K, H, W] and ``target_weight`` [B, K] like ``like``."""
        for field in ('gt_heatmaps', 'target_weight'):
            if any(field not in ds for ds in data_samples):
                raise ValueError(f'the heatmap loss needs {field} in every data sample')
        target = torch.stack([torch.as_tensor(ds.gt_heatmaps) for ds in data_samples])
        weight = torch.stack([torch.as_tensor(ds.target_weight) for ds in data_samples])
        weight = weight.reshape(len(data_samples), -1)
        return (target.to(device=like.device, dtype=like.dtype),
                weight.to(device=like.device, dtype=like.dtype))

    def loss(self, feats, data_samples):
        """Features + B data samples → ``{'loss_kpt': sum over outputs of the loss}``."""
        outputs = self(feats)
        target, weight = self._targets(data_samples, outputs[0])
        total = sum(self.loss_module(out, target, weight) for out in outputs)
        return {'loss_kpt': total}

    def predict(self, feats, data_samples, test_cfg=None, flipped_feats=None):
        """Decode keypoints into the data samples (see ``heatmaps_to_samples``).

        Args:
            feats: the features of the images (as for ``forward``).
            data_samples: B data samples with ``center``/``bbox_size`` metainfo
                (and ``flip_indices`` for flip test).
            test_cfg (dict, optional): ``shift_heatmap`` (bool), ``flip_indices``
                (fallback permutation), ``output_heatmaps`` (bool).
            flipped_feats: features of the horizontally mirrored images; when given,
                their flipped-back heatmaps are averaged with the images' (flip test).

        Returns:
            The data samples with ``pred_keypoints`` [K, 2] and ``keypoint_scores`` [K].
        """
        heatmaps = self.predict_heatmaps(feats)
        flipped = None if flipped_feats is None else self.predict_heatmaps(flipped_feats)
        return self.decode_heatmaps(heatmaps, data_samples, test_cfg, flipped)

    def decode_heatmaps(self, heatmaps, data_samples, test_cfg=None, flipped_heatmaps=None):
        """Heatmaps (and those of the mirrored images) → keypoints in the data samples.

        The second half of ``predict``, shared with every backend that computes the
        heatmaps elsewhere (``hpekit.apis.OnnxRuntimeEstimator`` runs the exported
        graph and decodes here), so flip-back and decoding exist once.

        Args:
            heatmaps: tensor [B, K, H, W], ``predict_heatmaps`` of the images.
            data_samples, test_cfg: as for ``predict``.
            flipped_heatmaps: tensor [B, K, H, W], ``predict_heatmaps`` of the
                horizontally mirrored images (flip test), or None.
        """
        test_cfg = test_cfg or {}
        if flipped_heatmaps is not None:
            indices = resolve_flip_indices(data_samples, test_cfg, heatmaps.shape[1])
            flipped = flip_back_heatmaps(flipped_heatmaps, indices,
                                         shift=test_cfg.get('shift_heatmap', False))
            heatmaps = 0.5 * (heatmaps + flipped)
        return heatmaps_to_samples(heatmaps, data_samples, self.decoder,
                                   test_cfg.get('output_heatmaps', False))


def _check_merge_weights(merge_weights):
    if merge_weights is None:
        return None
    weights = [float(w) for w in merge_weights]
    if not weights or any(not np.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f'merge_weights must be a non-empty sequence of non-negative '
                         f'numbers (one per stack), got {merge_weights!r}')
    return weights


@MODELS.register_module()
class MultiStageHeatmapHead(BaseHeatmapHead):
    """Head for backbones that already output per-stack heatmaps (stacked hourglass).

    It has no parameters: training supervises every stack (intermediate supervision,
    the losses are summed), prediction uses the last stack or a weighted merge.

    Args:
        num_joints (int): K, channels of every stack's heatmaps.
        decoder (dict): the keypoint codec config (``MSRAHeatmap``).
        merge_weights (Sequence[float], optional): one non-negative weight per stack;
            the prediction heatmap is ``sum_i w_i · heatmaps_i`` (not renormalised),
            e.g. ``[0.3, 0.7]``. None: the last stack's heatmaps.
        loss (dict): loss config. Default ``KeypointMSELoss`` with target weights.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward(tuple of S tensors [B, K, H, W] (or one tensor)) → the same tuple.
        loss(feats, data_samples) → ``{'loss_kpt': scalar}`` against ``gt_heatmaps``
        [K, H, W] and ``target_weight`` [K] of each sample.
        predict(feats, data_samples, test_cfg, flipped_feats=None) → data samples with
        ``pred_keypoints`` [K, 2] (image px) and ``keypoint_scores`` [K].
    """

    sweep_example = dict(
        cfg=dict(num_joints=3, decoder=dict(type='MSRAHeatmap', input_size=(16, 16),
                                            heatmap_size=(4, 4))),
        inputs=[[(2, 3, 4, 4), (2, 3, 4, 4)]])   # one argument: a tuple of stacks

    def __init__(self, num_joints, decoder, merge_weights=None,
                 loss=dict(type='KeypointMSELoss', use_target_weight=True),
                 init_cfg=None):
        super().__init__(num_joints, loss, decoder, init_cfg=init_cfg)
        self.merge_weights = _check_merge_weights(merge_weights)

    def forward(self, feats):
        """Tuple of per-stack heatmaps [B, K, H, W] → the same tuple (checked)."""
        feats = (feats,) if isinstance(feats, torch.Tensor) else tuple(feats)
        for i, heatmap in enumerate(feats):
            if heatmap.dim() != 4 or heatmap.shape[1] != self.num_joints:
                raise ValueError(f'stack {i}: expected heatmaps [B, {self.num_joints}, '
                                 f'H, W], got {tuple(heatmap.shape)}')
        return feats

    def predict_heatmaps(self, feats):
        """[B, K, H, W]: the last stack's heatmaps or their weighted merge."""
        outputs = self(feats)
        if self.merge_weights is None:
            return outputs[-1]
        if len(self.merge_weights) != len(outputs):
            raise ValueError(f'merge_weights has {len(self.merge_weights)} weights but the '
                             f'backbone outputs {len(outputs)} stacks')
        return sum(w * out for w, out in zip(self.merge_weights, outputs))


def _deconv_padding(kernel):
    """(padding, output_padding) making a stride-2 transposed conv double the size."""
    paddings = {4: (1, 0), 3: (1, 1), 2: (0, 0)}
    if kernel not in paddings:
        raise ValueError(f'deconv kernels must be 2, 3 or 4, got {kernel!r}')
    return paddings[kernel]


def _deconv_layers(in_channels, channels, kernels):
    """[ConvTranspose2d stride 2 (no bias), BN, ReLU] per entry: ×2 size each."""
    layers = []
    for out_channels, kernel in zip(channels, kernels):
        padding, output_padding = _deconv_padding(kernel)
        layers += [nn.ConvTranspose2d(in_channels, out_channels, kernel, stride=2,
                                      padding=padding, output_padding=output_padding,
                                      bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        in_channels = out_channels
    return nn.Sequential(*layers), in_channels


@MODELS.register_module()
class DeconvHeatmapHead(BaseHeatmapHead):
    """SimpleBaseline head: transposed convs upsample the last feature map to heatmaps.

    Args:
        in_channels (int): channels of the last feature map. Default 2048 (ResNet-50).
        num_joints (int): K.
        decoder (dict): the keypoint codec config (``MSRAHeatmap``).
        deconv_channels (Sequence[int]): output channels of each stride-2 transposed
            conv (each followed by BN + ReLU). May be empty. Default (256, 256, 256).
        deconv_kernels (Sequence[int]): their kernel sizes (2, 3 or 4). Default 4s.
        final_kernel (int): 1 or 3, kernel of the last conv (with bias) to K maps.
        loss (dict): loss config. Default ``KeypointMSELoss`` with target weights.
        init_cfg (dict | list, optional): default: transposed/plain convs
            Normal(std=0.001, bias 0), BatchNorms weight 1 bias 0 (SimpleBaseline).

    Shapes:
        forward(tuple of maps (the last is used) or one tensor [B, C, h, w]) →
        tuple of one tensor [B, K, h·2^n, w·2^n] (n = number of deconv layers).
        loss / predict: as ``MultiStageHeatmapHead``.
    """

    sweep_example = dict(
        cfg=dict(in_channels=8, num_joints=3, deconv_channels=(4,), deconv_kernels=(4,),
                 decoder=dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8))),
        inputs=[(2, 8, 4, 4)])

    def __init__(self, num_joints, decoder, in_channels=2048,
                 deconv_channels=(256, 256, 256), deconv_kernels=(4, 4, 4), final_kernel=1,
                 loss=dict(type='KeypointMSELoss', use_target_weight=True),
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [dict(type='Normal', layer=['ConvTranspose2d', 'Conv2d'],
                             std=0.001, bias=0),
                        dict(type='Constant', layer='BatchNorm2d', val=1, bias=0)]
        super().__init__(num_joints, loss, decoder, init_cfg=init_cfg)
        self._check_args(in_channels, deconv_channels, deconv_kernels, final_kernel)
        self.in_channels = in_channels
        self.deconv_layers, last = _deconv_layers(in_channels, tuple(deconv_channels),
                                                  tuple(deconv_kernels))
        self.final_layer = nn.Conv2d(last, num_joints, final_kernel,
                                     padding=final_kernel // 2)

    @staticmethod
    def _check_args(in_channels, deconv_channels, deconv_kernels, final_kernel):
        _check_positive_int('in_channels', in_channels)
        for value in deconv_channels:
            _check_positive_int('deconv_channels entries', value)
        if len(deconv_channels) != len(deconv_kernels):
            raise ValueError(f'deconv_channels and deconv_kernels must have the same '
                             f'length, got {tuple(deconv_channels)} and '
                             f'{tuple(deconv_kernels)}')
        for kernel in deconv_kernels:
            _deconv_padding(kernel)
        if final_kernel not in (1, 3):
            raise ValueError(f'final_kernel must be 1 or 3, got {final_kernel!r}')

    def forward(self, feats):
        """Feature maps (tuple: the last is used) [B, C, h, w] → ([B, K, H, W],)."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'expected features [B, {self.in_channels}, h, w], '
                             f'got {tuple(x.shape)}')
        return (self.final_layer(self.deconv_layers(x)),)
