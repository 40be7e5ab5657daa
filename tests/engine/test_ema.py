"""ExpMomentumEMA (RTMPose's model average) through mmengine's EMAHook: the momentum
schedule, the averaged weights validated and saved, and an exact resume of the average."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import EMAHook, Hook
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.engine.ema import ExpMomentumEMA
from hpekit.registry import HOOKS, MODELS
from hpekit.utils import register_all_modules

register_all_modules()


# ------------------------------------------------------------------ the schedule
def test_momentum_schedule_is_mmposes():
    ema = ExpMomentumEMA(nn.Linear(1, 1), momentum=0.0002, gamma=2000)
    for steps in (0, 1, 10, 2000, 50_000):
        expected = (1 - 0.0002) * math.exp(-(1 + steps) / 2000) + 0.0002
        assert ema.momentum_at(steps) == pytest.approx(expected, rel=1e-12)
    assert ema.momentum_at(0) == pytest.approx(0.99950, abs=1e-5)   # follows at first
    assert ema.momentum_at(10**6) == pytest.approx(0.0002)          # then averages slowly
    values = [ema.momentum_at(s) for s in range(0, 20000, 100)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_updates_follow_the_recursion_and_differ_from_the_model():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    ema = ExpMomentumEMA(model, momentum=0.05, gamma=4)
    expected = model.weight.detach().double().clone()
    ema.update_parameters(model)   # the first update copies
    for step in range(1, 8):
        with torch.no_grad():
            model.weight.add_(torch.randn_like(model.weight))
        m = (1 - 0.05) * math.exp(-(1 + step) / 4) + 0.05
        expected = expected * (1 - m) + model.weight.detach().double() * m
        ema.update_parameters(model)
    assert int(ema.steps) == 8
    torch.testing.assert_close(ema.module.weight.double(), expected, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(ema.module.weight, model.weight)
    assert not ema.module.weight.requires_grad


def test_avg_func_called_directly_computes_its_momentum():
    ema = ExpMomentumEMA(nn.Linear(1, 1), momentum=0.1, gamma=2)
    avg, src = torch.zeros(3), torch.ones(3)
    ema.avg_func(avg, src, torch.tensor(3))
    m = 0.9 * math.exp(-2.0) + 0.1
    torch.testing.assert_close(avg, torch.full((3,), m))


def test_buffers_are_averaged_with_update_buffers():
    model = nn.BatchNorm1d(2)
    ema = ExpMomentumEMA(model, momentum=0.5, gamma=1, update_buffers=True)
    ema.update_parameters(model)
    model.running_mean.fill_(1.0)
    ema.update_parameters(model)
    m = 0.5 * math.exp(-2.0) + 0.5
    torch.testing.assert_close(ema.module.running_mean, torch.full((2,), m))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='gamma'):
        ExpMomentumEMA(nn.Linear(1, 1), gamma=0)
    with pytest.raises(AssertionError, match='momentum'):
        ExpMomentumEMA(nn.Linear(1, 1), momentum=1.5)


def test_registered_in_hpekits_model_registry():
    assert MODELS.get('ExpMomentumEMA') is ExpMomentumEMA



def test_mmengines_ema_hook_builds_it_in_the_hpekit_scope():
    """EMAHook builds ``ema_type`` through mmengine's root MODELS, which under the
    default scope 'hpekit' looks in hpekit's child registry first."""
    cfg = dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
               update_buffers=True)   # the Runner pops 'priority' before building
    model = nn.Linear(2, 2)
    with DefaultScope.overwrite_default_scope('hpekit'):
        hook = HOOKS.build(cfg)
        hook.before_run(type('FakeRunner', (), {'model': model})())
    assert isinstance(hook, EMAHook)
    assert type(hook.ema_model) is ExpMomentumEMA
    assert (hook.ema_model.momentum, hook.ema_model.gamma) == (0.0002, 2000)
    assert hook.ema_model.update_buffers


# ------------------------------------------------------------ a real training run
class _Pairs(Dataset):
    def __init__(self, n=8):
        rng = np.random.default_rng(0)
        self.x = torch.tensor(rng.normal(size=(n, 2)), dtype=torch.float32)
        self.y = self.x @ torch.tensor([[1.5], [-2.0]]) + 0.5

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=self.y[i])


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(2)
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(self.bn(inputs))
        if mode == 'loss':
            return dict(loss=F.mse_loss(out, data_samples))
        if mode == 'predict':
            return [dict(pred=float(p)) for p in out]
        return out


class _MeanPrediction(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results += [s['pred'] for s in data_samples]

    def compute_metrics(self, results):
        return dict(mean_pred=float(np.mean(results)))


class _RecordValWeights(Hook):
    """The model's weights while validation runs (after EMAHook swapped)."""

    priority = 'LOW'

    def __init__(self):
        self.seen = []

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            self.seen.append({k: v.clone() for k, v in runner.model.state_dict().items()})


def _runner(work_dir, max_epochs=3, load_from=None):
    loader = dict(dataset=_Pairs(), sampler=dict(type='DefaultSampler', shuffle=True),
                  batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'))
    return Runner(
        model=_Toy(), work_dir=str(work_dir), experiment_name=f'ema_{work_dir.name}',
        train_dataloader=loader,
        train_cfg=dict(type='ExactResumeTrainLoop', max_epochs=max_epochs, val_interval=1),
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_cfg=dict(), val_evaluator=Evaluator([_MeanPrediction()]),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type='SafeCheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
                           update_buffers=True, priority=49), _RecordValWeights()],
        default_scope='hpekit', randomness=dict(seed=0), load_from=load_from,
        resume=load_from is not None, visualizer=dict(type='Visualizer',
                                                      vis_backends=[]))


def _hook(runner, kind):
    return next(h for h in runner.hooks if isinstance(h, kind))


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
    runner = _runner(tmp_path_factory.mktemp('straight'))
    runner.train()
    return runner


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_validation_uses_the_averaged_weights(straight):
    ema = _hook(straight, EMAHook).ema_model.module.state_dict()
    trained = straight.model.state_dict()
    validated = _hook(straight, _RecordValWeights).seen[-1]   # after the last epoch
    assert len(_hook(straight, _RecordValWeights).seen) == 3
    assert _same(validated, ema)
    assert not torch.equal(validated['linear.weight'], trained['linear.weight'])
    # and the model trains on its own weights again after validation
    assert not torch.equal(trained['linear.weight'], ema['linear.weight'])


def test_checkpoint_state_dict_is_the_average_and_holds_the_trained_weights(straight):
    ckpt = load_checkpoint_file(str(Path(straight.work_dir) / 'epoch_3.pth'),
                                map_location='cpu')
    ema = _hook(straight, EMAHook).ema_model
    assert _same(ckpt['state_dict'], ema.module.state_dict())
    trained = straight.model.state_dict()
    assert all(torch.equal(ckpt['ema_state_dict'][f'module.{k}'], v)
               for k, v in trained.items())
    assert int(ckpt['ema_state_dict']['steps']) == straight.iter == 6


def test_resume_restores_the_average_exactly(straight, tmp_path):
    """Resumed from epoch 1's checkpoint, the run ends with the straight run's weights
    and average, bit for bit (the average's step count restored with it)."""
    resumed = _runner(tmp_path, load_from=str(Path(straight.work_dir) / 'epoch_1.pth'))
    resumed.train()
    assert len(_hook(resumed, _RecordValWeights).seen) == 2   # epochs 2 and 3 only
    assert _same(resumed.model.state_dict(), straight.model.state_dict())
    assert _same(_hook(resumed, EMAHook).ema_model.state_dict(),
                 _hook(straight, EMAHook).ema_model.state_dict())
    first = _hook(resumed, _RecordValWeights).seen[0]   # epoch 2's validation
    assert _same(first, _hook(straight, _RecordValWeights).seen[1])

