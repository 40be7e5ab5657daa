"""Registry behaviour: lazy locations, scope, helpful errors, plugins."""
import pytest
import torch.nn as nn

from hpekit.registry import BLOCKS, DATASETS, METRICS, MODELS, TRANSFORMS, Registry


def test_builtin_parts_resolve_without_imports():
    # The lazy `locations` import hpekit's modules on first look-up.
    assert MODELS.get('ResNet').__name__ == 'ResNet'
    assert MODELS.get('VideoPoseRegressor').__name__ == 'VideoPoseRegressor'
    assert DATASETS.get('H36MClipDataset').__name__ == 'H36MClipDataset'
    assert TRANSFORMS.get('ClipRandomFlip').__name__ == 'ClipRandomFlip'
    assert METRICS.get('MPJPE').__name__ == 'MPJPE'
    assert BLOCKS.get('PreActBottleneck').__name__ == 'PreActBottleneck'


def test_registries_are_children_of_mmengine_roots_in_hpekit_scope():
    from mmengine.registry import MODELS as ROOT_MODELS
    assert MODELS.scope == 'hpekit'
    assert MODELS.parent is ROOT_MODELS
    assert ROOT_MODELS.children['hpekit'] is MODELS


def test_mmengine_parts_are_reachable_through_hpekit_registries():
    from hpekit.registry import HOOKS, OPTIM_WRAPPERS
    assert HOOKS.get('CheckpointHook').__name__ == 'CheckpointHook'
    assert OPTIM_WRAPPERS.get('OptimWrapper').__name__ == 'OptimWrapper'


def test_unknown_type_names_registry_and_closest_names():
    with pytest.raises(KeyError) as err:
        MODELS.build(dict(type='ResNett', depth=18))
    text = str(err.value)
    assert "'ResNett'" in text and 'hpekit::model' in text
    assert 'Did you mean: ResNet' in text


def test_unknown_type_without_close_match_lists_names():
    with pytest.raises(KeyError) as err:
        TRANSFORMS.get('Zzzzzzzzzz')
    assert 'hpekit::transform' in str(err.value)
    assert 'Registered names:' in str(err.value)


def test_contains_does_not_raise():
    assert 'ResNet' in MODELS
    assert 'NoSuchThing' not in MODELS


def test_unknown_type_through_runner_style_build_from_root():
    # mmengine's Runner builds from the root registry with the default scope set.
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('hpekit'):
        with pytest.raises(KeyError, match='Did you mean: VideoPoseRegressor'):
            ROOT_MODELS.build(dict(type='VideoPoseRegresor'))


def test_plugin_registration_and_build():
    registry = Registry('thing', scope='hpekit_test_scope')

    @registry.register_module()
    class Widget(nn.Module):
        def __init__(self, size=3):
            super().__init__()
            self.size = size

    widget = registry.build(dict(type='Widget', size=5))
    assert isinstance(widget, Widget) and widget.size == 5
    with pytest.raises(KeyError, match='Did you mean: Widget'):
        registry.build(dict(type='Widgit'))
