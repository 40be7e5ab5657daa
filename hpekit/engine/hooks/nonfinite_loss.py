"""Never apply an optimisation step whose loss is NaN or infinite.

In ``configs/_base_/default_runtime.py``'s ``default_hooks`` (key ``nonfinite_loss``).
"""
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from hpekit.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite."""

@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Guard against NaN or infinite losses: never apply such a step.

    Wraps the optimizer wrapper's ``update_params`` (backward + step) so a
    non-finite total loss (on any rank) skips the backward pass and the optimizer
    step: the weights stay finite. Then, after the iteration:

    - ``action='stop'`` raises ``NonFiniteLossError`` naming the iteration (1-based,
      as in the log) and the loss terms with their values. The hook runs before the
      ``CheckpointHook``, so no checkpoint of this iteration is written and the
      last one on disk holds the last good weights.
    - ``action='skip'`` logs a warning with the terms and a running count and goes
      on; ``after_train`` logs the total number of skipped iterations.

    Args:
        action (str): 'stop' (default) or 'skip'.
    """

    priority = 'VERY_HIGH'

    def __init__(self, action='stop'):
        if action not in ('stop', 'skip'):
            raise ValueError(f"NonFiniteLossHook: action must be 'stop' or 'skip', "
                             f'got {action!r}')
        self.action = action
        self.skipped = 0
        self._bad_step = False

    def before_train(self, runner):
        wrapper = runner.optim_wrapper
        update_params = wrapper.update_params

        def guarded_update_params(loss, *args, **kwargs):
            finite = torch.isfinite(loss.detach()).all().float()
            all_reduce(finite, op='min')   # every rank skips together (no-op undistributed)
            self._bad_step = not bool(finite)
            if not self._bad_step:
                update_params(loss, *args, **kwargs)

        wrapper.update_params = guarded_update_params

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self._bad_step:
            return
        self._bad_step = False
        terms = ', '.join(f'{k}={float(torch.as_tensor(v).detach()):.4g}'
                          for k, v in (outputs or {}).items())
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch {batch_idx + 1})'
        if self.action == 'stop':
            raise NonFiniteLossError(
                f'non-finite loss at {where}: {terms or "no loss terms reported"}. '
                f'Training stopped; the step was not applied and no checkpoint of it was '
                f'written. Set default_hooks.nonfinite_loss.action="skip" to skip such steps.')
        self.skipped += 1
        runner.logger.warning(f'non-finite loss at {where}: {terms}; step skipped '
                              f'({self.skipped} skipped so far)')

    def after_train(self, runner):
        if self.action == 'skip':
            runner.logger.info(f'NonFiniteLossHook: {self.skipped} iteration(s) with a '
                               f'non-finite loss were skipped')
