"""PipelineSwitchHook: the training pipeline changes at switch_epoch, also in a run
resumed past it, and reaches persistent DataLoader workers."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import (BaseDataset, Compose, ConcatDataset, RepeatDataset,
                              default_collate)
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader, Dataset

from hpekit.config.checks import CodecNotSetError
from hpekit.datasets.transforms import YOLOXHSVRandomAug
from hpekit.engine.hooks import PipelineSwitchHook
from hpekit.registry import HOOKS
from hpekit.utils import register_all_modules

register_all_modules()


def stage_1(results):
    return dict(results, stage=1)


def stage_2(results):
    return dict(results, stage=2)


class _Staged(Dataset):
    """Samples that say which pipeline made them (``stage``)."""

    def __init__(self, n=8):
        self.n = n
        self.pipeline = Compose([stage_1])

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        stage = self.pipeline(dict(idx=i))['stage']
        return dict(inputs=torch.tensor([float(i) / self.n, 1.0]),
                    data_samples=torch.tensor([float(stage)]))


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)


def _fake_runner(dataset, epoch=0, **loader_args):
    loader = DataLoader(dataset, batch_size=4, collate_fn=default_collate, **loader_args)
    return SimpleNamespace(epoch=epoch, train_dataloader=loader, logger=_Log())


def _stages(loader):
    return [int(s) for batch in loader for s in batch['data_samples'].flatten()]


# ------------------------------------------------------------------ the hook itself
def test_switches_at_switch_epoch_once_and_logs_one_line():
    runner = _fake_runner(_Staged())
    hook = PipelineSwitchHook(switch_epoch=2, switch_pipeline=[stage_2])
    hook.before_train(runner)
    seen = []
    for epoch in range(4):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        seen.append(set(_stages(runner.train_dataloader)))
    assert seen == [{1}, {1}, {2}, {2}]
    assert len(runner.logger.lines) == 1
    assert 'epoch 3 trains with switch_pipeline' in runner.logger.lines[0]
    assert 'switch_epoch=2' in runner.logger.lines[0] and 'stage_2' in runner.logger.lines[0]


def test_a_run_resumed_past_the_switch_epoch_switches_at_its_first_epoch():
    runner = _fake_runner(_Staged(), epoch=5)   # resumed at epoch 6; switch was epoch 3
    hook = PipelineSwitchHook(switch_epoch=2, switch_pipeline=[stage_2])
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert set(_stages(runner.train_dataloader)) == {2}


def test_builds_hpekits_transforms_and_checks_the_codec_at_the_start():
    runner = _fake_runner(_Staged())
    hook = PipelineSwitchHook(0, [dict(type='YOLOXHSVRandomAug', hue_delta=3)])
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    transform, = runner.train_dataloader.dataset.pipeline.transforms
    assert isinstance(transform, YOLOXHSVRandomAug) and transform.hue_delta == 3
    with pytest.raises(CodecNotSetError, match='encoder'):
        PipelineSwitchHook(9, [dict(type='GenerateTarget')]).before_train(runner)


class _StagedInfos(BaseDataset):
    """An mmengine dataset (what its wrappers take) of data infos made by stage 1."""

    def __init__(self, n=4):
        self.n = n
        super().__init__(pipeline=[stage_1], serialize_data=False)

    def load_data_list(self):
        return [dict(idx=i) for i in range(self.n)]


def test_wrapped_datasets_get_the_pipeline():
    repeat = RepeatDataset(_StagedInfos(), times=2)
    concat = ConcatDataset([_StagedInfos(), _StagedInfos()])
    for dataset in (repeat, concat):
        runner = SimpleNamespace(epoch=0, train_dataloader=SimpleNamespace(dataset=dataset),
                                 logger=_Log())
        assert {dataset[i]['stage'] for i in range(len(dataset))} == {1}
        hook = PipelineSwitchHook(0, [stage_2])
        hook.before_train(runner)
        hook.before_train_epoch(runner)
        assert {dataset[i]['stage'] for i in range(len(dataset))} == {2}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='switch_epoch'):
        PipelineSwitchHook(-1, [stage_2])
    with pytest.raises(ValueError, match='switch_pipeline'):
        PipelineSwitchHook(1, [])
    runner = _fake_runner(_Staged())
    runner.train_dataloader = SimpleNamespace(dataset=[1, 2, 3])
    with pytest.raises(TypeError, match='no pipeline'):
        PipelineSwitchHook(0, [stage_2]).before_train_epoch(runner)


def test_registered_in_hpekits_hook_registry():
    assert HOOKS.get('PipelineSwitchHook') is PipelineSwitchHook


def test_persistent_workers_are_restarted_with_the_new_pipeline():
    runner = _fake_runner(_Staged(), num_workers=1, persistent_workers=True)
    loader = runner.train_dataloader
    assert set(_stages(loader)) == {1}   # the worker now holds stage 1
    loader.dataset.pipeline = Compose([stage_2])
    assert set(_stages(loader)) == {1}   # a plain assignment does not reach it
    hook = PipelineSwitchHook(0, [stage_2])
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert set(_stages(loader)) == {2}
    assert 'persistent DataLoader workers restarted' in runner.logger.lines[0]
    assert set(_stages(loader)) == {2}   # the new workers persist


# ------------------------------------------------------------ a real training run
class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        return dict(loss=F.mse_loss(out, data_samples)) if mode == 'loss' else out


class _RecordStages(Hook):
    def __init__(self):
        self.by_epoch = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        stages = {int(s) for s in data_batch['data_samples'].flatten()}
        self.by_epoch.setdefault(runner.epoch, set()).update(stages)


def _runner(work_dir, load_from=None):
    return Runner(
        model=_Toy(), work_dir=str(work_dir), experiment_name=f'switch_{work_dir.name}',
        train_dataloader=dict(dataset=_Staged(), sampler=dict(type='DefaultSampler'),
                              batch_size=4, num_workers=0,
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(type='ExactResumeTrainLoop', max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='SafeCheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[dict(type='PipelineSwitchHook', switch_epoch=1,
                           switch_pipeline=[stage_2]), _RecordStages()],
        default_scope='hpekit', randomness=dict(seed=0), load_from=load_from,
        resume=load_from is not None, visualizer=dict(type='Visualizer', vis_backends=[]))


def _recorded(runner):
    return next(h for h in runner.hooks if isinstance(h, _RecordStages)).by_epoch


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
    runner = _runner(tmp_path_factory.mktemp('straight'))
    runner.train()
    return runner


def test_training_switches_at_switch_epoch(straight):
    assert _recorded(straight) == {0: {1}, 1: {2}, 2: {2}}


@pytest.mark.parametrize('checkpoint, expected', [
    ('epoch_1.pth', {1: {2}, 2: {2}}),   # resumed at the switch epoch
    ('epoch_2.pth', {2: {2}}),           # resumed after it: MMDetection's hook misses it
])
def test_resumed_runs_use_the_switched_pipeline(straight, tmp_path, checkpoint, expected):
    resumed = _runner(tmp_path, load_from=str(Path(straight.work_dir) / checkpoint))
    resumed.train()
    assert _recorded(resumed) == expected
    assert torch.equal(resumed.model.linear.weight, straight.model.linear.weight)
