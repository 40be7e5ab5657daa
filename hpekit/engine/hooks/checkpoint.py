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
  atomically;
- refuses to write a checkpoint whose weights or optimizer state hold NaN/Inf
  (``NonFiniteCheckpointError``), so the pointer never names such a file;
- at the start of training: takes the work dir's lock (a second run in the same
  work dir stops, naming the first one's pid), removes temporary files of saves that
  were killed, and with ``--resume auto`` resumes from the newest checkpoint that
  loads (saying which, and why newer ones were skipped), or warns that it starts
  from scratch when there is none;
- stores the data plan (batch size, world size, dataset length, iterations per
  epoch) in the checkpoint and refuses to resume under another plan
  (``ResumeMismatchError``): the saved iteration would mean other batches.
"""
import errno
import glob
import hashlib
import os
import os.path as osp
import pickle
import re
import shutil
import time
from collections import deque

import mmengine
import torch
from mmengine.dist import broadcast_object_list, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import BaseLoop
from mmengine.runner.checkpoint import weights_to_cpu
from mmengine.utils import apply_to, get_git_hash

from hpekit.registry import HOOKS
from hpekit.checkpoint.loading import (CheckpointError, install_safe_checkpoint_loader,
                                     load_checkpoint_file)
from hpekit.fileio import WorkDirLock, atomic_open

POINTER = 'last_checkpoint'
# Temporary files of atomic_open ('.<name>.<random>.tmp') whose target is a checkpoint,
# the pointer or metrics.json: what a killed save or metrics write leaves behind.
_TEMP = re.compile(r'^\.(?P<name>.+)\.[A-Za-z0-9_]{6,}\.tmp$')
_TEMP_TARGETS = re.compile(r'(\.pth|^last_checkpoint|^metrics\.json)$')
_PUBLISHED = re.compile(r'-[0-9a-f]{8}\.pth$')


class NonFiniteCheckpointError(FloatingPointError):
    """The model or optimizer state holds NaN/Inf: no checkpoint was written."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (e.g. the disk is full); the old ones are kept."""


class ResumeMismatchError(RuntimeError):
    """A checkpoint was saved under another data plan (batch size, dataset length…)."""


def nonfinite_tensors(obj, prefix=''):
    """``[(name, bad count, size), ...]`` of the floating tensors in ``obj`` with NaN/Inf.

    ``obj`` is a tensor or nested dicts/lists/tuples of them (a state dict, an
    optimizer state dict); names are the key paths joined with '.'.
    """
    found = []
    if isinstance(obj, torch.Tensor):
        if (obj.is_floating_point() or obj.is_complex()) and obj.numel():
            bad = int((~torch.isfinite(obj.detach())).sum())
            if bad:
                found.append((prefix, bad, obj.numel()))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            found += nonfinite_tensors(value, f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            found += nonfinite_tensors(value, f'{prefix}.{i}' if prefix else str(i))
    return found


def remove_stale_temp_files(*folders):
    """Delete temporary files of killed checkpoint/pointer/metrics writes; return their paths.

    Only names ``atomic_open`` makes (``.<name>.<random>.tmp``) whose ``<name>`` is a
    ``.pth`` file, ``last_checkpoint`` or ``metrics.json`` are touched. Call it only
    while holding the work dir's lock (no save of this run is in progress).
    """
    removed = []
    for folder in dict.fromkeys(f for f in folders if f and osp.isdir(f)):
        for name in sorted(os.listdir(folder)):
            match = _TEMP.match(name)
            if match and _TEMP_TARGETS.search(match.group('name')):
                path = osp.join(folder, name)
                try:
                    os.remove(path)
                except FileNotFoundError:
                    continue
                removed.append(path)
    return removed


def _step_of(path):
    found = re.findall(r'(\d+)', osp.basename(path))
    return int(found[-1]) if found else -1


def _is_resumable(checkpoint):
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return isinstance(meta, dict) and 'iter' in meta and 'epoch' in meta \
        and 'state_dict' in checkpoint


def find_resumable_checkpoint(work_dir, ckpt_dir=None):
    """The newest checkpoint of a run that loads, for ``--resume auto``.

    Tries the file ``<work_dir>/last_checkpoint`` names first, then every other
    ``*.pth`` in ``ckpt_dir`` (default ``work_dir``), newest first (modification
    time, then the number in the name); best and published checkpoints (no optimizer
    state) are not candidates. Each is loaded with ``load_checkpoint_file`` (CRC and
    allow-list checks) until one loads and holds ``meta`` with epoch and iter.

    Returns:
        tuple: (path or None, skipped) where skipped lists ``(path or pointer,
        reason)`` for every candidate passed over, in the order tried. ``(None, [])``
        means there is no checkpoint at all.
    """
    ckpt_dir = ckpt_dir or work_dir
    skipped, candidates = [], []
    pointer = osp.join(work_dir, POINTER)
    if osp.isfile(pointer):
        try:
            with open(pointer, encoding='utf-8') as f:
                target = f.read().strip()
        except (OSError, UnicodeDecodeError) as err:
            target = None
            skipped.append((pointer, f'cannot be read: {err}'))
        if target == '':
            skipped.append((pointer, 'is empty'))
        elif target is not None and not osp.isfile(target):
            skipped.append((pointer, f'names {target}, which does not exist'))
        elif target is not None:
            candidates.append(target)
    others = []
    for path in glob.glob(osp.join(glob.escape(ckpt_dir), '*.pth')):
        name = osp.basename(path)
        if name.startswith('best_') or _PUBLISHED.search(name):
            continue
        try:
            others.append((os.stat(path).st_mtime_ns, _step_of(path), path))
        except FileNotFoundError:
            continue
    candidates += [p for _, _, p in sorted(others, reverse=True)]
    seen = set()
    for path in candidates:
        real = osp.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        try:
            checkpoint = load_checkpoint_file(path, map_location='cpu')
        except CheckpointError as err:
            skipped.append((path, str(err)))
            continue
        if not _is_resumable(checkpoint):
            skipped.append((path, 'holds no meta epoch/iter or no state_dict (not a '
                                  'training checkpoint)'))
            continue
        return path, skipped
    return None, skipped


def plain(obj):
    """``obj`` with dict subclasses (mmengine's ConfigDict) turned into dicts, recursively."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(plain(v) for v in obj)
    return obj


def train_plan(runner):
    """What an iteration number means: batch size, world size, dataset length, batches/epoch."""
    loader = runner.train_dataloader
    try:
        dataset_len = len(loader.dataset)
    except TypeError:   # iterable datasets have no length
        dataset_len = None
    try:
        iters_per_epoch = len(loader)
    except TypeError:
        iters_per_epoch = None
    return dict(batch_size=getattr(loader, 'batch_size', None), world_size=get_world_size(),
                dataset_len=dataset_len, iters_per_epoch=iters_per_epoch)


def _describe_plan(plan):
    return (f"batch size {plan.get('batch_size')} per process × {plan.get('world_size')} "
            f"process(es), {plan.get('dataset_len')} training samples → "
            f"{plan.get('iters_per_epoch')} iterations per epoch")


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe saving, retention and resume.

    Same options and file names as ``CheckpointHook`` (``interval``, ``by_epoch``,
    ``max_keep_ckpts``, ``save_best``, ``rule``, ``save_last``, ``filename_tmpl``,
    ``published_keys``, ``save_begin``…); checkpoints go to local files only. See the
    module docstring for what it adds. ``configs/_base_/default_runtime.py`` uses it as
    ``default_hooks.checkpoint``.

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
        ResumeMismatchError: resuming under another data plan.
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
                self._lock = WorkDirLock(runner.work_dir)
                previous = self._lock.acquire()
                if previous and previous.get('pid'):
                    runner.logger.warning(
                        f'Took over the lock {self._lock.path} of an earlier run (pid '
                        f"{previous.get('pid')} on {previous.get('host')}, started "
                        f"{previous.get('started')}) that is no longer running.")
            for path in remove_stale_temp_files(runner.work_dir, ckpt_dir):
                runner.logger.warning(f'Removed {path}: the temporary file of a save '
                                      f'that was interrupted (the run was killed)')
        if runner._resume and runner._load_from is None:
            self._choose_auto_resume(runner, ckpt_dir)
        elif runner._resume:
            self._resume_path = runner._load_from

    def _choose_auto_resume(self, runner, ckpt_dir):
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
        super().before_train(runner)
        if self.last_ckpt is None and runner.iter > 0:
            # resumed: a new best is then saved into the latest checkpoint too, as in
            # the uninterrupted run (mmengine only does that after a save of its own)
            self.last_ckpt = runner.message_hub.get_info('last_ckpt')
        if is_main_process() and runner.iter > 0:   # resumed: leftovers of a kill
            self._remove_unkept(runner)

    def _remove_unkept(self, runner):
        """Files a run killed between writing a checkpoint and deleting the one it
        replaced leaves behind: interval checkpoints older than the kept ones, and best
        checkpoints other than the current best."""
        step = re.escape(self.filename_tmpl).replace(r'\{\}', r'(\d+)')
        if self.max_keep_ckpts > 0 and self.keep_ckpt_ids:
            oldest = min(self.keep_ckpt_ids)
            for name in sorted(os.listdir(self.out_dir)):
                match = re.fullmatch(step, name)
                if match and int(match.group(1)) < oldest:
                    self._remove(runner, osp.join(self.out_dir, name),
                                 f'beyond max_keep_ckpts={self.max_keep_ckpts}, left by an '
                                 f'interrupted run')
        for key in (self.key_indicators if self.save_best else []):
            if key == 'auto':
                continue
            current = (self.best_ckpt_path if len(self.key_indicators) == 1
                       else self.best_ckpt_path_dict.get(key))
            if current is None:
                continue
            prefix = re.escape(f'best_{key}_'.replace('/', '_'))
            for name in sorted(os.listdir(self.out_dir)):
                path = osp.join(self.out_dir, name)
                if re.fullmatch(prefix + step, name) and osp.abspath(path) != \
                        osp.abspath(current):
                    self._remove(runner, path, f'a previous best checkpoint, left by an '
                                               f'interrupted run; the best is {current}')

    def after_load_checkpoint(self, runner, checkpoint):
        """Refuse to resume a checkpoint saved under another data plan."""
        self._restore_dataset_meta(runner, checkpoint)
        if not (runner._resume and self.check_resume_plan and
                isinstance(getattr(runner, '_train_loop', None), BaseLoop)):
            return
        saved = (checkpoint.get('meta') or {}).get('train_plan')
        if not saved:
            runner.logger.warning('The checkpoint records no data plan (written by an older '
                                  'hpekit?); batch size and dataset length are not checked.')
            return
        current = train_plan(runner)
        changed = [k for k in current if saved.get(k) != current[k]]
        if not changed:
            return
        path = self._resume_path or runner._load_from
        meta = checkpoint['meta']
        raise ResumeMismatchError(
            f'cannot resume from {path}: it was saved with {_describe_plan(saved)}; this run '
            f'has {_describe_plan(current)} (changed: {", ".join(changed)}). Its iteration '
            f"{meta.get('iter')} (epoch {meta.get('epoch')}) does not mean the same batches "
            f'under the new settings, so the run would silently skip or repeat data. Resume '
            f'with the old settings, or start a new run from its weights with '
            f'load_from={path} (no --resume: the optimizer and schedule start afresh).')

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
        bad = nonfinite_tensors(model.state_dict(), 'state_dict')
        if self.save_optimizer and isinstance(runner.optim_wrapper, OptimWrapper):
            bad += nonfinite_tensors(runner.optim_wrapper.state_dict(), 'optimizer')
        if not bad:
            return
        shown = ', '.join(f'{name} ({count} of {size})' for name, count, size in bad[:10])
        more = f', … ({len(bad)} tensors in all)' if len(bad) > 10 else ''
        last = runner.message_hub.get_info('hpekit_last_saved')
        raise NonFiniteCheckpointError(
            f'not saving checkpoint {path}: the training state holds NaN/Inf values at '
            f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}): {shown}{more}. '
            f'Training stopped; {POINTER} still names '
            f'{last or "no checkpoint (none was saved yet)"}, whose values were finite. '
            f'Common causes: a learning rate too high, Adam eps=0, bad data; the loss '
            f'itself may have stayed finite.')

    def _build_checkpoint(self, runner, save_optimizer, save_param_scheduler, meta):
        """The dict ``Runner.save_checkpoint`` would save (mmengine 0.10.7)."""
        meta = dict(meta)
        if self._cfg_text is None:   # formatting the config takes ~0.3 s: once per run
            self._cfg_text = runner.cfg.pretty_text
        meta.update(cfg=self._cfg_text, seed=runner.seed,
                    experiment_name=runner.experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
                    mmengine_version=mmengine.__version__ + get_git_hash(),
                    train_plan=train_plan(runner))
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
        pointer = osp.join(runner.work_dir, POINTER)
        try:
            with atomic_open(pointer, 'w', encoding='utf-8') as f:
                f.write(path)
        except OSError as err:
            raise CheckpointWriteError(
                err.errno, f'could not update {pointer} to name {path}: '
                f'{err.strerror or err}; it still names the previous checkpoint') from err
        runner.message_hub.update_info('hpekit_last_saved', path)

    def _remove(self, runner, path, why):
        if osp.isfile(path):
            os.remove(path)
            runner.logger.info(f'Removed {path} ({why})')
        elif osp.isdir(path):   # deepspeed-style checkpoint folders
            shutil.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save ``filename_tmpl.format(step)``; only then delete what it replaces."""
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            keep = deque(self.keep_ckpt_ids, self.max_keep_ckpts)
            if len(keep) == self.max_keep_ckpts:
                outdated.append(keep.popleft())
            keep.append(step)
            self.keep_ckpt_ids = keep
            # the saved message hub lists the kept files, this one included
            runner.message_hub.update_info('keep_ckpt_ids', list(keep))
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
                self._remove(runner, old_path, f'max_keep_ckpts={self.max_keep_ckpts}')

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
            self._init_rule(self.rules, [list(metrics.keys())[0]])
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
            runner.message_hub.update_info(best_ckpt_key, path)
            self._save(runner, path, False, False, meta)
            runner.logger.info(f'The best checkpoint with {key_score:0.4f} {key_indicator} '
                               f'at {cur_time} {cur_type} is saved to {name}.')
            if previous and previous != path:
                replaced.append(previous)
        # Save the latest checkpoint again so its message hub names the new best
        # (mmengine does the same); the replaced best files go only after that.
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)
        if is_main_process():
            for path in replaced:
                self._remove(runner, path, 'the previous best checkpoint')

    @staticmethod
    def _publish_hash(checkpoint):
        return hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()

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
        final_path = osp.splitext(ckpt_path)[0] + f'-{self._publish_hash(checkpoint)[:8]}.pth'
        write_checkpoint(checkpoint, final_path)
        runner.logger.info(f'The checkpoint ({ckpt_path}) is published to {final_path}.')


def _os_error_in(err):
    """The OSError behind ``err`` (torch wraps a failed write in a RuntimeError)."""
    seen = err
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def write_checkpoint(checkpoint, path):
    """``torch.save`` ``checkpoint`` to ``path`` atomically (temp file, fsync, rename).

    Raises:
        CheckpointWriteError: the write failed (errno kept, e.g. ENOSPC); the message
            names ``path`` and the free space; ``path`` and every other file are as
            they were, and no temporary file is left.
    """
    folder = osp.dirname(osp.abspath(path))
    try:
        with atomic_open(path, 'wb') as f:
            torch.save(checkpoint, f)
    except (OSError, RuntimeError) as err:
        cause = _os_error_in(err)
        if cause is None:
            raise
        try:
            free = f'; {shutil.disk_usage(folder).free / 2**20:.1f} MiB free in {folder}'
        except OSError:
            free = ''
        full = ' (the disk is full)' if cause.errno in (errno.ENOSPC, errno.EDQUOT) else ''
        raise CheckpointWriteError(
            cause.errno, f'could not write checkpoint {path}{full}: '
            f'{cause.strerror or cause}{free}. Nothing was replaced: the previous '
            f'checkpoints and last_checkpoint are intact.') from err
