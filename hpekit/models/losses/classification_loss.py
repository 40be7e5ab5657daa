"""Classification losses over 1D coordinate bins (SimCC)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from hpekit.registry import MODELS


@MODELS.register_module()
class KLDiscretLoss(nn.Module):
    """KL divergence between per-joint bin distributions along x and y (SimCC, RTMPose;
    MMPose's ``KLDiscretLoss``, same value).

    For every sample b, joint k and axis (x, then y), with W bins on that axis:

    - prediction: log p = log_softmax(beta · pred[b, k]);
    - target: q = target[b, k], or softmax(label_beta · target[b, k]) with
      ``label_softmax`` (for Gaussian labels that are not normalised);
    - term: mean over the W bins of q · (log q − log p) (0 where q = 0), multiplied
      by the joint's weight (``use_target_weight``) and by ``mask_weight`` for the
      joints in ``mask``.

    ``loss = (sum of the terms over samples, joints and both axes) / K``: summed over
    the batch, averaged over joints.

    Args:
        beta (float): temperature multiplying the predictions. Default 1.0 (RTMPose
            configs: 10).
        label_softmax (bool): softmax the targets with ``label_beta``. Default False.
        label_beta (float): temperature multiplying the targets. Default 10.0.
        use_target_weight (bool): weight each joint by ``target_weight``. Default True.
        mask (Sequence[int], optional): joints whose terms are multiplied by
            ``mask_weight``.
        mask_weight (float): that factor. Default 1.0.

    Shapes:
        forward((pred_x [B, K, Wx], pred_y [B, K, Hy]), (target_x, target_y) alike,
        target_weight [B, K] (or any shape with B·K elements)) → scalar tensor.
    """

    sweep_example = dict(cfg=dict(beta=10.0, label_softmax=True, mask=[1],
                                  mask_weight=0.5),
                         inputs=[[(2, 3, 8), (2, 3, 6)], [(2, 3, 8), (2, 3, 6)], (2, 3)])

    def __init__(self, beta: float = 1.0, label_softmax: bool = False,
                 label_beta: float = 10.0, use_target_weight: bool = True,
                 mask: Optional[Sequence[int]] = None, mask_weight: float = 1.0):
        super().__init__()
        self.beta = beta
        self.label_softmax = label_softmax
        self.label_beta = label_beta
        self.use_target_weight = use_target_weight
        self.mask = None if mask is None else [int(k) for k in mask]
        self.mask_weight = mask_weight

    def criterion(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """[N, W] logits and targets → [N]: mean over the bins of the KL terms.

        In float32 whatever ``pred``'s dtype: CPU autocast leaves ``log_softmax`` in its
        input's dtype (CUDA autocast runs it in float32), and a bfloat16 log-softmax
        over hundreds of SimCC bins loses the small differences the loss is made of.
        """
        log_p = F.log_softmax(pred.float() * self.beta, dim=1)
        if self.label_softmax:
            target = F.softmax(target * self.label_beta, dim=1)
        return F.kl_div(log_p, target, reduction='none').mean(dim=1)

    def forward(self, pred_simcc: Tuple[torch.Tensor, torch.Tensor],
                gt_simcc: Tuple[torch.Tensor, torch.Tensor],
                target_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """See the class docstring."""
        if len(pred_simcc) != len(gt_simcc):
            raise ValueError(f'pred_simcc and gt_simcc must have as many axes, got '
                             f'{len(pred_simcc)} and {len(gt_simcc)}')
        batch, num_joints = pred_simcc[0].shape[:2]
        weight = 1.0
        if self.use_target_weight:
            if target_weight is None or target_weight.numel() != batch * num_joints:
                got = None if target_weight is None else tuple(target_weight.shape)
                raise ValueError(f'KLDiscretLoss(use_target_weight=True) needs '
                                 f'target_weight with B·K = {batch * num_joints} '
                                 f'elements, got {got}')
            weight = target_weight.reshape(-1)
        factor = None
        if self.mask is not None:
            factor = pred_simcc[0].new_ones(num_joints)
            factor[self.mask] = self.mask_weight
        loss = 0
        for pred, target in zip(pred_simcc, gt_simcc):
            if pred.dim() != 3 or pred.shape[:2] != (batch, num_joints) \
                    or pred.shape != target.shape:
                raise ValueError(f'each pred/target pair must be [B, K, W] with B, K = '
                                 f'{batch}, {num_joints}, got {tuple(pred.shape)} and '
                                 f'{tuple(target.shape)}')
            terms = self.criterion(pred.reshape(-1, pred.shape[-1]),
                                   target.reshape(-1, target.shape[-1])) * weight
            if factor is not None:
                terms = terms.reshape(batch, num_joints) * factor
            loss = loss + terms.sum()
        return loss / num_joints
