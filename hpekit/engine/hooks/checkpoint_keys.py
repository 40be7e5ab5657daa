"""Stop before training when a checkpoint's weights do not fit the model or hold NaN/Inf.

In ``configs/_base_/default_runtime.py``'s ``default_hooks`` (key ``checkpoint_keys``).
"""
import re

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from hpekit.checkpoint.loading import check_finite_weights, compare_state_dicts
from hpekit.registry import HOOKS


_OPTION = 'default_hooks.checkpoint_keys'


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model (shape mismatch)."""


def _format_keys(keys, limit=20):
    shown = ', '.join(str(k) for k in keys[:limit])
    return shown + (f', … ({len(keys)} in all)' if len(keys) > limit else '')


@HOOKS.register_module()
class CheckpointKeysHook(Hook):
    """Refuse a checkpoint whose weights do not fit the model, before they load.

    Runs whenever the Runner loads a checkpoint (``load_from``, ``--resume``, and
    ``tools/test.py``), i.e. before any training or testing. mmengine loads
    non-strictly: missing keys keep their random initial values, unexpected and
    mis-shaped ones are dropped, with only a warning — so a foreign checkpoint, an
    empty ``state_dict`` or one wrapped as ``{'model': weights}`` would be scored or
    trained on as if it were the right one. Here each of these raises
    ``CheckpointMismatchError`` naming the missing, unexpected and mismatched keys:

    - missing or unexpected keys: an error unless ``allow_partial=True`` (a partial
      load, e.g. backbone weights into a full model; then a warning lists them);
    - keys whose shapes differ: an error unless ``allow_shape_mismatch=True``; then
      those tensors keep the model's own (freshly initialised) values — the checkpoint's
      entries are replaced by them before mmengine loads it — and ONE warning line lists
      every one of them, ``name (checkpoint shape) vs (model shape)``. This is
      fine-tuning on other keypoints (a COCO-17 checkpoint into a 5-keypoint head):
      ``--cfg-options default_hooks.checkpoint_keys.allow_shape_mismatch=True``, as
      MMPose users know it from ``load_checkpoint``'s non-strict loading;
    - a checkpoint without a single tensor matching the model (empty, wrapped, or
      another model's): always an error.

    ``reinitialize=['head.']`` (key prefixes, after ``revise_keys``) starts those parts
    afresh when training starts from ``load_from`` (never on ``--resume`` or in
    ``tools/test.py``, which load every weight), whatever the checkpoint holds: their tensors are replaced by the model's own
    initial values before the comparison above, and one log line says how many. This
    is fine-tuning on your own keypoints with a new head: the backbone (and neck) load,
    the whole head is re-initialised — not only its last, mis-shaped layer.

    Then the weights must be finite: a floating-point tensor holding NaN/Inf would give
    NaN predictions (``tools/test.py`` scoring 0) or a NaN loss some iterations into
    training, so it raises ``NonFiniteWeightsError`` naming the checkpoint and the
    first such tensor (``hpekit.checkpoint.loading.check_finite_weights``) unless
    ``allow_nonfinite=True`` (a warning; for debugging).

    Set them from the command line with ``--cfg-options
    default_hooks.checkpoint_keys.allow_partial=True`` (or
    ``….allow_shape_mismatch=True``); the error says which.

    Args:
        allow_partial (bool): accept missing and unexpected keys (warn).
        allow_shape_mismatch (bool): accept keys whose shapes differ (warn).
        revise_keys (list[tuple[str, str]]): regex substitutions applied to the
            checkpoint's keys first, as the Runner's ``load_checkpoint`` does.
        allow_nonfinite (bool): accept weights holding NaN/Inf (warn);
            ``tools/test.py --allow-nonfinite-weights`` sets it.
        reinitialize (sequence[str]): model key prefixes (e.g. ``['head.']``) whose
            weights keep the model's initialisation instead of the checkpoint's.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial=False, allow_shape_mismatch=False,
                 revise_keys=((r'^module\.', ''),), allow_nonfinite=False,
                 reinitialize=()):
        if isinstance(reinitialize, str) or not all(
                isinstance(p, str) and p for p in reinitialize):
            raise ValueError(f'{_OPTION}.reinitialize must be a list of non-empty key '
                             f"prefixes such as ['head.'], got {reinitialize!r}")
        self.reinitialize = tuple(reinitialize)
        self.allow_partial = allow_partial
        self.allow_shape_mismatch = allow_shape_mismatch
        self.allow_nonfinite = allow_nonfinite
        self.revise_keys = [tuple(pair) for pair in revise_keys]

    def after_load_checkpoint(self, runner, checkpoint):
        source = getattr(runner, '_load_from', None) or 'the checkpoint'
        if not isinstance(checkpoint, dict):
            raise CheckpointMismatchError(
                f'{source} holds a {type(checkpoint).__name__}, not a dict of weights')
        state = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state, dict):
            raise CheckpointMismatchError(
                f"{source}: its 'state_dict' is a {type(state).__name__}, not a dict of "
                f'weights')
        for pattern, repl in self.revise_keys:
            state = {re.sub(pattern, repl, k): v for k, v in state.items()}
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model_state = model.state_dict()
        if self.reinitialize and _starts_training_from(runner):
            state = self._reinitialize(runner, checkpoint, state, model_state, source)
        report = compare_state_dicts(model_state, state)
        matched = len(model_state) - len(report['missing']) - len(report['shape_mismatch'])
        partial = []
        if report['missing']:
            partial.append(f'missing in the checkpoint ({len(report["missing"])} of '
                           f'{len(model_state)} model keys): {_format_keys(report["missing"])}')
        if report['unexpected']:
            partial.append(f'unexpected (in the checkpoint, not in the model): '
                           f'{_format_keys(report["unexpected"])}')
        shapes = [f'{k} {tuple(a)} vs {tuple(b)}' for k, a, b in report['shape_mismatch']]
        lines = partial + (['shape mismatch (checkpoint vs model): ' + _format_keys(shapes)]
                           if shapes else [])
        if not lines:
            self._check_finite(runner, state, source)
            return
        text = f'{source}: checkpoint keys do not fit the model:\n  ' + '\n  '.join(lines)
        if matched == 0 and model_state:
            raise CheckpointMismatchError(f'{text}\n{_nothing_matches_hint(checkpoint, state)}')
        refused = []
        if (report['missing'] or report['unexpected']) and not self.allow_partial:
            refused.append(('allow_partial', 'missing keys keep their initial values, '
                            'unexpected ones are ignored'))
        if report['shape_mismatch'] and not self.allow_shape_mismatch:
            refused.append(('allow_shape_mismatch', 'the mismatched tensors keep the '
                            "model's initial values, e.g. a head fine-tuned on other "
                            'keypoints'))
        if refused:
            options = ' '.join(f'{_OPTION}.{name}=True' for name, _ in refused)
            why = '; '.join(f'{name}: {effect}' for name, effect in refused)
            raise CheckpointMismatchError(
                f'{text}\nStopped before any weight was loaded. If this partial load is '
                f'intended, add --cfg-options {options} (or set '
                f'{"it" if len(refused) == 1 else "them"} in the config\'s {_OPTION}) — '
                f'{why}.')
        self._check_finite(runner, state, source)
        if partial:
            runner.logger.warning(f'{source}: checkpoint keys do not fit the model:\n  '
                                  + '\n  '.join(partial) + f'\n(loaded anyway: allowed by '
                                  f'{_OPTION}.allow_partial)')
        if shapes:   # one line listing every skipped tensor
            _keep_model_values(checkpoint, model_state, report['shape_mismatch'],
                               self.revise_keys)
            runner.logger.warning(
                f'{source}: {len(shapes)} tensor(s) not loaded, their shapes differ '
                f"(checkpoint vs model); they keep the model's initial values "
                f'({_OPTION}.allow_shape_mismatch=True): {", ".join(shapes)}')

    def _reinitialize(self, runner, checkpoint, state, model_state, source):
        """``state`` with the ``reinitialize`` parts set to the model's own values.

        The checkpoint dict is changed in place the same way, so mmengine loads the
        model's initial values for those keys. Raises when a prefix names no model key
        (a typo would otherwise load the old head silently).
        """
        chosen = [k for k in model_state if k.startswith(self.reinitialize)]
        unused = [p for p in self.reinitialize if not any(k.startswith(p) for k in chosen)]
        if unused:
            raise CheckpointMismatchError(
                f'{_OPTION}.reinitialize: no model weight starts with {unused}; model keys '
                f'start with {sorted({k.split(".")[0] + "." for k in model_state})}')
        fresh = {k: model_state[k].detach().clone() for k in chosen}
        _replace_keys(checkpoint, fresh, self.revise_keys)
        runner.logger.info(f'{source}: {len(chosen)} tensor(s) under '
                           f'{list(self.reinitialize)} keep the model\'s initial values '
                           f'({_OPTION}.reinitialize)')
        kept = {k: v for k, v in state.items() if not k.startswith(self.reinitialize)}
        return {**kept, **fresh}

    def _check_finite(self, runner, state, source):
        """Refuse (or, allowed, log) weights holding NaN/Inf, before they load."""
        check_finite_weights(state, source, allow=self.allow_nonfinite,
                             warn=runner.logger.warning)


def _starts_training_from(runner):
    """True when the Runner loads ``load_from`` to start training: a training run
    (its train loop is built, as ``Runner.train`` does before loading) that does not
    resume (``Runner.resume`` loads through the same hook)."""
    return (isinstance(getattr(runner, '_train_loop', None), BaseLoop)
            and not getattr(runner, '_resume', False))


def _keep_model_values(checkpoint, model_state, mismatched, revise_keys):
    """Replace the checkpoint's mis-shaped tensors by the model's own values, in place.

    mmengine then loads them as they are (the model keeps its initialisation) instead
    of skipping them with a multi-line warning of its own.
    """
    _replace_keys(checkpoint, {key: model_state[key].detach().clone()
                               for key, _, _ in mismatched}, revise_keys)


def _replace_keys(checkpoint, values, revise_keys):
    """Set the checkpoint's tensors to ``values`` {model key: tensor}, in place.

    Keys are matched after ``revise_keys``; model keys absent from the checkpoint are
    added (under the model's own name).
    """
    target = checkpoint['state_dict'] if 'state_dict' in checkpoint else checkpoint
    seen = set()
    for key in list(target):
        revised = key
        for pattern, repl in revise_keys:
            revised = re.sub(pattern, repl, revised)
        if revised in values:
            target[key] = values[revised]
            seen.add(revised)
    target.update({k: v for k, v in values.items() if k not in seen})


def _nothing_matches_hint(checkpoint, state):
    """Why no key fits: empty, wrapped, or another model's weights."""
    if not state:
        return ("Not one weight fits: the checkpoint's state_dict is empty.")
    top = [k for k, v in checkpoint.items() if isinstance(v, dict)]
    if 'state_dict' not in checkpoint and top and \
            not any(hasattr(v, 'shape') for v in checkpoint.values()):
        return (f"Not one weight fits: the checkpoint has no 'state_dict'; its top-level "
                f'keys are {sorted(checkpoint)[:10]}. If the weights are wrapped (e.g. '
                f"under {top[0]!r}), save them as {{'state_dict': weights}} first.")
    return ('Not one weight fits: is it a checkpoint of another model or config? '
            'No option loads such a checkpoint.')
