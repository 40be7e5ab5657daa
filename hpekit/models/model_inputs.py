"""The example input of a model for the model tools (FLOPs, ONNX, benchmarks).

The shape comes from the estimator's spec (``model.spec.input_shape``), so any
estimator that declares a spec works, the built-in ones and a user's plugin alike.
"""
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

if TYPE_CHECKING:
    import torch.nn as nn

    from hpekit.models.estimators.base import EstimatorSpec


def model_spec(model: 'nn.Module') -> 'EstimatorSpec':
    """``model.spec`` of an estimator, or a TypeError saying what a model must define."""
    spec = getattr(model, 'spec', None)
    if spec is None:
        raise TypeError(f'{type(model).__name__} has no spec: derive the estimator from '
                        'hpekit.models.estimators.BasePoseEstimator and define spec and '
                        'forward_tensor (see docs/plugins.md)')
    return spec


def input_shape_from_args(model: 'nn.Module', shape: Optional[Sequence[int]] = None,
                          frames: Optional[int] = None, batch: int = 1) -> Tuple[int, ...]:
    """The spec's input shape with a batch axis, overridden by ``--shape H W`` and
    ``--frames T``.

    Raises:
        ValueError: a malformed ``shape``, or ``frames`` for a model without frames.
    """
    spec = model_spec(model)
    full = list(spec.input_shape(batch))
    if shape is not None:
        if getattr(spec, 'input_kind', 'pixels') == 'keypoints':
            raise ValueError('--shape H W is for image inputs; this model takes 2D '
                             'keypoints (change the frames with --frames)')
        if len(shape) != 2 or min(shape) <= 0:
            raise ValueError(f'--shape expects two positive sizes H W, got {shape}')
        full[-2:] = shape
    if frames is not None:
        if spec.num_frames is None or frames <= 0:
            raise ValueError(f'--frames {frames}: only for models that take clips, and > 0')
        full[1] = frames
    return tuple(full)
