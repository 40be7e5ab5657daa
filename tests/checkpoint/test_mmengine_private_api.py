"""``SafeCheckpointHook`` overrides private methods of mmengine's ``CheckpointHook``
(and calls one). mmengine may rename them or change their parameters in any release;
then mmengine would silently go on calling its own method (non-atomic saves, old files
deleted first) or call ours with arguments it does not take. These tests fail first:
when one does, read the new mmengine method and adapt the override before updating
the lists below."""
import inspect

import pytest
from mmengine.hooks import CheckpointHook

from hpekit.engine.hooks.checkpoint import SafeCheckpointHook

# The private mmengine methods SafeCheckpointHook overrides: the parameters our
# override takes, which must be those mmengine's method declares (and calls it with).
OVERRIDDEN = {
    '_save_checkpoint_with_step': '(self, runner, step, meta)',
    '_save_best_checkpoint': '(self, runner, metrics)',
    '_publish_model': '(self, runner, ckpt_path)',
}
# Private mmengine methods the hook relies on without overriding them.
RELIED_ON = {
    '_init_rule': '(self, rules, key_indicators)',   # called by our _save_best_checkpoint
    '_save_checkpoint': '(self, runner)',   # calls our _save_checkpoint_with_step
}
# Where mmengine calls each override: (caller, the call in its source).
CALLERS = {
    '_save_checkpoint_with_step': [('_save_checkpoint', 'self._save_checkpoint_with_step('),
                                   ('_save_best_checkpoint',
                                    'self._save_checkpoint_with_step(')],
    '_save_best_checkpoint': [('after_val_epoch', 'self._save_best_checkpoint(')],
    '_publish_model': [('after_train', 'self._publish_model(')],
}


def _parameters(func):
    """``func``'s parameter list as text, without annotations: ``(self, runner)``."""
    sig = inspect.signature(func)
    bare = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=bare, return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize('name', sorted({**OVERRIDDEN, **RELIED_ON}))
def test_mmengine_still_has_the_private_method(name):
    assert callable(getattr(CheckpointHook, name, None)), \
        f'mmengine.hooks.CheckpointHook.{name} is gone: SafeCheckpointHook relies on it'


@pytest.mark.parametrize('name', sorted(OVERRIDDEN))
def test_override_matches_mmengine_signature(name):
    assert name in vars(SafeCheckpointHook), \
        f'SafeCheckpointHook no longer overrides {name}'
    theirs = _parameters(getattr(CheckpointHook, name))
    assert theirs == OVERRIDDEN[name], \
        f'mmengine changed CheckpointHook.{name}: {theirs}, expected {OVERRIDDEN[name]}'
    ours = _parameters(getattr(SafeCheckpointHook, name))
    assert ours == OVERRIDDEN[name], f'SafeCheckpointHook.{name}{ours} != mmengine\'s'


@pytest.mark.parametrize('name', sorted(RELIED_ON))
def test_relied_on_method_keeps_its_signature(name):
    theirs = _parameters(getattr(CheckpointHook, name))
    assert theirs == RELIED_ON[name], \
        f'mmengine changed CheckpointHook.{name}: {theirs}, expected {RELIED_ON[name]}'


@pytest.mark.parametrize('name', sorted(CALLERS))
def test_mmengine_still_calls_the_override(name):
    for caller, call in CALLERS[name]:
        source = inspect.getsource(getattr(CheckpointHook, caller))
        assert call in source, f'mmengine\'s CheckpointHook.{caller} no longer calls ' \
                               f'{name}: the override would be bypassed'


def test_every_private_override_is_listed():
    """A private method of SafeCheckpointHook that also exists in mmengine overrides it,
    on purpose or by a name clash: each must be listed (and checked) above."""
    overrides = {name for name in vars(SafeCheckpointHook)
                 if name.startswith('_') and not name.startswith('__')
                 and hasattr(CheckpointHook, name)}
    assert overrides == set(OVERRIDDEN)
