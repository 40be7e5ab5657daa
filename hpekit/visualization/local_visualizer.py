"""``PoseLocalVisualizer``: MMPose's visualiser interface, drawing with hpekit's skeletons."""
from typing import List, Optional, Union

import cv2
import numpy as np
from mmengine.structures import BaseDataElement
from mmengine.visualization import Visualizer

from hpekit.registry import VISUALIZERS

from .skeleton2d import GT_COLOR, draw_pose2d, link_colors

BOX_COLOR = (255, 255, 255)


def _numpy(value):
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _instances(sample, which):
    """(keypoints [N, K, 2], scores or visibility [N, K] or None, boxes [N, 4] or None)
    of a data sample's ``pred``/``gt`` side: MMPose's ``*_instances`` fields or
    hpekit's per-sample fields (``pred_keypoints`` / ``gt_keypoints``)."""
    field = f'{which}_instances'
    if field in sample and 'keypoints' in sample.get(field):
        inst = sample.get(field)
        extra = 'keypoint_scores' if which == 'pred' else 'keypoints_visible'
        return (_numpy(inst.keypoints).reshape(-1, *np.shape(inst.keypoints)[-2:]),
                _numpy(inst.get(extra)) if extra in inst else None,
                _numpy(inst.bboxes) if 'bboxes' in inst else None)
    key = f'{which}_keypoints'
    if key not in sample:
        return None, None, None
    extra = 'keypoint_scores' if which == 'pred' else 'keypoints_visible'
    return (_numpy(sample.get(key))[None],
            _numpy(sample.get(extra))[None] if extra in sample else None, None)


@VISUALIZERS.register_module()
class PoseLocalVisualizer(Visualizer):
    """Draws poses with the dataset metainfo's skeleton and colours (MMPose's API).

    ``set_dataset_meta(meta)`` takes parsed metainfo (``skeleton_links``,
    ``skeleton_link_colors``); ``add_datasample`` draws a data sample's ground truth
    (green) and prediction (the metainfo's colours, black outline, joints scoring
    below ``kpt_thr`` left out) side by side on the RGB image, saves it to
    ``out_file`` and hands it to every vis backend (``add_image``).

    Args:
        name (str): the instance name (mmengine's ManagerMixin).
        vis_backends (list, optional): mmengine vis backend configs.
        save_dir (str, optional): where the backends write.
        kpt_thr (float): default score threshold of drawn predicted joints.
    """

    def __init__(self, name: str = 'visualizer', image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None, save_dir: Optional[str] = None,
                 kpt_thr: float = 0.3) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir)
        self.kpt_thr = kpt_thr

    def set_dataset_meta(self, dataset_meta: dict) -> None:
        """Use parsed metainfo (``parse_pose_metainfo``) for skeletons and colours."""
        self.dataset_meta = dataset_meta

    def _draw(self, image, sample, which, kpt_thr):
        keypoints, extra, boxes = _instances(sample, which)
        if keypoints is None:
            return None
        meta = self.dataset_meta
        if meta is None:
            raise ValueError('PoseLocalVisualizer needs the dataset metainfo: call '
                             'set_dataset_meta(parsed metainfo) first')
        out = image
        for i, points in enumerate(keypoints):
            if which == 'pred':
                out = draw_pose2d(out, points, meta['skeleton_links'],
                                  scores=None if extra is None else extra[i],
                                  score_thr=kpt_thr, colors=link_colors(meta),
                                  outline=(0, 0, 0))
            else:
                out = draw_pose2d(out, points, meta['skeleton_links'],
                                  visible=None if extra is None else extra[i],
                                  colors=GT_COLOR, outline=(255, 255, 255))
            if boxes is not None:
                x1, y1, x2, y2 = (int(round(v)) for v in boxes[i])
                out = cv2.rectangle(out.copy(), (x1, y1), (x2, y2), BOX_COLOR, 1)
        return out

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Union[BaseDataElement, dict],
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       kpt_thr: Optional[float] = None, step: int = 0) -> np.ndarray:
        """Draw ``data_sample`` on ``image`` (uint8 [H, W, 3] RGB).

        Returns:
            uint8 [H, 2W, 3] (ground truth | prediction) when both are drawn and
            present, else [H, W, 3].
        """
        thr = self.kpt_thr if kpt_thr is None else kpt_thr
        panels = [p for p in (self._draw(image, data_sample, 'gt', thr) if draw_gt else None,
                              self._draw(image, data_sample, 'pred', thr) if draw_pred
                              else None) if p is not None]
        drawn = np.concatenate(panels, axis=1) if panels else image.copy()
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            if not cv2.imwrite(out_file, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
                raise OSError(f'PoseLocalVisualizer: cannot write {out_file}')
        else:
            self.add_image(name, drawn, step)
        return drawn
