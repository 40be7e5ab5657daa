"""KLDiscretLoss (SimCC / RTMPose): hand-computed values, weights, label softmax, mask,
and MMPose 1.3.2's values on fixed cases (``tests/fixtures/mmpose/rtmpose_extra.npz``,
written by ``make_rtmpose_extra.py`` in MMPose's environment)."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hpekit.models.losses import KLDiscretLoss
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

register_all_modules()

EXTRA = Path(__file__).resolve().parents[1] / 'fixtures' / 'mmpose' / 'rtmpose_extra.npz'


def one_hot(length, index):
    out = torch.zeros(length)
    out[index] = 1.0
    return out


def test_uniform_prediction_against_one_hot_labels():
    """KL(one-hot ‖ uniform over W) = log W, averaged over the W bins: log W / W per
    axis; x has 4 bins, y 2: (log 4 / 4 + log 2 / 2) / K with K = 1."""
    loss = KLDiscretLoss()
    pred = (torch.zeros(1, 1, 4), torch.zeros(1, 1, 2))
    target = (one_hot(4, 1)[None, None], one_hot(2, 0)[None, None])
    value = loss(pred, target, torch.ones(1, 1))
    assert value.item() == pytest.approx(math.log(4) / 4 + math.log(2) / 2, rel=1e-6)


def test_sum_over_batch_mean_over_joints_and_weights():
    torch.manual_seed(0)
    pred = (torch.randn(3, 2, 5), torch.randn(3, 2, 6))
    target = (torch.softmax(torch.randn(3, 2, 5), -1), torch.softmax(torch.randn(3, 2, 6), -1))
    loss = KLDiscretLoss()
    per_term = []
    for p, q in zip(pred, target):
        log_p = torch.log_softmax(p, -1)
        per_term.append((q * (q.log() - log_p)).mean(-1))   # [B, K]
    terms = per_term[0] + per_term[1]
    weights = torch.tensor([[1.0, 0.0], [0.5, 1.0], [0.0, 0.0]])
    assert loss(pred, target, weights).item() == pytest.approx(
        (terms * weights).sum().item() / 2, rel=1e-5)
    unweighted = KLDiscretLoss(use_target_weight=False)
    assert unweighted(pred, target, None).item() == pytest.approx(
        terms.sum().item() / 2, rel=1e-5)
    assert unweighted(pred, target, weights).item() == pytest.approx(
        terms.sum().item() / 2, rel=1e-5)


def test_beta_label_softmax_and_mask():
    torch.manual_seed(1)
    pred = (torch.randn(2, 3, 8), torch.randn(2, 3, 4))
    labels = (torch.rand(2, 3, 8), torch.rand(2, 3, 4))
    weights = torch.ones(2, 3)
    cfg = dict(beta=10.0, label_softmax=True, label_beta=5.0)
    got = KLDiscretLoss(**cfg)(pred, labels, weights)
    want = KLDiscretLoss()(tuple(p * 10.0 for p in pred),
                           tuple(torch.softmax(q * 5.0, -1) for q in labels), weights)
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    # mask: the listed joints' terms scaled by mask_weight
    masked = KLDiscretLoss(**cfg, mask=[2], mask_weight=0.0)(pred, labels, weights)
    weights_without_2 = torch.tensor([[1.0, 1.0, 0.0]] * 2)
    assert masked.item() == pytest.approx(
        KLDiscretLoss(**cfg)(pred, labels, weights_without_2).item(), rel=1e-6)


def test_registered_and_differentiable():
    loss = MODELS.build(dict(type='KLDiscretLoss', beta=10., label_softmax=True))
    pred = (torch.randn(2, 3, 8, requires_grad=True), torch.randn(2, 3, 4, requires_grad=True))
    loss(pred, (torch.rand(2, 3, 8), torch.rand(2, 3, 4)), torch.ones(2, 3)).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in pred)


@pytest.mark.parametrize('args, match', [
    (((torch.zeros(2, 3, 4), torch.zeros(2, 3, 5)), (torch.zeros(2, 3, 4),
                                                      torch.zeros(2, 3, 4)), torch.ones(2, 3)),
     r'\[B, K, W\]'),
    (((torch.zeros(2, 3, 4),), (torch.zeros(2, 3, 4),), None), 'target_weight'),
    (((torch.zeros(2, 3, 4),), (torch.zeros(2, 3, 4),), torch.ones(2, 2)), 'target_weight'),
    (((torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)), (torch.zeros(2, 3, 4),),
      torch.ones(2, 3)), 'as many axes')])
def test_bad_inputs_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        KLDiscretLoss()(*args)


def test_values_match_mmpose():
    if not EXTRA.exists():
        pytest.skip(f'{EXTRA} is missing; run make_rtmpose_extra.py in the MMPose env')
    extra = np.load(EXTRA)
    pred = (torch.from_numpy(extra['loss_pred_x']), torch.from_numpy(extra['loss_pred_y']))
    target = (torch.from_numpy(extra['loss_target_x']),
              torch.from_numpy(extra['loss_target_y']))
    weights = torch.from_numpy(extra['loss_weights'])
    cases = json.loads(str(extra['loss_cases']))
    assert len(cases) == len(extra['loss_values']) >= 5
    for cfg, want in zip(cases, extra['loss_values']):
        got = MODELS.build(dict(type='KLDiscretLoss', **cfg))(pred, target, weights)
        assert got.item() == pytest.approx(float(want), rel=1e-6), cfg
