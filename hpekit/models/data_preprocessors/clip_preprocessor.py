"""Batching, device transfer and normalisation of video clips."""
from hpekit.models.data_preprocessors.image_preprocessor import NormalizingPreprocessor
from hpekit.registry import MODELS


@MODELS.register_module()
class ClipDataPreprocessor(NormalizingPreprocessor):
    """Stack clips, copy them to the model's device, then normalise there.

    The clips travel as uint8 (4× fewer bytes than float32) with non-blocking
    copies; the conversion to float32 and ``(x - mean) / std`` run on the device.

    Args:
        mean (Sequence[float]): per-channel (RGB) mean on the 0..255 scale.
        std (Sequence[float]): per-channel (RGB) standard deviation, 0..255 scale.
        non_blocking (bool): asynchronous host → device copies. Default True.

    Shapes:
        forward(data, training=False): ``data = {'inputs': list of B uint8
        [T, 3, H, W] tensors (or one [B, T, 3, H, W] tensor), 'data_samples': list
        or None}`` → ``{'inputs': float32 [B, T, 3, H, W] normalised on the device,
        'data_samples': the data samples moved to the device}``.
    """

    sweep_example = dict(cfg=dict(), data=[(2, 3, 8, 6)])

    item_layout = '[T, 3, H, W]'
    item_name = 'clip'
