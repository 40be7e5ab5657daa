"""Coordinate regression losses for 3D joints."""
import torch.nn as nn

from hpekit.registry import MODELS


def _check_shapes(pred, target, target_weight):
    if pred.shape != target.shape:
        raise ValueError(f'pred and target must have the same shape [..., K, 3], '
                         f'got {tuple(pred.shape)} and {tuple(target.shape)}')
    if target_weight is not None and target_weight.shape != pred.shape[:-1]:
        raise ValueError(f'target_weight must have shape {tuple(pred.shape[:-1])} '
                         f'(one weight per joint), got {tuple(target_weight.shape)}')


def _weighted_mean(errors, target_weight):
    """Mean over every element of ``errors`` [..., K, 3], joint-weighted if given."""
    if target_weight is not None:
        errors = errors * target_weight.unsqueeze(-1).to(errors.dtype)
    return errors.mean()


class _CoordinateLoss(nn.Module):
    """Element-wise loss averaged over (frames, joints, xyz), times ``loss_weight``.

    forward(pred, target, target_weight=None): pred and target [..., K, 3] (metres),
    target_weight [..., K] multiplies each joint's terms (the mean still divides by
    the number of all elements). Returns a scalar tensor. Subclasses define the
    static ``_elementwise(pred, target)`` (the per-element error).
    """

    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred, target, target_weight=None):
        """[..., K, 3], [..., K, 3], optional [..., K] → scalar."""
        _check_shapes(pred, target, target_weight)
        errors = self._elementwise(pred, target)
        return self.loss_weight * _weighted_mean(errors, target_weight)


@MODELS.register_module()
class MSELoss(_CoordinateLoss):
    """Mean squared error over (frames, joints, xyz); see ``_CoordinateLoss``.

    Args:
        loss_weight (float): factor applied to the loss. Default 1.0.
    """

    sweep_example = dict(cfg=dict(), inputs=[(2, 4, 3), (2, 4, 3)])

    @staticmethod
    def _elementwise(pred, target):
        return (pred - target) ** 2


@MODELS.register_module()
class L1Loss(_CoordinateLoss):
    """Mean absolute error over (frames, joints, xyz); see ``_CoordinateLoss``.

    Args:
        loss_weight (float): factor applied to the loss. Default 1.0.
    """

    sweep_example = dict(cfg=dict(loss_weight=0.5), inputs=[(2, 4, 3), (2, 4, 3)])

    @staticmethod
    def _elementwise(pred, target):
        return (pred - target).abs()


@MODELS.register_module()
class MPJPELoss(nn.Module):
    """Mean per-joint position error: the Euclidean distance of each joint, averaged
    over (frames, joints) — VideoPose3D's training loss.

    forward(pred, target, target_weight=None): [..., K, 3] each (metres), optional
    [..., K] joint weights (the mean still divides by the number of joints). Returns
    a scalar tensor times ``loss_weight``.

    Args:
        loss_weight (float): factor applied to the loss. Default 1.0.
    """

    sweep_example = dict(cfg=dict(), inputs=[(2, 4, 3), (2, 4, 3)])

    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred, target, target_weight=None):
        _check_shapes(pred, target, target_weight)
        errors = (pred - target).norm(dim=-1)
        if target_weight is not None:
            errors = errors * target_weight.to(errors.dtype)
        return self.loss_weight * errors.mean()
