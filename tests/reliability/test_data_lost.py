"""Issue 25, "Data lost": resumes that deleted checkpoints they should have kept.

- a work dir moved or copied elsewhere: the best checkpoint was tracked by its
  absolute path, so ``--resume auto`` in the new dir deleted the new dir's best (and
  later the *old* dir's best) as "a previous best checkpoint";
- a resume that then fails (another optimizer, another param-group layout) had
  already deleted leftovers of the interrupted run: every resume check now runs first,
  with an error naming the checkpoint and what differs.

One 1-epoch run (``max_keep_ckpts=2``: ``iter_2.pth``, ``iter_3.pth``,
``best_mpjpe_iter_3.pth``) is copied for each case and resumed for the second epoch.
"""
import contextlib
import itertools
import os
import shutil

import pytest
import torch
from conftest import build_runner, log_text
from mmengine.hooks import Hook

from hpekit.checkpoint import retention
from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.checkpoint.resume import (ResumeMismatchError, check_resume_optimizer,
                                      find_resumable_checkpoint, optimizer_layout)
from hpekit.registry import HOOKS

KEEP = {'default_hooks.checkpoint.max_keep_ckpts': 2}
BEST = 'best_mpjpe_iter_3.pth'
_NAMES = itertools.count()


def _runner(config, work, data_root, **options):
    """``build_runner`` with a visualizer of its own: mmengine hands a later runner the
    first one's visualizer (same name), which writes into the first one's work dir."""
    return build_runner(config, work, data_root,
                        **{'visualizer.name': f'data_lost_{next(_NAMES)}'}, **options)


class Stopped(RuntimeError):
    """What ``DataLostStopHook`` raises."""


@HOOKS.register_module(force=True)
class DataLostStopHook(Hook):
    """Test helper: the run stops (``Stopped``, as a kill would) before iteration
    ``iteration + 1``."""

    def __init__(self, iteration):
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter >= self.iteration:
            raise Stopped(f'stopped before iteration {runner.iter + 1}')


@pytest.fixture(scope='module')
def first_epoch(tmp_path_factory, fault_config, data_root):
    """A run stopped after its first epoch (the second one is resumed by each test),
    trained in ``<dir>/work`` and stored as ``<dir>/stored``: its checkpoints name
    ``<dir>/work``, where ``_in_place`` puts a copy for the length of one test."""
    folder = tmp_path_factory.mktemp('first_epoch')
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _runner(fault_config, folder / 'work', data_root, **KEEP,
                **{'train_cfg.max_epochs': 1}).train()
    finally:
        torch.set_num_threads(previous)
    assert sorted(n for n in os.listdir(folder / 'work') if n.endswith('.pth')) == \
        [BEST, 'iter_2.pth', 'iter_3.pth']
    os.rename(folder / 'work', folder / 'stored')
    return folder / 'stored'


@contextlib.contextmanager
def _in_place(first_epoch):
    """The first epoch's run in the dir it was trained in (its recorded paths hold)."""
    work = first_epoch.parent / 'work'
    _copy(first_epoch, work)
    try:
        yield work
    finally:
        shutil.rmtree(work)


def _copy(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('2*'))   # not the log dirs
    return dst


def _files(folder):
    """``{name: (size, mtime)}`` of the files in ``folder`` (log dirs left out)."""
    return {n: (os.stat(folder / n).st_size, os.stat(folder / n).st_mtime_ns)
            for n in os.listdir(folder) if (folder / n).is_file()}


def _hub(path):
    return load_checkpoint_file(str(path), map_location='cpu')['message_hub']['runtime_info']


def _resume(work, data_root, fault_config, stop=None, **options):
    if stop is not None:
        options['custom_hooks'] = [dict(type='EpochSeedHook'), dict(type='MetricsJsonHook'),
                                   dict(type='DataLostStopHook', iteration=stop)]
    return _runner(fault_config, work, data_root, resume='auto', **{**KEEP, **options})


# ------------------------------------------------------------ case 1: moved work dir
def test_case_best_checkpoint_survives_a_resume_in_a_moved_work_dir(
        tmp_path, first_epoch, fault_config, data_root):
    new = _copy(first_epoch, tmp_path / 'new')   # the dir it was trained in is gone
    # Resumed in the new place; stopped (as by a kill) after its first iteration.
    runner = _resume(new, data_root, fault_config, stop=4)
    with pytest.raises(Stopped):
        runner.train()
    log = log_text(runner)
    assert (new / BEST).is_file(), log          # the best is not lost
    assert f'Removed {new / BEST}' not in log
    load_checkpoint_file(str(new / BEST))
    assert f'--resume auto: resuming from {new / "iter_3.pth"}' in log   # its own pointer
    # and the resumed run ends with one best checkpoint, in the new dir
    runner = _resume(new, data_root, fault_config)
    runner.train()
    assert sorted(n for n in os.listdir(new) if n.endswith('.pth')) == \
        ['best_mpjpe_iter_6.pth', 'iter_5.pth', 'iter_6.pth']
    assert _hub(new / 'iter_6.pth')['best_ckpt'] == 'best_mpjpe_iter_6.pth'   # relative


def test_case_best_checkpoint_of_a_copied_work_dir_stays_in_each_dir(
        tmp_path, first_epoch, fault_config, data_root):
    with _in_place(first_epoch) as old:
        before = _files(old)
        new = _copy(old, tmp_path / 'new')
        runner = _resume(new, data_root, fault_config)
        runner.train()
        log = log_text(runner)
        # The copy resumes from its own checkpoint; nothing of the original is touched.
        assert f'--resume auto: resuming from {new / "iter_3.pth"}' in log
        assert _files(old) == before
    assert str(old) not in ''.join(line for line in log.splitlines() if 'Removed' in line)
    # In the copy, the new best replaced the old one (deleted once the new was on disk).
    assert sorted(n for n in os.listdir(new) if n.endswith('.pth')) == \
        ['best_mpjpe_iter_6.pth', 'iter_5.pth', 'iter_6.pth']
    assert f'Removed {new / BEST} (the previous best checkpoint)' in log


def test_case_old_absolute_best_path_is_read_relative_to_the_current_dir(
        tmp_path, first_epoch, fault_config, data_root):
    """Checkpoints written before the fix hold the best's absolute path."""
    new = _copy(first_epoch, tmp_path / 'new')
    ckpt = load_checkpoint_file(str(new / 'iter_3.pth'), map_location='cpu')
    ckpt['message_hub']['runtime_info']['best_ckpt'] = str(first_epoch.parent / 'work' / BEST)
    torch.save(ckpt, new / 'iter_3.pth')
    runner = _resume(new, data_root, fault_config, stop=4)
    with pytest.raises(Stopped):
        runner.train()
    assert (new / BEST).is_file()
    runner = _resume(new, data_root, fault_config)
    runner.train()
    assert sorted(n for n in os.listdir(new) if n.startswith('best_')) == \
        ['best_mpjpe_iter_6.pth']


def test_case_best_checkpoint_is_kept_when_the_best_it_would_give_way_to_is_missing(
        first_epoch, fault_config, data_root):
    """Never delete a checkpoint unless a newer one replacing it is on disk."""
    with _in_place(first_epoch) as work:
        (work / BEST).rename(work / 'best_mpjpe_iter_2.pth')   # the named best is missing
        runner = _resume(work, data_root, fault_config, stop=4)
        with pytest.raises(Stopped):
            runner.train()
        assert (work / 'best_mpjpe_iter_2.pth').is_file(), log_text(runner)


def test_case_retention_deletes_nothing_outside_its_dir_or_without_a_replacement(tmp_path):
    work, other = tmp_path / 'work', tmp_path / 'other'
    work.mkdir()
    other.mkdir()
    for name in ('best_mpjpe_iter_2.pth', 'best_mpjpe_iter_5.pth', 'iter_1.pth',
                 'iter_2.pth'):
        (work / name).write_bytes(b'x')
    tmpl = 'iter_{}.pth'
    # a best named by a path in another folder: read as the file of that name here
    current = retention.resolve_in_dir(str(other / 'best_mpjpe_iter_5.pth'), str(work))
    assert current == str(work / 'best_mpjpe_iter_5.pth')
    assert retention.resolve_in_dir('best_mpjpe_iter_5.pth', str(work)) == current
    assert retention.stale_best_checkpoints(str(work), tmpl, 'mpjpe', current) == \
        [str(work / 'best_mpjpe_iter_2.pth')]
    # the current best missing: nothing is stale; a newer best than the current: kept
    assert retention.stale_best_checkpoints(
        str(work), tmpl, 'mpjpe', str(work / 'best_mpjpe_iter_9.pth')) == []
    assert retention.stale_best_checkpoints(
        str(work), tmpl, 'mpjpe', str(work / 'best_mpjpe_iter_2.pth')) == []
    # interval leftovers go only while a kept (newer) one is on disk
    assert retention.stale_interval_checkpoints(str(work), tmpl, [2]) == \
        [str(work / 'iter_1.pth')]
    assert retention.stale_interval_checkpoints(str(work), tmpl, [3, 4]) == []
    assert retention.deletion_refused(str(other / 'x.pth'), str(work / 'iter_2.pth'),
                                      str(work))
    assert retention.deletion_refused(str(work / 'iter_1.pth'), str(work / 'iter_7.pth'),
                                      str(work))
    assert retention.deletion_refused(str(work / 'iter_1.pth'), str(work / 'iter_2.pth'),
                                      str(work)) is None


def test_case_pointer_of_a_moved_work_dir_is_read_in_the_current_dir(tmp_path,
                                                                     first_epoch):
    new = _copy(first_epoch, tmp_path / 'new')
    with _in_place(first_epoch):   # the original is there too: the copy reads its own
        path, skipped = find_resumable_checkpoint(str(new))
        assert path == str(new / 'iter_3.pth') and skipped == []
        (new / 'iter_3.pth').unlink()
        path, skipped = find_resumable_checkpoint(str(new))
    assert path == str(new / 'iter_2.pth')
    assert skipped[0][0] == str(new / 'last_checkpoint')
    assert 'outside' in skipped[0][1]


# ----------------------------------------------------- case 2: resume checks go first
def _refused_before_any_deletion(work, data_root, fault_config, **options):
    """Resume ``work`` with ``options``: the error it raises; no checkpoint was touched.

    The dir holds what deletions a resume does: a stale best (a kill between a best's
    save and the previous best's deletion) and, with ``max_keep_ckpts`` now 1, an
    interval checkpoint beyond it.
    """
    shutil.copy(work / 'iter_2.pth', work / 'best_mpjpe_iter_2.pth')
    before = {n: v for n, v in _files(work).items() if n.endswith('.pth')}
    runner = _resume(work, data_root, fault_config,
                     **{'default_hooks.checkpoint.max_keep_ckpts': 1}, **options)
    with pytest.raises(ResumeMismatchError) as err:
        runner.train()
    assert {n: v for n, v in _files(work).items() if n.endswith('.pth')} == before
    return str(err.value)


def test_case_resume_with_another_optimizer_is_refused_before_any_deletion(
        first_epoch, fault_config, data_root):
    with _in_place(first_epoch) as work:
        message = _refused_before_any_deletion(
            work, data_root, fault_config,
            **{'optim_wrapper.optimizer': dict(type='SGD', lr=0.01, momentum=0.9)})
    assert f"checkpoint {work / 'iter_3.pth'} was trained with Adam, the config's " \
           f'optimizer is SGD: resume needs the same optimizer' in message
    assert f'load_from={work / "iter_3.pth"}' in message


def test_case_resume_with_another_param_group_layout_is_refused_before_any_deletion(
        first_epoch, fault_config, data_root):
    with _in_place(first_epoch) as work:
        message = _refused_before_any_deletion(
            work, data_root, fault_config,
            **{'optim_wrapper.paramwise_cfg': dict(custom_keys={'head': dict(lr_mult=0.1)})})
    assert f'checkpoint {work / "iter_3.pth"}' in message
    assert '1 parameter group' in message and 'resume needs the same optimizer' in message


def test_case_optimizer_check_reads_checkpoints_without_a_recorded_type():
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    saved = {'optimizer': adam.state_dict(),
             'meta': {'cfg': "optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.1))\n"}}
    with pytest.raises(ResumeMismatchError, match=r'checkpoint x.pth was trained with '
                                                  r'Adam, the config.s optimizer is SGD'):
        check_resume_optimizer(saved, optimizer_layout(sgd), 'x.pth')
    check_resume_optimizer(saved, optimizer_layout(adam), 'x.pth')   # same: passes
    saved['meta'] = {}   # nothing says which optimizer: only the layout is checked
    check_resume_optimizer(saved, optimizer_layout(sgd), 'x.pth')
