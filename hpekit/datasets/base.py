"""The base of hpekit's pose datasets: metainfo parsed once, handed to every sample."""
import copy
import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from hpekit.config.checks import CODEC_ARGS, CodecNotSetError, codec_not_set
from hpekit.datasets.metainfo import MetainfoError, add_metainfo_to_info, parse_pose_metainfo
from hpekit.registry import TRANSFORMS


def build_pipeline(pipeline: Optional[Sequence[Union[dict, Callable]]]) -> List[Callable]:
    """Transforms from configs (built in hpekit's TRANSFORMS) or callables, as a list.

    Raises:
        CodecNotSetError: a transform is missing the codec (``encoder``) or its input
            size (``input_size``); the message names ``pipeline[i].<argument>`` and
            what to write (``encoder=codec``, ``input_size=codec['input_size']``).
    """
    transforms = []
    for i, t in enumerate(pipeline or ()):
        if isinstance(t, dict):
            for arg in _required_codec_args(t.get('type')):
                if t.get(arg) is None:
                    raise codec_not_set(f'pipeline[{i}].{arg}', t.get('type'))
            try:
                t = TRANSFORMS.build(t)
            except CodecNotSetError as err:   # a transform that checks it itself
                raise CodecNotSetError(f'pipeline[{i}]: {err}') from None
        transforms.append(t)
    return transforms


def _required_codec_args(type_name) -> List[str]:
    """The codec arguments (``CODEC_ARGS``) the transform ``type_name`` takes with no
    default; empty when the type is unknown (its build then says so)."""
    cls = type_name if inspect.isclass(type_name) else None
    if cls is None and isinstance(type_name, str):
        try:
            cls = TRANSFORMS.get(type_name)
        except KeyError:
            return []
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return []
    return [arg for arg in CODEC_ARGS
            if arg in params and params[arg].default is params[arg].empty]


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
