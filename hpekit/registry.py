"""hpekit's registries: children of mmengine's roots, all in the scope ``hpekit``.

A part becomes usable from a config by decorating its class, e.g.
``@MODELS.register_module()``; configs then name it by ``type='ClassName'``.
Each registry knows the modules that define its parts (``locations``), so a config
can name any built-in part without importing it first.

Looking up an unknown name raises a ``KeyError`` that names the registry and the
closest registered names, instead of mmengine's generic message.
"""
import difflib
from typing import Optional, Type

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry as MMEngineRegistry

SCOPE = 'hpekit'


def _all_names(registry):
    """Names visible from ``registry``: its own, its ancestors' and its children's."""
    names = set(registry.module_dict)
    parent = registry.parent
    while parent is not None:
        names.update(parent.module_dict)
        parent = parent.parent
    for child in registry.children.values():
        names.update(child.module_dict)
    return sorted(names)


class Registry(MMEngineRegistry):
    """mmengine's Registry whose failed look-ups say what was meant.

    ``get(name)`` returns the registered class or function as usual; for a name that
    is not registered it raises ``KeyError`` naming this registry and up to five
    close matches (mmengine would return ``None`` and later fail with a generic text).
    """

    def get(self, key: str) -> Optional[Type]:
        obj = super().get(key)
        if obj is None and isinstance(key, str):
            names = _all_names(self)
            close = difflib.get_close_matches(key.split('.')[-1], names, n=5, cutoff=0.5)
            hint = (f' Did you mean: {", ".join(close)}?' if close else
                    f' Registered names: {", ".join(names[:30])}'
                    f'{" …" if len(names) > 30 else ""}.')
            raise KeyError(f"'{key}' is not registered in the {self.scope}::{self.name} "
                           f'registry.{hint} A part of your own must be decorated with '
                           f'@{self.name.upper()}S.register_module() and imported, e.g. '
                           f"through custom_imports=dict(imports=['your_package']).")
        return obj

    def __contains__(self, key):
        try:
            return self.get(key) is not None
        except KeyError:
            return False


def _child(name, parent, *locations):
    return Registry(name, parent=parent, scope=SCOPE, locations=list(locations))


# Runtime parts (mostly mmengine's own; hpekit adds hooks and loops).
LOOPS = _child('loop', MMENGINE_LOOPS, 'hpekit.engine')
HOOKS = _child('hook', MMENGINE_HOOKS, 'hpekit.engine')
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS, 'hpekit.engine')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'hpekit.datasets', 'hpekit.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'hpekit.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, 'hpekit.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, 'hpekit.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, 'hpekit.engine')

# Data.
DATASETS = _child('dataset', MMENGINE_DATASETS, 'hpekit.datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'hpekit.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'hpekit.datasets.transforms')

# Models: backbones, necks, heads, losses, estimators, data preprocessors.
MODELS = _child('model', MMENGINE_MODELS, 'hpekit.models', 'hpekit.engine.ema')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'hpekit.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             'hpekit.models')

# Evaluation and visualisation.
METRICS = _child('metric', MMENGINE_METRICS, 'hpekit.evaluation')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'hpekit.evaluation')
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, 'hpekit.visualization')
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, 'hpekit.visualization')

# Person detectors for top-down inference (hpekit.apis.detectors): image → boxes.
PERSON_DETECTORS = Registry('person_detector', scope=SCOPE, locations=['hpekit.apis'])

# Keypoint smoothing filters (hpekit.core.smoothing): a track [T, K, C] → smoothed,
# offline or frame by frame; built per track by inference.
POSE_FILTERS = Registry('pose_filter', scope=SCOPE, locations=['hpekit.core.smoothing'])

# Multi-person trackers (hpekit.apis.tracking): per-frame detections → stable track ids.
TRACKERS = Registry('tracker', scope=SCOPE, locations=['hpekit.apis.tracking'])

# Keypoint codecs: label ↔ target geometry (hpekit.codecs), built by transforms and heads.
KEYPOINT_CODECS = Registry('keypoint_codec', scope=SCOPE, locations=['hpekit.codecs'])

# Residual-block designs of the stacked hourglass (their own registry; built by the
# hourglass backbone from its ``block=dict(type=...)`` argument).
BLOCKS = Registry('block', scope=SCOPE, locations=['hpekit.models.backbones.blocks'])
