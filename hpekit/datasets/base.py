"""The base of hpekit's pose datasets: metainfo parsed once, handed to every sample."""
import copy
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from hpekit.registry import TRANSFORMS
from hpekit.datasets.metainfo import MetainfoError, add_metainfo_to_info, parse_pose_metainfo


def build_pipeline(pipeline: Optional[Sequence[Union[dict, Callable]]]) -> List[Callable]:
    """Transforms from configs (built in hpekit's TRANSFORMS) or callables, as a list."""
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in (pipeline or ())]


class BasePoseDataset(BaseDataset):
    """mmengine's BaseDataset whose ``metainfo`` is parsed pose metainfo.

    A subclass names its metainfo file in ``METAINFO = dict(from_file=...)`` (MMPose's
    convention); a config may replace it with ``metainfo=dict(from_file=...)`` or a
    ``dataset_info`` dict. ``self.metainfo`` is then the dict of
    ``hpekit.datasets.parse_pose_metainfo`` (``num_keypoints``, ``flip_indices``,
    ``skeleton_links`` …), and every data info gets the per-sample keys
    ``flip_indices``, ``upper_body_ids``, ``lower_body_ids`` and
    ``dataset_keypoint_weights`` (as MMPose's datasets add them).
    """

    METAINFO: Dict[str, Any] = dict()

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[Mapping] = None) -> dict:
        source = copy.deepcopy(dict(metainfo)) if metainfo else copy.deepcopy(cls.METAINFO)
        if not source:
            raise MetainfoError(f'{cls.__name__}: no metainfo; set METAINFO = '
                                "dict(from_file='configs/_base_/datasets/<name>.py') on the "
                                'class or pass metainfo=dict(from_file=...) in the config')
        return parse_pose_metainfo(source)

    def get_data_info(self, idx: int) -> dict:
        """mmengine's data info of sample ``idx`` plus the per-sample metainfo keys."""
        return add_metainfo_to_info(super().get_data_info(idx), self._metainfo)
