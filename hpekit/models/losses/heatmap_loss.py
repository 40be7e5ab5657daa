"""Heatmap regression loss for 2D keypoints."""
import torch.nn as nn

from hpekit.registry import MODELS


def _check_shapes(pred, target, target_weight):
    if pred.dim() != 4 or pred.shape != target.shape:
        raise ValueError(f'pred and target must both have shape [B, K, H, W], '
                         f'got {tuple(pred.shape)} and {tuple(target.shape)}')
    if target_weight is not None and tuple(target_weight.shape) != tuple(pred.shape[:2]):
        raise ValueError(f'target_weight must have shape {tuple(pred.shape[:2])} '
                         f'([B, K], one weight per joint), got '
                         f'{tuple(target_weight.shape)}')


@MODELS.register_module()
class KeypointMSELoss(nn.Module):
    """Joint-weighted mean squared error between heatmaps (HRNet's definition).

    ``loss = loss_weight · 0.5 · mean over (B, K, H, W) of (w_bk · (pred − target))²``

    i.e. for every joint half the mean over its pixels of the squared error of the
    weighted maps, averaged over joints and samples. A joint with weight 0 contributes
    0 but still counts in the mean (the normaliser is always B·K·H·W).

    Args:
        use_target_weight (bool): multiply each joint's maps by its weight. If False
            the weights are ignored (and may be omitted). Default True.
        skip_empty_channel (bool): a joint whose target map is all zeros (no visible
            ground truth) contributes 0, as if its weight were 0; it still counts in
            the normaliser (MMPose's argument). Default False.
        loss_weight (float): factor applied to the loss. Default 1.0.

    Shapes:
        forward(pred [B, K, H, W], target [B, K, H, W], target_weight [B, K] or None)
        → scalar tensor.
    """

    sweep_example = dict(cfg=dict(), inputs=[(2, 3, 4, 4), (2, 3, 4, 4), (2, 3)])

    def __init__(self, use_target_weight=True, skip_empty_channel=False, loss_weight=1.0):
        super().__init__()
        self.use_target_weight = bool(use_target_weight)
        self.skip_empty_channel = bool(skip_empty_channel)
        self.loss_weight = float(loss_weight)

    def forward(self, pred, target, target_weight=None):
        """See the class docstring."""
        if self.use_target_weight and target_weight is None:
            raise ValueError('KeypointMSELoss(use_target_weight=True) needs target_weight '
                             '[B, K]')
        _check_shapes(pred, target, target_weight)
        diff = pred - target
        if self.use_target_weight:
            diff = diff * target_weight.to(diff.dtype)[:, :, None, None]
        if self.skip_empty_channel:
            diff = diff * target.flatten(2).ne(0).any(dim=2).to(diff.dtype)[:, :, None, None]
        return self.loss_weight * 0.5 * diff.pow(2).mean()
