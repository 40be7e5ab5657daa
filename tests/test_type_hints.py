"""The public API is typed: every public function and method of these modules
annotates its parameters and its return value (and the package ships py.typed)."""
import importlib
import inspect
from pathlib import Path

import pytest

MODULES = ['hpekit.registry', 'hpekit.apis.model', 'hpekit.apis.topdown',
           'hpekit.apis.video3d', 'hpekit.core.boxes', 'hpekit.core.camera',
           'hpekit.apis.inferencer', 'hpekit.apis.detectors', 'hpekit.apis.frames',
           'hpekit.apis.lifting', 'hpekit.datasets.metainfo', 'hpekit.datasets.base',
           'hpekit.datasets.mpii', 'hpekit.datasets.mpii_mat', 'hpekit.datasets.coco',
           'hpekit.datasets.h36m_clips', 'hpekit.codecs.base',
           'hpekit.codecs.msra_heatmap', 'hpekit.codecs.root_relative_3d',
           'hpekit.evaluation.metrics.mpii_pckh', 'hpekit.evaluation.metrics.mpjpe_metric',
           'hpekit.evaluation.metrics.coco_metric',
           'hpekit.evaluation.metrics.pck_accuracy', 'hpekit.config.files',
           'hpekit.utils.setup_env', 'hpekit.models.model_inputs',
           'hpekit.config.cli_options',
           'hpekit.models.estimators.base', 'hpekit.datasets.h36m_video',
           'hpekit.evaluation.metrics.h36m_metric', 'hpekit.checkpoint.converters',
           'hpekit.config.yacs', 'hpekit.config.yacs2py',
           'hpekit.visualization.local_visualizer', 'hpekit.checkpoint.loading',
           'hpekit.export.onnx', 'hpekit.checkpoint.files', 'hpekit.checkpoint.retention',
           'hpekit.checkpoint.resume', 'hpekit.codecs.pose_lifting',
           'hpekit.datasets.converters.common', 'hpekit.datasets.converters.labelme',
           'hpekit.datasets.converters.cvat', 'hpekit.datasets.converters.coco_export',
           'hpekit.datasets.combined', 'hpekit.datasets.transforms.keypoint_converter',
           'hpekit.datasets.inspection', 'hpekit.evaluation.metrics.auc',
           'hpekit.evaluation.metrics.epe', 'hpekit.evaluation.metrics.per_keypoint',
           'hpekit.evaluation.functional.keypoint_2d',
           'hpekit.evaluation.functional.tracking', 'hpekit.core.smoothing',
           'hpekit.core.keypoint_mapping', 'hpekit.core.nms', 'hpekit.apis.tracking',
           'hpekit.config.mmdet', 'hpekit.models.detectors.rtmdet',
           'hpekit.models.heads.rtmdet_head', 'hpekit.models.necks.cspnext_pafpn']
SKIP_PARAMS = {'self', 'cls'}


def public_callables(module):
    for name, obj in vars(module).items():
        if name.startswith('_') or getattr(obj, '__module__', None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and (not attr.startswith('_')
                                                   or attr == '__init__'):
                    yield f'{name}.{attr}', member


def missing_hints(func):
    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in SKIP_PARAMS and p.annotation is inspect.Parameter.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if sig.return_annotation is inspect.Signature.empty and func.__name__ != '__init__':
        missing.append('return')
    return missing


@pytest.mark.parametrize('name', MODULES)
def test_public_functions_are_annotated(name):
    module = importlib.import_module(name)
    gaps = {qual: m for qual, f in public_callables(module) if (m := missing_hints(f))}
    assert not gaps, f'{name}: unannotated {gaps}'


def test_py_typed_ships():
    assert (Path(__file__).resolve().parents[1] / 'hpekit' / 'py.typed').is_file()
