"""The codec contract every keypoint codec follows."""
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from hpekit.registry import KEYPOINT_CODECS


def to_size(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """(W, H) ints from an int or a pair; ValueError naming ``name`` unless positive."""
    w, h = (value, value) if np.isscalar(value) else tuple(value)
    if int(w) != w or int(h) != h or int(w) <= 0 or int(h) <= 0:
        raise ValueError(f'{name} must be a positive int or (W, H) pair, got {value!r}')
    return int(w), int(h)


class BaseKeypointCodec:
    """Encode keypoint labels into training targets; decode model outputs to keypoints.

    A subclass sets:

    - ``encode_inputs``: {results key: ``encode`` argument}: what ``GenerateTarget``
      reads from a pipeline's results dict;
    - ``encode(**inputs) -> dict``: the targets, as results keys ``PackPoseInputs`` /
      ``PackClipInputs`` pack;
    - ``decode(outputs) -> (keypoints, scores)``: model outputs (numpy) → keypoints in
      the model input's coordinates and a score per keypoint;
    - ``input_size`` (W, H): the model input the codec is made for.
    """

    encode_inputs: Dict[str, str] = {}
    input_size: Tuple[int, int]

    def encode(self, **inputs: Any) -> Dict[str, np.ndarray]:
        raise NotImplementedError

    def decode(self, outputs: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        raise NotImplementedError

    def keypoints_and_visibility(self, keypoints: ArrayLike,
                                 keypoints_visible: Optional[ArrayLike] = None
                                 ) -> Tuple[np.ndarray, np.ndarray]:
        """``encode``'s inputs, [K, 2] or [1, K, 2] and [K] or [1, K] (None: all
        visible) → (keypoints [K, 2] in their float dtype (ints as float64),
        visibility [K]); ValueError naming the codec when the counts differ."""
        points = np.asarray(keypoints)
        if points.dtype.kind != 'f':
            points = points.astype(np.float64)
        points = points.reshape(-1, 2)
        visible = np.ones(len(points), np.float32) if keypoints_visible is None else \
            np.asarray(keypoints_visible).reshape(-1)
        if len(visible) != len(points):
            raise ValueError(f'{type(self).__name__}.encode: {len(points)} keypoints but '
                             f'{len(visible)} visibility values')
        return points, visible

    def encode_results(self, results: dict) -> dict:
        """Read ``encode_inputs`` from a results dict, encode, and add the targets."""
        missing = [key for key in self.encode_inputs if key not in results]
        if missing:
            raise KeyError(f'{type(self).__name__}.encode needs {missing} in the results; '
                           'put GenerateTarget after the transforms that make them')
        results.update(self.encode(**{arg: results[key]
                                      for key, arg in self.encode_inputs.items()}))
        return results


def build_codec(cfg: Union[Dict[str, Any], BaseKeypointCodec]) -> BaseKeypointCodec:
    """A codec from its config dict (KEYPOINT_CODECS), or a built codec as it is."""
    if isinstance(cfg, BaseKeypointCodec):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"a codec must be a dict with 'type' (e.g. dict(type='MSRAHeatmap', "
                        f'input_size=(256, 256), heatmap_size=(64, 64), sigma=2)), got {cfg!r}')
    return KEYPOINT_CODECS.build(dict(cfg))
