"""Transforms shared by every pipeline: targets from the config's codec."""
from mmcv.transforms import BaseTransform

from hpekit.codecs import build_codec
from hpekit.config.checks import codec_not_set
from hpekit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GenerateTarget(BaseTransform):
    """Training targets from labels with the config's keypoint codec (MMPose's name).

    Reads the codec's ``encode_inputs`` from the results (e.g. ``keypoints_input``
    and ``keypoints_visible`` for ``MSRAHeatmap``, ``joints_3d`` for
    ``RootRelativeJoints3D``) and adds what its ``encode`` returns (``heatmaps``,
    ``target_weight``, ``heatmap_size``; or root-relative ``joints_3d``).

    Args:
        encoder (dict): the codec config: in a config, ``encoder=codec`` (the config's
            ``codec`` variable; nothing fills it). None raises ``CodecNotSetError``.
    """

    sweep_example = dict(
        cfg=dict(encoder=dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8))),
        results='crop')

    def __init__(self, encoder):
        if encoder is None:
            raise codec_not_set('encoder', type(self).__name__)
        self.encoder = build_codec(encoder)

    def transform(self, results: dict) -> dict:
        return self.encoder.encode_results(results)

    def __repr__(self):
        return f'{type(self).__name__}(encoder={self.encoder!r})'
