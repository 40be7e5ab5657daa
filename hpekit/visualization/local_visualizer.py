"""``PoseLocalVisualizer``: MMPose's visualiser interface, drawing with hpekit's skeletons.

Every 2D pose hpekit draws goes through it: ``PoseInferencer``, ``tools/demo.py``,
``tools/visualize_predictions.py`` and the training-time ``PoseVisualizationHook``
(``add_datasample`` for one picture, ``draw_grid`` for several in one).
"""
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.structures import BaseDataElement
from mmengine.visualization import Visualizer

from hpekit.registry import VISUALIZERS
from hpekit.visualization.skeleton2d import (GT_COLOR, draw_pose2d, keypoint_colors,
                                             link_colors)

BOX_COLOR = (255, 255, 255)
GRID_TITLE_PX = 20      # the strip above each panel of ``draw_grid`` (and its title)
GRID_GAP_PX = 4         # between panels of ``draw_grid``


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
    ``skeleton_link_colors``, ``keypoint_colors``); ``add_datasample`` draws a data
    sample's ground truth (``gt_color``, white outline) and prediction (the
    metainfo's link colours, black outline, joints scoring below ``kpt_thr`` left
    out) side by side on the RGB
    image, saves it to ``out_file`` or else hands it to every vis backend
    (``add_image``); ``draw_grid`` draws several samples, each prediction over its
    ground truth, into one picture.

    Args:
        name (str): the instance name (mmengine's ManagerMixin).
        vis_backends (list, optional): mmengine vis backend configs.
        save_dir (str, optional): where the backends write.
        kpt_thr (float): default score threshold of drawn predicted joints.
        gt_color (RGB tuple, optional): the colour of the ground truth's bones and
            joints (green: told apart from a prediction drawn over it); None: the
            metainfo's link and keypoint colours, as MMPose draws, so left and right
            differ and a swapped pair shows (``tools/misc/browse_dataset.py``).
    """

    def __init__(self, name: str = 'visualizer', image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None, save_dir: Optional[str] = None,
                 kpt_thr: float = 0.3,
                 gt_color: Optional[Tuple[int, int, int]] = GT_COLOR) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir)
        self.kpt_thr = kpt_thr
        self.gt_color = gt_color

    def set_dataset_meta(self, dataset_meta: dict) -> None:
        """Use parsed metainfo (``parse_pose_metainfo``) for skeletons and colours."""
        self.dataset_meta = dataset_meta

    def _draw(self, image, sample, which, kpt_thr, draw_bbox=False):
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
                colors, joints = self._gt_colors(meta)
                out = draw_pose2d(out, points, meta['skeleton_links'],
                                  visible=None if extra is None else extra[i],
                                  colors=colors, joint_color=joints,
                                  outline=(255, 255, 255))
            if draw_bbox and boxes is not None:
                x1, y1, x2, y2 = (int(round(v)) for v in boxes[i])
                out = cv2.rectangle(out.copy(), (x1, y1), (x2, y2), BOX_COLOR, 1)
        return out

    def _gt_colors(self, meta):
        """(bone colours, joint colours or None) of the ground truth: ``gt_color``,
        or for ``gt_color=None`` the metainfo's per-link and per-keypoint colours."""
        if self.gt_color is None:
            return link_colors(meta), keypoint_colors(meta)
        return self.gt_color, None

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Union[BaseDataElement, dict],
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       kpt_thr: Optional[float] = None, step: int = 0,
                       draw_bbox: bool = False) -> np.ndarray:
        """Draw ``data_sample`` on ``image`` (uint8 [H, W, 3] RGB).

        ``data_sample``: MMPose's ``pred_instances`` (``keypoints`` [N, K, 2] image
        px, ``keypoint_scores`` [N, K], ``bboxes`` [N, 4]) and ``gt_instances``
        (``keypoints``, ``keypoints_visible``), or hpekit's per-sample fields
        (``pred_keypoints`` [K, 2] …). ``draw_bbox`` (MMPose's argument, off by
        default as there): also outline the predicted ``bboxes`` (white).
        Without ``out_file`` the picture goes to the vis backends (``add_image(name,
        picture, step)``).

        Returns:
            uint8 [H, 2W, 3] (ground truth | prediction) when both are drawn and
            present, else [H, W, 3].
        """
        thr = self.kpt_thr if kpt_thr is None else kpt_thr
        panels = [p for p in (self._draw(image, data_sample, 'gt', thr) if draw_gt else None,
                              self._draw(image, data_sample, 'pred', thr, draw_bbox)
                              if draw_pred else None) if p is not None]
        drawn = np.concatenate(panels, axis=1) if panels else image.copy()
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            if not cv2.imwrite(out_file, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
                raise OSError(f'PoseLocalVisualizer: cannot write {out_file}')
        else:
            self.add_image(name, drawn, step)
        return drawn

    def draw_grid(self, images: Sequence[np.ndarray],
                  data_samples: Sequence[Union[BaseDataElement, dict]],
                  titles: Optional[Sequence[str]] = None, ncols: int = 3,
                  kpt_thr: Optional[float] = None, title: str = '',
                  min_height: int = 192) -> np.ndarray:
        """Several samples in one picture: on each image its prediction drawn over its
        ground truth (as ``add_datasample`` draws either), the panels in a grid.

        Args:
            images: N uint8 [H, W, 3] RGB images (sizes may differ).
            data_samples: N data samples in the pixels of their image (see
                ``add_datasample``); one without ground truth shows the prediction.
            titles: optional N panel titles, written above the panels.
            ncols (int): panels per row.
            kpt_thr (float, optional): score threshold of drawn predicted joints
                (default ``self.kpt_thr``).
            title (str): a line above the grid.
            min_height (int): a drawn panel lower than this is enlarged by the
                smallest whole factor that reaches it (nearest neighbour: every drawn
                pixel becomes a block, so small model crops stay readable).

        Returns:
            uint8 RGB picture on white: panel i at row i // ncols, column i % ncols;
            every cell is as large as the largest (enlarged) panel, under a strip of
            ``GRID_TITLE_PX`` px, ``GRID_GAP_PX`` px apart, all under one more strip
            of ``GRID_TITLE_PX`` px when ``title`` is given. Nothing goes to the vis
            backends.
        """
        count = len(images)
        if count == 0 or len(data_samples) != count or (titles is not None
                                                       and len(titles) != count):
            raise ValueError(f'draw_grid needs as many data samples (and titles) as '
                             f'images, and at least one: got {count} images, '
                             f'{len(data_samples)} samples'
                             f'{"" if titles is None else f", {len(titles)} titles"}')
        if ncols < 1 or min_height < 1:
            raise ValueError(f'draw_grid needs ncols >= 1 and min_height >= 1, got '
                             f'{ncols} and {min_height}')
        thr = self.kpt_thr if kpt_thr is None else kpt_thr
        panels = []
        for image, sample in zip(images, data_samples):
            drawn = self._draw(image, sample, 'gt', thr)
            drawn = image if drawn is None else drawn
            over = self._draw(drawn, sample, 'pred', thr)
            panel = drawn.copy() if over is None else over
            factor = -(-min_height // panel.shape[0])
            panels.append(np.repeat(np.repeat(panel, factor, 0), factor, 1)
                          if factor > 1 else panel)
        ncols = min(ncols, count)
        nrows = -(-count // ncols)
        cell_h = max(p.shape[0] for p in panels)
        cell_w = max(p.shape[1] for p in panels)
        top = GRID_TITLE_PX if title else 0
        canvas = np.full((top + nrows * (GRID_TITLE_PX + cell_h + GRID_GAP_PX),
                          ncols * (cell_w + GRID_GAP_PX) - GRID_GAP_PX, 3), 255, np.uint8)
        if title:
            _put_text(canvas, title, 2, canvas.shape[1] - 4, GRID_TITLE_PX - 6)
        for i, panel in enumerate(panels):
            x0 = (i % ncols) * (cell_w + GRID_GAP_PX)
            y0 = top + (i // ncols) * (GRID_TITLE_PX + cell_h + GRID_GAP_PX) + GRID_TITLE_PX
            canvas[y0:y0 + panel.shape[0], x0:x0 + panel.shape[1]] = panel
            if titles is not None:
                _put_text(canvas, str(titles[i]), x0 + 2, cell_w - 4, y0 - 6)
        return canvas


def _put_text(canvas, text, x, width, baseline):
    """Write black ``text`` at (x, baseline) in place, shrunk to fit ``width`` px."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    text_width = cv2.getTextSize(text, font, scale, 1)[0][0]
    if text_width > width:
        scale = max(0.25, scale * width / text_width)
    cv2.putText(canvas, text, (x, baseline), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
