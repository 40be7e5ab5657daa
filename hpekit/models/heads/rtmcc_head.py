"""RTMPose's head: feature map → per-joint SimCC vectors along x and y.

``RTMCCHead`` takes MMPose's ``RTMCCHead`` arguments and carries its parameter names
(``final_layer``, ``mlp.0.g``, ``mlp.1.weight``, ``gau.uv.weight``, ``gau.gamma``,
``gau.beta``, ``gau.o.weight``, ``gau.ln.g``, ``gau.res_scale.scale``, ``cls_x``,
``cls_y``), so an RTMPose config's ``model.head`` dict builds it and the published
checkpoints load strictly.

The head turns the last feature map [B, C, h, w] into K joint tokens (a conv to K
channels, each flattened to h·w values), embeds them (``ScaleNorm`` + linear), mixes
them with one gated attention unit, and classifies each token into
``input_size · simcc_split_ratio`` bins along x and along y. The keypoint codec
(``SimCCLabel``) decodes the two vectors into keypoints in model-input pixels; the
head maps them into image pixels like the heatmap heads.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from hpekit.codecs import build_codec
from hpekit.config.checks import codec_not_set
from hpekit.core import apply_affine
from hpekit.models.heads.heatmap_heads import input_to_image_matrix, resolve_flip_indices
from hpekit.registry import MODELS

DEFAULT_GAU = dict(hidden_dims=256, s=128, expansion_factor=2, dropout_rate=0.,
                   drop_path=0., act_fn='ReLU', use_rel_bias=False, pos_enc=False)

SimCC = Tuple[torch.Tensor, torch.Tensor]
# Where a data sample keeps the per-joint loss weights: hpekit's codecs write
# ``target_weight`` (packed as such); MMPose's name is ``keypoint_weights``.
WEIGHT_FIELDS = ('target_weight', 'keypoint_weights')


# ---------------------------------------------------------------- building blocks
class ScaleNorm(nn.Module):
    """x · g / max(‖x‖₂ / √dim, eps) over the last axis; ``g`` is one learnt scalar.

    (Nguyen & Salazar, "Transformers without Tears", 2019.)

    Args:
        dim (int): length of the normalised axis.
        eps (float): lower bound of the scaled norm. Default 1e-5.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[..., dim] → [..., dim]."""
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class Scale(nn.Module):
    """Multiply the last axis by a learnt vector (``scale``, initialised to 1)."""

    def __init__(self, dim: int, init_value: float = 1.0, trainable: bool = True):
        super().__init__()
        self.scale = nn.Parameter(init_value * torch.ones(dim), requires_grad=trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[..., dim] → [..., dim]."""
        return x * self.scale


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero whole samples with probability ``rate`` while training,
    and scale the kept ones by 1 / (1 − rate)."""
    if rate == 0. or not training:
        return x
    keep = 1.0 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x / keep * mask


def rotary_embedding(x: torch.Tensor, token_dim: int) -> torch.Tensor:
    """Rotate the two halves of the last axis of ``x`` by angles that grow with the
    position along ``token_dim`` (rotary position embedding as RTMPose applies it:
    position p, feature pair i of n: angle p · 10000^(i / n))."""
    half = x.shape[-1] // 2
    positions = torch.arange(x.shape[token_dim], device=x.device, dtype=torch.float32)
    positions = positions.reshape((-1,) + (1,) * (x.dim() - token_dim - 1))
    freqs = torch.pow(10000.0, torch.arange(half, device=x.device) / float(half))
    angles = positions * freqs
    sin, cos = torch.sin(angles), torch.cos(angles)
    first, second = torch.chunk(x, 2, dim=-1)
    return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)


class GatedAttentionUnit(nn.Module):
    """Self-attention gated attention unit over a fixed number of tokens (RTMPose's
    ``RTMCCBlock``; Hua et al., "Transformer Quality in Linear Time", 2022).

    ``ln`` (ScaleNorm) → ``uv`` (linear to 2e + s, then the activation) split into a
    gate u [e], a value v [e] and a shared base [s]; query and key are the base scaled
    and shifted by ``gamma``/``beta`` (rows 0 and 1); attention weights are
    relu(q·kᵀ / √s)² (plus a learnt relative-position bias ``w`` when enabled); the
    output ``o``(u ⊙ (weights · v)) is added to the input scaled by ``res_scale``
    when input and output widths agree.

    Args:
        num_token (int): number of tokens (the joints), for the relative bias.
        in_token_dims, out_token_dims (int): token widths in and out.
        expansion_factor (float): e = int(in_token_dims · expansion_factor).
        s (int): width of the query/key space.
        eps (float): ScaleNorm's eps.
        dropout_rate (float): dropout on the attention weights.
        drop_path (float): stochastic depth rate of the attention branch.
        act_fn (str): ``'ReLU'`` or ``'SiLU'``, after ``uv``.
        bias (bool): biases in ``uv`` and ``o``.
        use_rel_bias (bool): learnt relative-position bias ``w`` [2·num_token − 1].
        pos_enc (bool): rotary position embedding of queries and keys.
    """

    def __init__(self, num_token: int, in_token_dims: int, out_token_dims: int,
                 expansion_factor: float = 2, s: int = 128, eps: float = 1e-5,
                 dropout_rate: float = 0., drop_path: float = 0., act_fn: str = 'SiLU',
                 bias: bool = False, use_rel_bias: bool = True, pos_enc: bool = False):
        super().__init__()
        if act_fn not in ('ReLU', 'SiLU'):
            raise ValueError(f"act_fn must be 'ReLU' or 'SiLU', got {act_fn!r}")
        self.s = s
        self.num_token = num_token
        self.use_rel_bias = use_rel_bias
        self.pos_enc = pos_enc
        self.drop_path_rate = float(drop_path)
        self.e = int(in_token_dims * expansion_factor)
        if use_rel_bias:
            self.w = nn.Parameter(torch.rand([2 * num_token - 1], dtype=torch.float))
        self.o = nn.Linear(self.e, out_token_dims, bias=bias)
        self.uv = nn.Linear(in_token_dims, 2 * self.e + self.s, bias=bias)
        self.gamma = nn.Parameter(torch.rand((2, self.s)))
        self.beta = nn.Parameter(torch.rand((2, self.s)))
        self.ln = ScaleNorm(in_token_dims, eps=eps)
        nn.init.xavier_uniform_(self.uv.weight)
        self.act_fn = nn.SiLU(True) if act_fn == 'SiLU' else nn.ReLU(True)
        self.shortcut = in_token_dims == out_token_dims
        if self.shortcut:
            self.res_scale = Scale(in_token_dims)
        self.sqrt_s = math.sqrt(s)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0. else None

    def relative_bias(self, num: int) -> torch.Tensor:
        """[num, num]: entry (i, j) is ``w[num − 1 + j − i]``."""
        idx = torch.arange(num, device=self.w.device)
        return self.w[(num - 1) + idx[None, :] - idx[:, None]]

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """The attention branch: [B, T, in] → [B, T, out]."""
        uv = self.act_fn(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=2)
        base = base.unsqueeze(2) * self.gamma[None, None, :] + self.beta   # [B, T, 2, s]
        if self.pos_enc:
            base = rotary_embedding(base, token_dim=1)
        q, k = torch.unbind(base, dim=2)
        qk = torch.bmm(q, k.permute(0, 2, 1))
        if self.use_rel_bias:
            qk = qk + self.relative_bias(q.size(1))[None]
        weights = torch.square(F.relu(qk / self.sqrt_s))
        if self.dropout is not None:
            weights = self.dropout(weights)
        return self.o(u * torch.bmm(weights, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, in] → [B, T, out]."""
        out = drop_path(self.attend(x), self.drop_path_rate, self.training)
        return self.res_scale(x) + out if self.shortcut else out


# ------------------------------------------------------------------------- head
def _gau_config(gau_cfg):
    cfg = dict(gau_cfg)
    unknown = sorted(set(cfg) - set(DEFAULT_GAU))
    if unknown:
        raise ValueError(f'unknown gau_cfg keys {unknown}; allowed: {sorted(DEFAULT_GAU)}')
    return dict(DEFAULT_GAU, **cfg)


def _pair(value, name):
    pair = tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) <= 0:
        raise ValueError(f'{name} must be a (W, H) pair of positive ints, got {value!r}')
    return pair


def _sample_target(ds, fields, num_joints, length=None):
    """One sample's target as a tensor [K, length] (or [K] for weights), from the
    first of ``fields`` the sample has; a leading instance axis of 1 (MMPose's
    [1, K, …] layout) is accepted."""
    fields = (fields,) if isinstance(fields, str) else tuple(fields)
    field = next((f for f in fields if f in ds), None)
    if field is None:
        raise ValueError(f'the SimCC loss needs {" or ".join(fields)} in every data sample')
    value = torch.as_tensor(ds.get(field))
    if value.dim() >= 2 and value.shape[0] == 1 and value.dim() == (3 if length else 2):
        value = value[0]
    expected = (num_joints, length) if length else (num_joints,)
    if tuple(value.shape) != expected:
        raise ValueError(f'{field} must have shape {expected} (or [1, ...]) per sample, '
                         f'got {tuple(value.shape)}')
    return value


def flip_back_vectors(simcc_x: torch.Tensor, simcc_y: torch.Tensor,
                      flip_indices: torch.Tensor) -> SimCC:
    """SimCC vectors of mirrored inputs → vectors in the original frame.

    Joint k of the original is joint ``flip_indices[b, k]`` of the mirror; the x
    vectors are also reversed along their bins (the y vectors are not).
    """
    index_x = flip_indices.to(simcc_x.device)[:, :, None].expand_as(simcc_x)
    index_y = flip_indices.to(simcc_y.device)[:, :, None].expand_as(simcc_y)
    return (torch.gather(simcc_x, 1, index_x).flip(-1),
            torch.gather(simcc_y, 1, index_y))


@MODELS.register_module()
class RTMCCHead(BaseModule):
    """RTMPose's SimCC head (MMPose's ``RTMCCHead``).

    Args:
        in_channels (int): channels of the last feature map.
        out_channels (int): K, the number of joints.
        input_size (tuple): model input (W, H) px.
        in_featuremap_size (tuple): (w, h) of the last feature map (input / 32 for
            CSPNeXt).
        simcc_split_ratio (float): SimCC bins per input pixel; the x vectors have
            int(W · ratio) bins, the y vectors int(H · ratio).
        final_layer_kernel_size (int): kernel of the conv to K channels (RTMPose: 7).
        gau_cfg (dict): ``hidden_dims`` (token width), ``s``, ``expansion_factor``,
            ``dropout_rate``, ``drop_path``, ``act_fn`` ('ReLU' | 'SiLU'),
            ``use_rel_bias``, ``pos_enc`` of the ``GatedAttentionUnit``; missing keys
            take the defaults (MMPose's).
        loss (dict): MODELS config of the loss, called as
            ``loss((simcc_x, simcc_y), (target_x, target_y), weights [B, K])``.
            Default ``KLDiscretLoss`` with target weights.
        decoder (dict, optional): the config's keypoint codec (``SimCCLabel``); needed
            by ``predict`` (``CodecNotSetError`` naming ``model.head.decoder`` there
            when None).
        init_cfg (dict | list, optional): default: convs Normal(std=0.001), linears
            Normal(std=0.01, bias 0), batch norms weight 1 (MMPose's).

    Shapes:
        forward(tuple of feature maps (the last is used) or one tensor [B, C, h, w])
        → (simcc_x [B, K, Wx], simcc_y [B, K, Hy]).
        loss(feats, data_samples) → ``{'loss_kpt': scalar}`` against each sample's
        ``keypoint_x_labels`` [K, Wx], ``keypoint_y_labels`` [K, Hy] and
        ``target_weight`` [K] (``SimCCLabel``'s targets; MMPose's name
        ``keypoint_weights`` is read when ``target_weight`` is absent; an instance
        axis of 1 in front is accepted).
        predict(feats, data_samples, test_cfg, flipped_feats=None) → the data samples
        with ``pred_keypoints`` [K, 2] (image px) and ``keypoint_scores`` [K].
    """

    sweep_example = dict(
        cfg=dict(in_channels=8, out_channels=3, input_size=(16, 24),
                 in_featuremap_size=(2, 3), final_layer_kernel_size=3,
                 gau_cfg=dict(hidden_dims=16, s=8, act_fn='SiLU', use_rel_bias=True,
                              pos_enc=True)),
        inputs=[[(2, 8, 3, 2)]])   # one argument: a tuple of feature maps

    #: What ``predict_outputs`` returns, as an exported graph names its outputs.
    output_names = ('simcc_x', 'simcc_y')
    output_layouts = ('[B, K, Wx] SimCC x logits', '[B, K, Hy] SimCC y logits')

    def __init__(self, in_channels: Union[int, Sequence[int]], out_channels: int,
                 input_size: Tuple[int, int], in_featuremap_size: Tuple[int, int],
                 simcc_split_ratio: float = 2.0, final_layer_kernel_size: int = 1,
                 gau_cfg: dict = DEFAULT_GAU,
                 loss: dict = dict(type='KLDiscretLoss', use_target_weight=True),
                 decoder: Optional[dict] = None, init_cfg: Optional[dict] = None):
        if init_cfg is None:
            init_cfg = [dict(type='Normal', layer=['Conv2d'], std=0.001),
                        dict(type='Constant', layer='BatchNorm2d', val=1),
                        dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, (tuple, list)):
            raise ValueError('RTMCCHead takes one feature map: in_channels must be an '
                             f'int, got {in_channels!r}')
        gau = _gau_config(gau_cfg)
        self.in_channels = in_channels
        self.out_channels = self.num_joints = out_channels
        self.input_size = _pair(input_size, 'input_size')
        self.in_featuremap_size = _pair(in_featuremap_size, 'in_featuremap_size')
        self.simcc_split_ratio = simcc_split_ratio
        self.loss_module = MODELS.build(loss)
        self.decoder = None if decoder is None else build_codec(decoder)

        flat = self.in_featuremap_size[0] * self.in_featuremap_size[1]
        self.final_layer = nn.Conv2d(in_channels, out_channels, final_layer_kernel_size,
                                     stride=1, padding=final_layer_kernel_size // 2)
        self.mlp = nn.Sequential(ScaleNorm(flat),
                                 nn.Linear(flat, gau['hidden_dims'], bias=False))
        self.gau = GatedAttentionUnit(
            out_channels, gau['hidden_dims'], gau['hidden_dims'], s=gau['s'],
            expansion_factor=gau['expansion_factor'], dropout_rate=gau['dropout_rate'],
            drop_path=gau['drop_path'], act_fn=gau['act_fn'],
            use_rel_bias=gau['use_rel_bias'], pos_enc=gau['pos_enc'])
        self.cls_x = nn.Linear(gau['hidden_dims'],
                               int(self.input_size[0] * simcc_split_ratio), bias=False)
        self.cls_y = nn.Linear(gau['hidden_dims'],
                               int(self.input_size[1] * simcc_split_ratio), bias=False)

    # --------------------------------------------------------------- network
    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> SimCC:
        """Feature maps (the last is used) [B, C, h, w] → (simcc_x, simcc_y)."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        w, h = self.in_featuremap_size
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] * x.shape[3] != w * h:
            raise ValueError(f'expected features [B, {self.in_channels}, h, w] with h·w = '
                             f'{h * w} (in_featuremap_size {self.in_featuremap_size}), '
                             f'got {tuple(x.shape)}')
        tokens = torch.flatten(self.final_layer(x), 2)   # [B, K, h·w]
        tokens = self.gau(self.mlp(tokens))               # [B, K, hidden]
        return self.cls_x(tokens), self.cls_y(tokens)

    def predict_outputs(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> SimCC:
        """The outputs ``decode_outputs`` decodes: (simcc_x, simcc_y)."""
        return self(feats)

    # ------------------------------------------------------------------ loss
    def loss(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]],
             data_samples: Sequence) -> dict:
        """Features + B data samples → ``{'loss_kpt': scalar}`` (see class doc)."""
        pred_x, pred_y = self(feats)
        k = self.num_joints
        target_x = torch.stack([_sample_target(ds, 'keypoint_x_labels', k, pred_x.shape[2])
                                for ds in data_samples])
        target_y = torch.stack([_sample_target(ds, 'keypoint_y_labels', k, pred_y.shape[2])
                                for ds in data_samples])
        weights = torch.stack([_sample_target(ds, WEIGHT_FIELDS, k) for ds in data_samples])
        like = dict(device=pred_x.device, dtype=pred_x.dtype)
        loss = self.loss_module((pred_x, pred_y), (target_x.to(**like), target_y.to(**like)),
                                weights.to(**like))
        return {'loss_kpt': loss}

    # ------------------------------------------------------------- predict
    def predict(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]],
                data_samples: Sequence, test_cfg: Optional[dict] = None,
                flipped_feats: Optional[Sequence[torch.Tensor]] = None) -> Sequence:
        """Decode keypoints into the data samples.

        Args:
            feats: the features of the images (as for ``forward``).
            data_samples: B data samples with ``center``/``bbox_size`` metainfo (and
                ``flip_indices`` for flip test).
            test_cfg (dict, optional): ``flip_indices`` (fallback permutation),
                ``output_heatmaps`` (also store the SimCC vectors); other keys are
                ignored.
            flipped_feats: features of the horizontally mirrored images; when given,
                their flipped-back SimCC vectors are averaged with the images'.

        Returns:
            The data samples with ``pred_keypoints`` [K, 2] and ``keypoint_scores`` [K].
        """
        outputs = self.predict_outputs(feats)
        flipped = None if flipped_feats is None else self.predict_outputs(flipped_feats)
        return self.decode_outputs(outputs, data_samples, test_cfg, flipped)

    def decode_outputs(self, outputs: SimCC, data_samples: Sequence,
                       test_cfg: Optional[dict] = None,
                       flipped_outputs: Optional[SimCC] = None) -> Sequence:
        """SimCC vectors (and those of the mirrored images) → keypoints in the samples.

        The second half of ``predict``, shared with every backend that computes the
        vectors elsewhere (an exported graph), so flip-back and decoding exist once.

        Args:
            outputs: (simcc_x [B, K, Wx], simcc_y [B, K, Hy]) of the images.
            data_samples, test_cfg: as for ``predict``.
            flipped_outputs: the same for the horizontally mirrored images (flip test:
                x vectors reversed and joints swapped by ``flip_indices``, then the
                average with ``outputs``), or None.

        Returns:
            The data samples with ``pred_keypoints`` (float32 numpy [K, 2], 0-based
            image px) and ``keypoint_scores`` (float32 numpy [K]); with
            ``test_cfg['output_heatmaps']`` also ``pred_simcc_x`` [K, Wx] and
            ``pred_simcc_y`` [K, Hy] (float32 numpy); with a decoder made with
            ``decode_visibility=True`` also ``pred_keypoints_visible`` [K].
        """
        if self.decoder is None:
            raise codec_not_set('model.head.decoder', type(self).__name__)
        test_cfg = test_cfg or {}
        simcc_x, simcc_y = outputs
        if flipped_outputs is not None:
            indices = resolve_flip_indices(data_samples, test_cfg, simcc_x.shape[1])
            flip_x, flip_y = flip_back_vectors(*flipped_outputs, indices)
            simcc_x = (simcc_x + flip_x) * 0.5
            simcc_y = (simcc_y + flip_y) * 0.5
        simcc_x = simcc_x.detach().float().cpu().numpy()
        simcc_y = simcc_y.detach().float().cpu().numpy()
        coords, scores = self.decoder.decode(simcc_x, simcc_y)
        visibility = None
        if isinstance(scores, tuple):   # a codec with decode_visibility=True
            scores, visibility = scores
            visibility = np.asarray(visibility, np.float32).reshape(simcc_x.shape[:2])
        coords = np.asarray(coords).reshape(simcc_x.shape[0], simcc_x.shape[1], -1)
        scores = np.asarray(scores, np.float32).reshape(simcc_x.shape[:2])
        for i, ds in enumerate(data_samples):
            matrix = input_to_image_matrix(ds.metainfo, self.decoder.input_size,
                                           codec_grid=getattr(self.decoder, 'grid', None))
            ds.pred_keypoints = apply_affine(coords[i, :, :2], matrix).astype(np.float32)
            ds.keypoint_scores = scores[i]
            if visibility is not None:
                ds.pred_keypoints_visible = visibility[i]
            if test_cfg.get('output_heatmaps', False):
                ds.pred_simcc_x = simcc_x[i]
                ds.pred_simcc_y = simcc_y[i]
        return data_samples
