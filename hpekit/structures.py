"""The data sample that travels between datasets, models and metrics.

``PoseDataSample`` is an mmengine ``BaseDataElement``. Fields used by the video 3D
pipeline (T frames, K joints):

- ``gt_joints_3d``: float32 tensor [T, K, 3], metres, set by ``PackClipInputs``.
- ``pred_joints_3d``: float32 tensor [T, K, 3], metres, set by the model's predict.

metainfo keys: ``sample_idx`` (int, index in the dataset) and ``flip_indices``
(list of K ints, the mirrored joint of each joint).
"""
from mmengine.structures import BaseDataElement


class PoseDataSample(BaseDataElement):
    """Ground truth and predictions of one sample (image or clip); see module doc."""
