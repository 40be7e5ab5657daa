"""A keypoint codec (KEYPOINT_CODECS): MSRA heatmaps decoded by a local centroid."""
import numpy as np

from hpekit.codecs import MSRAHeatmap
from hpekit.codecs.msra_heatmap import heatmap_to_input
from hpekit.registry import KEYPOINT_CODECS


@KEYPOINT_CODECS.register_module()
class CentroidHeatmap(MSRAHeatmap):
    """Gaussian heatmaps as ``MSRAHeatmap``; decoded to the centroid of the 3×3 window
    around the maximum (weights clipped at 0) instead of a quarter-pixel step.

    ``decode(heatmaps [K, h, w] or [B, K, h, w])`` → keypoints float32 [B, K, 2] input px,
    scores float32 [B, K] (the maxima).
    """

    sweep_example = dict(cfg=dict(input_size=(32, 32), heatmap_size=(8, 8), sigma=1.0),
                         encode=dict(keypoints=[[9.0, 14.0]], keypoints_visible=[1]),
                         decode='heatmaps', expect=[[9.0, 14.0]], atol=1.0)

    def decode(self, heatmaps):
        maps = np.asarray(heatmaps, np.float64)
        maps = maps[None] if maps.ndim == 3 else maps
        b, k, h, w = maps.shape
        flat = maps.reshape(b, k, -1)
        index = flat.argmax(-1)
        ys, xs = np.divmod(index, w)
        padded = np.pad(np.clip(maps, 0, None), ((0, 0), (0, 0), (1, 1), (1, 1)))
        coords = np.zeros((b, k, 2))
        for i in range(b):
            for j in range(k):
                win = padded[i, j, ys[i, j]:ys[i, j] + 3, xs[i, j]:xs[i, j] + 3]
                total = win.sum()
                dy, dx = (np.array([(win.sum(1) * [-1, 0, 1]).sum(),
                                    (win.sum(0) * [-1, 0, 1]).sum()]) / total
                          if total > 0 else (0.0, 0.0))
                coords[i, j] = xs[i, j] + dx, ys[i, j] + dy
        keypoints = heatmap_to_input(coords, self.input_size, self.heatmap_size)
        return keypoints.astype(np.float32), flat.max(-1).astype(np.float32)
