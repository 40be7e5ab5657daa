"""Head regressing 3D joint positions from per-frame features."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from hpekit.codecs import build_codec
from hpekit.registry import MODELS


def _mlp(in_channels, hidden_dims, dropout):
    """Linear + ReLU (+ Dropout) per hidden size; returns (layers, out size)."""
    layers = []
    for dim in hidden_dims:
        layers += [nn.Linear(in_channels, dim), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_channels = dim
    return nn.Sequential(*layers), in_channels


@MODELS.register_module()
class JointRegressionHead(BaseModule):
    """MLP regressing K joints × (x, y, z) in metres for every frame.

    Args:
        in_channels (int): feature size D per frame.
        num_joints (int): K. Default 17 (Human3.6M).
        hidden_dims (Sequence[int]): sizes of the hidden Linear+ReLU(+Dropout)
            layers; empty for a single linear layer. Default (256,).
        dropout (float): dropout in [0, 1) after each hidden layer.
        loss (dict): config of the loss (MODELS), called as
            ``loss(pred [B,T,K,3], target [B,T,K,3])``. Default MSELoss.
        decoder (dict, optional): the config's codec (``RootRelativeJoints3D``):
            frame size and frames per clip of the model's input (its spec).
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward: [B, T, D] → [B, T, K, 3] (metres; linear output, no activation).
        loss(feats, data_samples): ``{'loss_joints': scalar}`` against the stacked
        ``gt_joints_3d`` ([T, K, 3] each) of the data samples.
        predict(feats, data_samples): the data samples with ``pred_joints_3d``
        ([T, K, 3] float32, detached) set.
    """

    sweep_example = dict(cfg=dict(in_channels=6, num_joints=3, hidden_dims=(4,)),
                         inputs=[(2, 2, 6)])

    def __init__(self, in_channels, num_joints=17, hidden_dims=(256,), dropout=0.0,
                 loss=dict(type='MSELoss'), decoder=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.decoder = None if decoder is None else build_codec(decoder)
        self._check_args(in_channels, num_joints, hidden_dims, dropout)
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.mlp, last = _mlp(in_channels, tuple(hidden_dims), dropout)
        self.fc_out = nn.Linear(last, num_joints * 3)
        self.loss_module = MODELS.build(loss)

    @staticmethod
    def _check_args(in_channels, num_joints, hidden_dims, dropout):
        for name, value in [('in_channels', in_channels), ('num_joints', num_joints)]:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        if any(isinstance(d, bool) or not isinstance(d, int) or d <= 0
               for d in hidden_dims):
            raise ValueError(f'hidden_dims must be a sequence of positive ints, '
                             f'got {hidden_dims!r}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be a float in [0, 1), got {dropout!r}')

    def forward(self, feats):
        """[B, T, D] → [B, T, K, 3]."""
        if feats.dim() != 3 or feats.shape[-1] != self.in_channels:
            raise ValueError(f'expected features [B, T, {self.in_channels}], '
                             f'got {tuple(feats.shape)}')
        out = self.fc_out(self.mlp(feats))
        return out.view(*feats.shape[:2], self.num_joints, 3)

    def loss(self, feats, data_samples):
        """[B, T, D] features + B data samples → ``{'loss_joints': scalar}``."""
        pred = self(feats)
        target = torch.stack([torch.as_tensor(ds.gt_joints_3d) for ds in data_samples])
        target = target.to(device=pred.device, dtype=pred.dtype)
        return {'loss_joints': self.loss_module(pred, target)}

    def predict(self, feats, data_samples):
        """[B, T, D] features → the B data samples with ``pred_joints_3d`` set."""
        return self.decode_joints(self(feats), data_samples)

    def decode_joints(self, joints, data_samples):
        """Joints [B, T, K, 3] (this head's output, or the exported graph's) → the B data
        samples with ``pred_joints_3d`` (float32 [T, K, 3] metres) set."""
        pred = torch.as_tensor(joints).detach().float()
        for ds, item in zip(data_samples, pred):
            ds.pred_joints_3d = item
        return data_samples
