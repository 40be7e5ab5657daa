"""One ``codec`` per config: it fills the sizes and codecs that parts leave unset.

A config defines ``codec = dict(type='MSRAHeatmap', input_size=(256, 256),
heatmap_size=(64, 64), sigma=2)`` once. Every part config in the file (pipeline
transforms, model parts) whose class takes ``encoder``, ``decoder`` or ``input_size``
(with no default, or None) and does not set it gets the codec (or its ``input_size``). So a base config's
pipelines carry no sizes, and a config that changes the input size changes only its
``codec``. A value a part sets itself always wins (MMPose's explicit
``input_size=codec['input_size']`` style works unchanged).
"""
import inspect

from mmengine.config import Config

from hpekit.registry import KEYPOINT_CODECS, MODELS, TRANSFORMS

CODEC_ARGS = ('encoder', 'decoder')


def _part_class(type_name):
    """The class a part config names (TRANSFORMS, then MODELS), or None if unknown."""
    if not isinstance(type_name, str):
        return type_name if inspect.isclass(type_name) else None
    for registry in (TRANSFORMS, MODELS):
        try:
            return registry.get(type_name)
        except KeyError:
            continue
    return None


def _accepts(cls, name):
    """True when ``cls`` takes ``name`` with no default or a default of None."""
    try:
        param = inspect.signature(cls).parameters.get(name)
    except (TypeError, ValueError):
        return False
    return param is not None and param.default in (None, inspect.Parameter.empty)


def _fill(node, codec, input_size):
    """Fill unset codec arguments in every part dict below ``node``, in place."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _fill(item, codec, input_size)
        return
    if not isinstance(node, dict):
        return
    cls = _part_class(node.get('type')) if 'type' in node else None
    if cls is not None and cls not in KEYPOINT_CODECS.module_dict.values():
        for arg in CODEC_ARGS:
            if _accepts(cls, arg) and node.get(arg) is None:
                node[arg] = dict(codec)
        if input_size is not None and _accepts(cls, 'input_size') and \
                node.get('input_size') is None:
            node['input_size'] = tuple(input_size)
    for key, value in node.items():
        if key not in CODEC_ARGS:
            _fill(value, codec, input_size)


def apply_codec(cfg: Config) -> Config:
    """Give every part of ``cfg`` that leaves them unset the config's ``codec`` (see
    module doc). A config without ``codec`` is returned unchanged."""
    codec = cfg.get('codec')
    if not codec:
        return cfg
    input_size = codec.get('input_size')
    for key in list(cfg.keys()):
        if key != 'codec':
            value = cfg[key]
            _fill(value, codec, input_size)
            cfg[key] = value
    return cfg
