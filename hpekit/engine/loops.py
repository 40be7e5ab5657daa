"""Training loops (registered in ``hpekit.registry.LOOPS``)."""
import numpy as np
from mmengine.dist import get_rank
from mmengine.runner import EpochBasedTrainLoop

from hpekit.engine.hooks import MetricsJsonHook, seed_everything
from hpekit.registry import LOOPS

# message hub key: the global iteration whose validation has run to its end (set just
# before the validation starts; a checkpoint that holds it was saved after it finished)
VALIDATED_ITER = 'hpekit_validated_iter'


def iteration_seed(seed, iteration, rank=0):
    """A seed for one training iteration: an int in [0, 2**63) mixed from the three ints."""
    state = np.random.SeedSequence([seed, iteration, rank]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


@LOOPS.register_module()
class ExactResumeTrainLoop(EpochBasedTrainLoop):
    """mmengine's epoch-based loop that resumes exactly from a mid-epoch checkpoint.

    mmengine's ``EpochBasedTrainLoop`` restarts the epoch from its first batch when it
    resumes from an iteration checkpoint (``CheckpointHook(by_epoch=False)``), so the
    resumed run trains on some batches twice. This loop:

    - fast-forwards: on resume at global iteration ``i`` inside an epoch, the batches
      of that epoch before ``i`` are fetched (so DataLoader workers draw the same
      random numbers as in the uninterrupted run) and thrown away, not trained on;
    - with ``reseed_per_iter`` (default), seeds Python, numpy and torch before
      fetching each batch from (``randomness.seed``, global iteration, rank), so the
      augmentations drawn in the main process and the dropout masks of an iteration
      do not depend on what ran before it.

    Together with ``EpochSeedHook`` (the epoch's sampler order and worker seeds) a
    deterministic run killed at any iteration checkpoint and restarted with
    ``--resume auto`` ends with bit-identical weights. Fetching the skipped batches
    costs up to one epoch of data loading on resume. ``tools/train.py`` uses this loop
    for every ``train_cfg`` with ``by_epoch=True`` and no ``type``.

    Args:
        max_epochs, val_begin, val_interval, dynamic_intervals: as
            ``EpochBasedTrainLoop``.
        reseed_per_iter (bool): seed every RNG before each batch (needs a seed in
            ``randomness``; does nothing without one).
    """

    def __init__(self, runner, dataloader, max_epochs, val_begin=1, val_interval=1,
                 dynamic_intervals=None, reseed_per_iter=True):
        super().__init__(runner, dataloader, max_epochs, val_begin=val_begin,
                         val_interval=val_interval, dynamic_intervals=dynamic_intervals)
        self.reseed_per_iter = reseed_per_iter

    def run(self):
        """mmengine's ``EpochBasedTrainLoop.run``, plus ``_finish_interrupted_validation``."""
        self.runner.call_hook('before_train')
        self._finish_interrupted_validation()
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if self._val_due():
                self._validate()
        self.runner.call_hook('after_train')
        return self.runner.model

    def _val_due(self):
        """Whether a validation follows the epoch ``self._epoch`` (mmengine's rule)."""
        return (self.runner.val_loop is not None and self._epoch >= self.val_begin and
                (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs))

    def _validate(self):
        # Recorded before the validation starts: the only checkpoint saved while it
        # runs is the best/latest one of ``after_val_epoch``, after the metrics
        # are in; a checkpoint saved earlier (epoch checkpoints, in
        # ``after_train_epoch``) holds an older value.
        self.runner.message_hub.update_info(VALIDATED_ITER, self._iter)
        self.runner.val_loop.run()

    def _finish_interrupted_validation(self):
        """Resumed at an epoch's end whose validation never finished: validate it first.

        An epoch checkpoint is saved in ``after_train_epoch``, *before* that epoch's
        validation; a run interrupted (Ctrl-C, kill) during the validation resumes from
        it at the next epoch, so mmengine never validates that epoch and
        ``metrics.json`` silently lacks its record (the best checkpoint and a
        metric-driven scheduler miss it too). Here the resumed run validates it before
        training on, which is what the uninterrupted run did at that point (train epoch
        E, validate, then epoch E + 1 re-seeded by ``EpochSeedHook`` and per-iteration
        seeding), so the weights stay bit-identical and ``metrics.json`` ends equal.
        We chose this over writing a gap entry: the record is recoverable, one
        validation is cheap, and a gap would change what readers of the file see.

        "Finished" (``_validation_finished``): the checkpoint was saved after the
        validation (the latest one saved again with a new best holds
        ``VALIDATED_ITER`` = this iteration), or ``metrics.json`` (``MetricsJsonHook``,
        in hpekit's default runtime) holds the epoch's record. A run without that hook
        cannot tell and goes on as mmengine does. Resumed into a fresh work dir, the
        epoch is validated again (its file has no record yet): one validation. Iteration checkpoints
        inside or at the end of an epoch need nothing here: ``run_epoch`` finishes that
        epoch, and its validation follows.
        """
        if self._iter == 0 or self._iter != self._epoch * len(self.dataloader):
            return
        self._decide_current_val_interval()
        if not self._val_due():
            return
        if self._validation_finished():
            return
        self.runner.logger.warning(
            f'Resumed after epoch {self._epoch} (iteration {self._iter}), whose validation '
            f'did not finish (metrics.json has no record of it; the run was interrupted): '
            f'validating epoch {self._epoch} before training on.')
        self._validate()

    def _validation_finished(self):
        """Whether the resumed epoch's validation is known to have run to its end: the
        checkpoint was saved after it (``VALIDATED_ITER``), or ``metrics.json`` holds its
        record. Only ``MetricsJsonHook``'s file can show a missing record; a run without
        that hook is taken as finished (mmengine's behaviour)."""
        if self.runner.message_hub.get_info(VALIDATED_ITER) == self._iter:
            return True
        hooks = [h for h in self.runner.hooks if isinstance(h, MetricsJsonHook)]
        return not hooks or any(h.has_record(self._iter) for h in hooks)

    def _reseed(self, iteration):
        seed = self.runner.seed
        if self.reseed_per_iter and seed is not None:
            seed_everything(iteration_seed(seed, iteration, get_rank()))

    def run_epoch(self):
        """One epoch; on a mid-epoch resume its first (iter − epoch start) batches are skipped."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        first_iter = self._epoch * len(self.dataloader)
        skip = self._iter - first_iter
        if not 0 <= skip <= len(self.dataloader):
            raise RuntimeError(
                f'cannot resume at iteration {self._iter} (epoch {self._epoch + 1}): with '
                f'{len(self.dataloader)} batches per epoch that iteration is not in this '
                f'epoch. The checkpoint was saved with another batch size, dataset length '
                f'or number of processes; resume with the same settings.')
        if skip > 0:
            self.runner.logger.info(
                f'Resuming inside epoch {self._epoch + 1}: skipping its first {skip} '
                f'of {len(self.dataloader)} batches (already trained)')
        batches = iter(self.dataloader)
        for idx in range(len(self.dataloader)):
            self._reseed(first_iter + idx)
            data_batch = next(batches)
            if idx >= skip:
                self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
