"""``SafeCheckpointHook``: checkpoints that survive kills, full disks and NaNs.

mmengine's ``CheckpointHook`` deletes the oldest checkpoint *before* it writes the new
one, writes checkpoints through the file backend with a plain ``open`` (a kill leaves a
truncated file under the final name), writes the ``last_checkpoint`` pointer with a
plain ``open`` too, and with ``--resume auto`` trusts that pointer blindly. This hook
keeps mmengine's options and file names but:

- writes every checkpoint (interval, best, last) itself: ``torch.save`` into a
  temporary file beside the target, flush, ``fsync``, rename (``atomic_open``);
- deletes old checkpoints (``max_keep_ckpts``, the previous best) only after the new
  one is complete and ``last_checkpoint`` points at it; the pointer is written
  atomically; never deletes a file outside the checkpoint folder, nor one whose
  replacement is not on disk in it (``retention.deletion_refused``);
- names the best checkpoint in the message hub relative to the checkpoint folder, and
  reads absolute paths (older checkpoints, a work dir moved or copied) as the file of
  that name in the current folder: a resumed copy keeps its best checkpoint;
- refuses to write a checkpoint whose weights or optimizer state hold NaN/Inf
  (``NonFiniteCheckpointError``), so the pointer never names such a file;
- at the start of training: takes the work dir's lock (a second run in the same
  work dir stops, naming the first one's pid), removes temporary files of saves that
  were killed, and with ``--resume auto`` resumes from the newest checkpoint that
  loads (saying which, and why newer ones were skipped), or warns that it starts
  from scratch when there is none;
- stores the data plan (batch size, world size, dataset length, iterations per
  epoch) and the optimizer's type and param groups in the checkpoint, and refuses to
  resume under another plan or with another optimizer (``ResumeMismatchError``): the
  saved iteration would mean other batches, the saved state would not fit. These
  checks run when the checkpoint is loaded; what a killed run left behind (stale
  interval and best checkpoints) is deleted only after the resumed run's first
  iteration (or at its end, when nothing was left to train).

This module holds what needs the Runner; the file logic lives in the checkpoint room:
``hpekit.checkpoint.files`` (atomic writes, the pointer, temporary files, the NaN/Inf
check), ``hpekit.checkpoint.retention`` (which old checkpoints go, and when) and
``hpekit.checkpoint.resume`` (``find_resumable_checkpoint``, the data plan).
"""
import os.path as osp
import pickle
import time

import mmengine
from mmengine.dist import broadcast_object_list, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import BaseLoop
from mmengine.runner.checkpoint import weights_to_cpu
from mmengine.utils import apply_to, get_git_hash

from hpekit.checkpoint import retention
from hpekit.checkpoint.files import (POINTER, plain, published_path, raise_if_nonfinite,
                                     remove_stale_temp_files, write_checkpoint, write_pointer)
from hpekit.checkpoint.loading import (CheckpointError, install_safe_checkpoint_loader,
                                       load_checkpoint_file)
from hpekit.checkpoint.resume import (check_resume_optimizer, check_resume_plan,
                                      find_resumable_checkpoint, optimizer_layout, train_plan)
from hpekit.fileio import WorkDirLock
from hpekit.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe saving, retention and resume.

    Same options and file names as ``CheckpointHook`` (``interval``, ``by_epoch``,
    ``max_keep_ckpts``, ``save_best``, ``rule``, ``save_last``, ``filename_tmpl``,
    ``published_keys``, ``save_begin``…); checkpoints go to local files only. See the
    module docstring for what it adds. ``configs/_base_/default_runtime.py`` uses it as
    ``default_hooks.checkpoint``.

    It overrides three private methods of mmengine's ``CheckpointHook`` (grouped at
    the end of the class; ``tests/checkpoint/test_mmengine_private_api.py`` fails
    when mmengine changes them).

    Args:
        interval (int): save every ``interval`` epochs (iterations with
            ``by_epoch=False``); -1: never (only the last, with ``save_last``).
        max_keep_ckpts (int): keep this many interval checkpoints (>= 1), or -1: all.
        check_finite (bool): refuse to save (and stop) when a parameter, buffer or
            optimizer state tensor holds NaN/Inf.
        lock (bool): take ``<work_dir>/.hpekit_train.lock`` for the run.
        check_resume_plan (bool): refuse to resume a checkpoint saved with another
            batch size, world size or dataset length.
        Others: as mmengine's ``CheckpointHook``.

    Raises:
        NonFiniteCheckpointError: at a save, when the state holds NaN/Inf.
        CheckpointWriteError: a save failed (disk full…); nothing was replaced.
        ResumeMismatchError: resuming under another data plan, or with another
            optimizer type or param-group layout.
        WorkDirLockedError: another live run holds the work dir.
    """

    def __init__(self, interval=-1, by_epoch=True, save_optimizer=True,
                 save_param_scheduler=True, out_dir=None, max_keep_ckpts=-1,
                 save_last=True, save_best=None, rule=None, greater_keys=None,
                 less_keys=None, filename_tmpl=None, published_keys=None, save_begin=0,
                 check_finite=True, lock=True, check_resume_plan=True):
        for name, value in (('interval', interval), ('max_keep_ckpts', max_keep_ckpts)):
            if isinstance(value, bool) or not isinstance(value, int) or \
                    (value < 1 and value != -1):
                raise ValueError(f'SafeCheckpointHook: {name} must be an int >= 1, or -1 '
                                 f'({"never" if name == "interval" else "keep all"}); '
                                 f'got {value!r}')
        if out_dir is not None and '://' in str(out_dir):
            raise ValueError(f'SafeCheckpointHook writes local files only; out_dir='
                             f'{out_dir!r} is a URI')
        super().__init__(interval=interval, by_epoch=by_epoch, save_optimizer=save_optimizer,
                         save_param_scheduler=save_param_scheduler, out_dir=out_dir,
                         max_keep_ckpts=max_keep_ckpts, save_last=save_last,
                         save_best=save_best, rule=rule, greater_keys=greater_keys,
                         less_keys=less_keys, filename_tmpl=filename_tmpl,
                         published_keys=published_keys, save_begin=save_begin)
        self.check_finite = check_finite
        self.lock = lock
        self.check_resume_plan = check_resume_plan
        self._lock = None
        self._resume_path = None
        self._cfg_text = None
        self._leftovers_pending = False

    # ------------------------------------------------------------------ start-up
    def _ckpt_dir(self, runner):
        """Where checkpoints go (``out_dir`` resolved as mmengine's before_train does)."""
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))

    def before_run(self, runner):
        """Lock the work dir, clean killed saves, pick the checkpoint ``--resume auto`` uses."""
        install_safe_checkpoint_loader()
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return   # testing or validating: nothing is written here
        ckpt_dir = self._ckpt_dir(runner)
        if is_main_process():
            if self.lock:
                self._take_lock(runner)
            for path in remove_stale_temp_files(runner.work_dir, ckpt_dir):
                runner.logger.warning(f'Removed {path}: the temporary file of a save '
                                      f'that was interrupted (the run was killed)')
        if runner._resume and runner._load_from is None:
            self._choose_auto_resume(runner, ckpt_dir)
        elif runner._resume:
            self._resume_path = runner._load_from

    def _take_lock(self, runner):
        """Hold the work dir's lock; log when it was taken over from a dead run."""
        self._lock = WorkDirLock(runner.work_dir)
        previous = self._lock.acquire()
        if previous and previous.get('pid'):
            runner.logger.warning(
                f'Took over the lock {self._lock.path} of an earlier run (pid '
                f"{previous.get('pid')} on {previous.get('host')}, started "
                f"{previous.get('started')}) that is no longer running.")

    def _choose_auto_resume(self, runner, ckpt_dir):
        """``--resume auto``: rank 0 picks the checkpoint, every rank loads it."""
        result = [None, []]
        if is_main_process():
            result = list(find_resumable_checkpoint(runner.work_dir, ckpt_dir))
        broadcast_object_list(result)   # every rank resumes from the file rank 0 chose
        path, skipped = result
        reasons = ''.join(f'\n  {p}: {why}' for p, why in skipped)
        if path is None and skipped:
            raise CheckpointError(
                f'--resume auto: no checkpoint in {ckpt_dir} can be loaded:{reasons}\n'
                f'Move the damaged files away to train from scratch, or resume from a '
                f'file with --resume PATH.')
        if path is None:
            runner.logger.warning(
                f'--resume auto: no checkpoint found in {ckpt_dir} (no {POINTER}, no '
                f'*.pth): training starts from scratch. Check --work-dir if you meant '
                f'to continue a run.')
            runner._resume = False
            return
        if skipped:
            runner.logger.warning(f'--resume auto: skipped checkpoints that do not load:'
                                  f'{reasons}\nResuming from {path}, the newest one that '
                                  f'loads.')
        else:
            runner.logger.info(f'--resume auto: resuming from {path}')
        runner._load_from = self._resume_path = path

    def before_train(self, runner):
        # mmengine's before_train deletes the interval checkpoints beyond a lowered
        # max_keep_ckpts at once; trimmed here, they are leftovers for _remove_leftovers
        hub = runner.message_hub
        kept = hub.runtime_info.get('keep_ckpt_ids')
        if self.max_keep_ckpts > 0 and kept and len(kept) > self.max_keep_ckpts:
            hub.update_info('keep_ckpt_ids', list(kept)[-self.max_keep_ckpts:])
        super().before_train(runner)
        self._resolve_hub_paths(runner)
        if self.last_ckpt is None and runner.iter > 0:
            # resumed: a new best is then saved into the latest checkpoint too, as in
            # the uninterrupted run (mmengine only does that after a save of its own)
            last = hub.get_info('last_ckpt')
            self.last_ckpt = retention.resolve_in_dir(last, self.out_dir) if last else None
        # resumed: leftovers of a kill go once the resumed run has trained a step
        self._leftovers_pending = is_main_process() and runner.iter > 0

    def _resolve_hub_paths(self, runner):
        """The best checkpoints the message hub names, as paths in this checkpoint folder.

        Names are relative to the folder; absolute paths (checkpoints of older
        versions, or of a work dir that was moved or copied) are read as the file of
        that name here (``retention.resolve_in_dir``), never as a file elsewhere.
        """
        if not self.save_best:
            return
        if len(self.key_indicators) == 1:
            if self.best_ckpt_path:
                self.best_ckpt_path = retention.resolve_in_dir(str(self.best_ckpt_path),
                                                               self.out_dir)
        else:
            for key, path in self.best_ckpt_path_dict.items():
                if path:
                    self.best_ckpt_path_dict[key] = retention.resolve_in_dir(path,
                                                                             self.out_dir)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._remove_leftovers(runner)
        super().after_train_iter(runner, batch_idx, data_batch=data_batch, outputs=outputs)

    def after_train(self, runner):
        self._remove_leftovers(runner)
        super().after_train(runner)

    def _kept_steps(self):
        """Steps of the kept interval checkpoints (mmengine sets ``keep_ckpt_ids`` only
        with ``max_keep_ckpts > 0``); empty when all are kept."""
        return self.keep_ckpt_ids if self.max_keep_ckpts > 0 else ()

    def _remove_leftovers(self, runner):
        """Once per resumed run (after its first iteration, or at its end): delete what a
        run killed between writing a checkpoint and deleting the one it replaced left
        behind: interval checkpoints older than the kept ones (while a kept one is on
        disk), and best checkpoints older than the current best (while it is on disk).
        """
        if not self._leftovers_pending:
            return
        self._leftovers_pending = False
        kept = [osp.join(self.out_dir, self.filename_tmpl.format(step))
                for step in self._kept_steps()]
        kept = [path for path in kept if osp.isfile(path)]
        for path in retention.stale_interval_checkpoints(self.out_dir, self.filename_tmpl,
                                                         self._kept_steps()):
            self._remove(runner, path, f'beyond max_keep_ckpts={self.max_keep_ckpts}, '
                                       f'left by an interrupted run',
                         kept[-1] if kept else None)
        for key in (self.key_indicators if self.save_best else []):
            if key == 'auto':
                continue
            current = (self.best_ckpt_path if len(self.key_indicators) == 1
                       else self.best_ckpt_path_dict.get(key))
            if current is None:
                continue
            for path in retention.stale_best_checkpoints(self.out_dir, self.filename_tmpl,
                                                         key, current):
                self._remove(runner, path, f'a previous best checkpoint, left by an '
                                           f'interrupted run; the best is {current}',
                             current)

    def after_load_checkpoint(self, runner, checkpoint):
        """Refuse to resume with another optimizer or under another data plan.

        Runs before ``Runner.resume`` loads the optimizer state and before anything of
        the run is deleted.
        """
        self._restore_dataset_meta(runner, checkpoint)
        if not (runner._resume and
                isinstance(getattr(runner, '_train_loop', None), BaseLoop)):
            return
        path = self._resume_path or runner._load_from
        if isinstance(runner.optim_wrapper, OptimWrapper):   # built (Runner.train)
            check_resume_optimizer(checkpoint, optimizer_layout(runner.optim_wrapper), path)
        if not self.check_resume_plan:
            return
        saved = (checkpoint.get('meta') or {}).get('train_plan')
        if not saved:
            runner.logger.warning('The checkpoint records no data plan (written by an older '
                                  'hpekit?); batch size and dataset length are not checked.')
            return
        check_resume_plan(saved, self._train_plan(runner), path, checkpoint['meta'])

    @staticmethod
    def _train_plan(runner):
        """This run's data plan (``hpekit.checkpoint.resume.train_plan``)."""
        return train_plan(runner.train_dataloader, get_world_size())

    @staticmethod
    def _restore_dataset_meta(runner, checkpoint):
        """Give mmengine's resume the live metainfo when it equals the saved plain copy.

        ``Runner.resume`` compares the pickled metainfo of checkpoint and dataset and
        warns when they differ; the saved copy has plain dicts where the dataset may
        have ConfigDicts, which would warn about equal metainfo.
        """
        meta = checkpoint.get('meta')
        loop = getattr(runner, '_train_loop', None)
        if not isinstance(meta, dict) or 'dataset_meta' not in meta or \
                not isinstance(loop, BaseLoop):
            return
        live = getattr(loop.dataloader.dataset, 'metainfo', None)
        try:
            same = pickle.dumps(plain(live)) == pickle.dumps(meta['dataset_meta'])
        except Exception:   # noqa: BLE001  (unpicklable metainfo: leave it to mmengine)
            return
        if same:
            meta['dataset_meta'] = live

    def after_run(self, runner):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # ------------------------------------------------------------------- saving
    def _check_finite(self, runner, path):
        """Raise NonFiniteCheckpointError if the model or optimizer state holds NaN/Inf."""
        if not self.check_finite:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {'state_dict': model.state_dict()}
        if self.save_optimizer and isinstance(runner.optim_wrapper, OptimWrapper):
            state['optimizer'] = runner.optim_wrapper.state_dict()
        raise_if_nonfinite(state, path,
                           f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})',
                           runner.message_hub.get_info('hpekit_last_saved'))

    def _build_checkpoint(self, runner, save_optimizer, save_param_scheduler, meta):
        """The dict ``Runner.save_checkpoint`` would save (mmengine 0.10.7)."""
        meta = dict(meta)
        if self._cfg_text is None:   # formatting the config takes ~0.3 s: once per run
            self._cfg_text = runner.cfg.pretty_text
        meta.update(cfg=self._cfg_text, seed=runner.seed,
                    experiment_name=runner.experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
                    mmengine_version=mmengine.__version__ + get_git_hash(),
                    train_plan=self._train_plan(runner))
        if isinstance(runner.optim_wrapper, OptimWrapper):
            meta.update(optimizer_layout=optimizer_layout(runner.optim_wrapper))
        if hasattr(runner.train_dataloader.dataset, 'metainfo'):
            # plain dicts: the safe loader does not admit mmengine's ConfigDict
            meta.update(dataset_meta=plain(runner.train_dataloader.dataset.metainfo))
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        to_cpu = (lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())
        checkpoint = {'meta': meta,
                      'state_dict': weights_to_cpu(model.state_dict()),
                      'message_hub': plain(apply_to(runner.message_hub.state_dict(),
                                                    *to_cpu))}
        if save_optimizer:
            if not isinstance(runner.optim_wrapper, OptimWrapper):
                raise TypeError(f'runner.optim_wrapper should be an OptimWrapper or '
                                f'OptimWrapperDict, got {runner.optim_wrapper!r}')
            checkpoint['optimizer'] = apply_to(runner.optim_wrapper.state_dict(), *to_cpu)
        schedulers = runner.param_schedulers
        if save_param_scheduler and schedulers is not None:
            if isinstance(schedulers, dict):
                checkpoint['param_schedulers'] = {
                    name: [s.state_dict() for s in group] for name, group in schedulers.items()}
            else:
                checkpoint['param_schedulers'] = [s.state_dict() for s in schedulers]
        return checkpoint

    def _save(self, runner, path, save_optimizer, save_param_scheduler, meta):
        """Check, build and atomically write one checkpoint (main process writes)."""
        self._check_finite(runner, path)
        if not is_main_process():
            return
        checkpoint = self._build_checkpoint(runner, save_optimizer, save_param_scheduler, meta)
        runner.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        write_checkpoint(checkpoint, path)

    def _write_pointer(self, runner, path):
        """Make ``last_checkpoint`` name ``path`` (complete on disk) and remember it."""
        write_pointer(runner.work_dir, path)
        runner.message_hub.update_info('hpekit_last_saved', path)

    def _remove(self, runner, path, why, replacement):
        """Delete the old checkpoint ``path`` once ``replacement`` is on disk beside it.

        A file outside the checkpoint folder, or one whose replacement is not on disk
        in it, is kept (a warning says why; ``retention.deletion_refused``).
        """
        refused = retention.deletion_refused(path, replacement, self.out_dir)
        if refused:
            if osp.exists(path):
                runner.logger.warning(f'Kept {path} ({why}): {refused}')
            return
        if retention.delete_checkpoint(path) == 'file':
            runner.logger.info(f'Removed {path} ({why})')

    # ------------------------------------------ overrides of mmengine private methods
    # mmengine's CheckpointHook calls these three; their names and parameters are
    # checked against mmengine by tests/checkpoint/test_mmengine_private_api.py.

    # mmengine: called by _save_checkpoint (interval/last saves, with meta=...) and by
    # _save_best_checkpoint; deletes the outdated checkpoint first, then saves through
    # the file backend. Ours: atomic save, pointer, then deletion.
    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save ``filename_tmpl.format(step)``; only then delete what it replaces."""
        outdated = []
        update = retention.plan_interval_retention(self._kept_steps(),
                                                   self.max_keep_ckpts, step)
        if update is not None:
            self.keep_ckpt_ids, outdated = update
            # the saved message hub lists the kept files, this one included
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save(runner, self.last_ckpt, self.save_optimizer, self.save_param_scheduler,
                   meta)
        if not is_main_process():
            return
        self._write_pointer(runner, self.last_ckpt)
        for old in outdated:
            old_path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if old_path != self.last_ckpt:
                self._remove(runner, old_path, f'max_keep_ckpts={self.max_keep_ckpts}',
                             self.last_ckpt)

    # mmengine: called by after_val_epoch with the metrics; deletes the previous best
    # before saving the new one through runner.save_checkpoint. Ours: the previous
    # best goes only after the new best and the latest checkpoint are written.
    def _save_best_checkpoint(self, runner, metrics):
        """As mmengine's, but the previous best is deleted after the new one is written."""
        if not self.save_best:
            return
        if self.by_epoch:
            ckpt_filename = self.filename_tmpl.format(runner.epoch)
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            ckpt_filename = self.filename_tmpl.format(runner.iter)
            cur_type, cur_time = 'iter', runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])   # mmengine private
        replaced, updated = [], False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            key_score = metrics[key_indicator]
            single = len(self.key_indicators) == 1
            best_score_key = 'best_score' if single else f'best_score_{key_indicator}'
            best_ckpt_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            previous = (self.best_ckpt_path if single
                        else self.best_ckpt_path_dict[key_indicator])
            best_score = runner.message_hub.runtime_info.get(
                best_score_key, self.init_value_map[rule])
            if key_score is None or not self.is_better_than[key_indicator](key_score,
                                                                           best_score):
                continue
            updated = True
            runner.message_hub.update_info(best_score_key, key_score)
            name = f'best_{key_indicator}_{ckpt_filename}'.replace('/', '_')
            path = osp.join(self.out_dir, name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key_indicator] = path
            # named relative to the folder: still right when the work dir is moved
            runner.message_hub.update_info(best_ckpt_key,
                                           retention.relative_to_dir(path, self.out_dir))
            self._save(runner, path, False, False, meta)
            runner.logger.info(f'The best checkpoint with {key_score:0.4f} {key_indicator} '
                               f'at {cur_time} {cur_type} is saved to {name}.')
            if previous and previous != path:
                replaced.append((previous, path))
        # Save the latest checkpoint again so its message hub names the new best
        # (mmengine does the same); the replaced best files go only after that.
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)
        if is_main_process():
            for path, new in replaced:
                self._remove(runner, path, 'the previous best checkpoint', new)

    # mmengine: called by after_train for the last and best checkpoints when
    # published_keys is set; loads with its own _load_checkpoint and writes with
    # save_checkpoint (a plain open). Ours: the safe loader and an atomic write.
    def _publish_model(self, runner, ckpt_path):
        """Published copy with ``published_keys`` only, written atomically."""
        if not is_main_process():
            return
        checkpoint = load_checkpoint_file(ckpt_path, map_location='cpu')
        removed = [k for k in list(checkpoint) if k not in self.published_keys]
        for key in removed:
            checkpoint.pop(key)
        if removed:
            runner.logger.info(f'Keys {removed} are left out of the published checkpoint '
                               f'(not in published_keys)')
        final_path = published_path(ckpt_path, checkpoint)
        write_checkpoint(checkpoint, final_path)
        runner.logger.info(f'The checkpoint ({ckpt_path}) is published to {final_path}.')
