"""Build a model from a config for the model tools (FLOPs, ONNX) and pick its input.

Both pipelines are supported: ``TopDownPoseEstimator`` (input one RGB crop
[B, 3, H, W]) and ``VideoPoseRegressor`` (input one clip [B, T, 3, H, W]).
"""
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from hpekit.registry import MODELS

CLIP_LENGTH = 8     # frames per clip of the Human3.6M course split
CLIP_SIZE = 224     # frame side of the course split when no ClipResize is configured


def build_model(cfg, checkpoint=None, device='cpu'):
    """``cfg`` (mmengine Config) → its ``model`` built, weights loaded, in eval mode.

    Args:
        cfg: a loaded config (``hpekit.engine.config_setup.load_config``).
        checkpoint (str, optional): weights file (loaded with hpekit's safe loader);
            None keeps the random initialisation (enough for FLOPs and export tests).
        device (str): where the model goes.
    """
    init_default_scope(cfg.get('default_scope', 'hpekit'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()


def model_kind(model):
    """'topdown' (TopDownPoseEstimator) or 'video3d' (VideoPoseRegressor)."""
    from hpekit.models.estimators import TopDownPoseEstimator, VideoPoseRegressor
    if isinstance(model, TopDownPoseEstimator):
        return 'topdown'
    if isinstance(model, VideoPoseRegressor):
        return 'video3d'
    raise TypeError(f'expected a TopDownPoseEstimator or VideoPoseRegressor, got '
                    f'{type(model).__name__}')


def _test_pipeline(cfg):
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    return loader.get('dataset', {}).get('pipeline', [])


def default_input_shape(cfg, model, batch=1):
    """The input shape the config's test pipeline produces, with a batch axis.

    top-down: (batch, 3, H, W) from ``TopdownAffine.input_size`` (W, H);
    video: (batch, T=8, 3, S, S) with S from ``ClipResize.size`` (else 224).
    """
    kind = model_kind(model)
    pipeline = _test_pipeline(cfg)
    if kind == 'topdown':
        affine = [t for t in pipeline if t.get('type') == 'TopdownAffine']
        if not affine or 'input_size' not in affine[0]:
            raise ValueError('cannot tell the input size: the config\'s test pipeline has '
                             'no TopdownAffine with input_size; pass --shape H W')
        width, height = affine[0]['input_size']
        return (batch, 3, int(height), int(width))
    resize = [t for t in pipeline if t.get('type') == 'ClipResize']
    size = resize[0]['size'] if resize else CLIP_SIZE
    height, width = (size, size) if isinstance(size, int) else size
    return (batch, CLIP_LENGTH, 3, int(height), int(width))


def input_shape_from_args(cfg, model, shape=None, frames=None, batch=1):
    """Override the default input shape with ``--shape H W`` and ``--frames T``."""
    full = list(default_input_shape(cfg, model, batch))
    if shape is not None:
        if len(shape) != 2 or min(shape) <= 0:
            raise ValueError(f'--shape expects two positive sizes H W, got {shape}')
        full[-2:] = shape
    if frames is not None:
        if model_kind(model) != 'video3d' or frames <= 0:
            raise ValueError(f'--frames {frames}: only for video models, and > 0')
        full[1] = frames
    return tuple(full)
