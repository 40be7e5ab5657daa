"""Training-time pictures: predictions vs ground truth of a few val samples."""
import os
import os.path as osp
import tempfile

import cv2
import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.structures import InstanceData

from hpekit.core import affine_matrix, apply_affine
from hpekit.registry import HOOKS
from hpekit.structures import PoseDataSample
from hpekit.visualization import PoseLocalVisualizer, save_pose3d_grid


def _dataset_meta(runner, mode):
    """The parsed metainfo of the dataset the ``mode`` ('val' or 'test') loop runs."""
    loop = runner.test_loop if mode == 'test' else runner.val_loop
    dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
    if dataset is None or not hasattr(dataset, 'metainfo'):
        raise ValueError(f'PoseVisualizationHook: the {mode} loop has no dataset with '
                         'metainfo to draw skeletons from')
    return dataset.metainfo


def _numpy(value):
    """A tensor or array-like → numpy array (on the CPU)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _record_2d(inputs, sample):
    """One top-down sample → what its panel shows, in crop px (the model input).

    ``inputs``: uint8 [3, H, W] RGB crop; ``sample``: data sample with
    ``pred_keypoints``/``keypoint_scores``/``gt_keypoints``/``keypoints_visible`` (image
    px) and ``center``/``bbox_size``/``input_size`` metainfo (the test-time crop).

    Returns:
        dict: ``image`` uint8 [H, W, 3] RGB, ``sample`` a ``PoseDataSample`` with
        ``pred_instances`` (``keypoints`` [1, K, 2] crop px, ``keypoint_scores``
        [1, K]) and, with ground truth, ``gt_instances`` (``keypoints``,
        ``keypoints_visible``), and ``title``.
    """
    meta = sample.metainfo
    matrix = affine_matrix(meta['center'], meta['bbox_size'], meta['input_size'],
                           grid=meta.get('crop_grid', 'edges'))
    drawn = PoseDataSample(metainfo=dict(sample_idx=meta.get('sample_idx')))
    drawn.pred_instances = InstanceData(
        keypoints=apply_affine(_numpy(sample.pred_keypoints), matrix)[None],
        keypoint_scores=_numpy(sample.keypoint_scores)[None])
    if 'gt_keypoints' in sample:
        gt = apply_affine(_numpy(sample.gt_keypoints), matrix)
        visible = _numpy(sample.get('keypoints_visible', np.ones(len(gt))))
        drawn.gt_instances = InstanceData(keypoints=gt[None], keypoints_visible=visible[None])
    return dict(image=np.ascontiguousarray(_numpy(inputs).transpose(1, 2, 0)),
                sample=drawn, title=f'#{meta.get("sample_idx", "?")}')


def _record_3d(sample, frame):
    """One video sample → frame ``frame``'s predicted and GT joints [K, 3] (metres)."""
    pred = _numpy(sample.pred_joints_3d)[frame]
    gt = _numpy(sample.gt_joints_3d)[frame]
    error = np.linalg.norm(pred - gt, axis=-1).mean() * 1000.0
    return dict(pred=pred, gt=gt, title=f'#{sample.metainfo.get("sample_idx", "?")} '
                f'frame {frame}: {error:.0f} mm')


@HOOKS.register_module()
class PoseVisualizationHook(Hook):
    """After each validation, draw predictions vs ground truth of a few val samples.

    The first ``num_samples`` samples of the validation set (as rank 0 sees them; the
    val sampler does not shuffle, so they are the same at every evaluation) are kept
    from the validation outputs — no extra forward pass — and drawn into one PNG:

    - top-down 2D models: each model input crop with the predicted skeleton (the
      link colours of the dataset metainfo, black border; joints scoring below
      ``score_thr`` left out) over the ground truth (green, white border), drawn by
      ``PoseLocalVisualizer.draw_grid`` (small crops enlarged);
    - video 3D models: frame ``frame`` of each clip as a 3D plot, prediction (red)
      over ground truth (green), with its MPJPE in mm.

    The PNG is written to ``<work_dir>/<out_dir>/epoch_<E>.png`` (``iter_<I>.png`` for
    iteration-based runs) and handed to the runner's visualizer (``add_image(name,
    ..., step)``), i.e. to every configured vis backend: ``LocalVisBackend`` saves
    ``<log_dir>/vis_data/vis_image/<name>_<step>.png``; a ``TensorboardVisBackend``
    (``tools/train.py --tensorboard``) shows it in TensorBoard. Rank 0 only.

    Args:
        num_samples (int): samples drawn per evaluation.
        out_dir (str | None): folder under the work dir for the PNGs; None: only the
            visualizer backends get the picture.
        name (str): image name given to the visualizer.
        score_thr (float): 2D joints scoring below it are not drawn.
        frame (int): which frame of a clip to plot (video models).
        show_dir (str, optional): also draw every ``interval``-th validation and test
            sample (top-down models) to ``<show_dir>/<sample_idx>.png`` with the
            runner's ``PoseLocalVisualizer``: the model input crop, ground truth left
            and prediction right (``tools/train.py``/``test.py --show-dir``).
        interval (int): see ``show_dir``.
        show (bool): also draw each such sample in a window (``tools/test.py --show``;
            needs a display), ``wait_time`` seconds each (0: until a key).
        wait_time (float): see ``show``.
    """

    priority = 'LOW'

    def __init__(self, num_samples=4, out_dir='val_predictions', name='val_predictions',
                 score_thr=0.1, frame=0, show_dir=None, interval=1, show=False,
                 wait_time=1.0):
        if num_samples < 1 or frame < 0:
            raise ValueError(f'PoseVisualizationHook: need num_samples >= 1 and frame '
                             f'>= 0, got {num_samples} and {frame}')
        self.num_samples, self.out_dir, self.name = num_samples, out_dir, name
        self.score_thr, self.frame = score_thr, frame
        self.show_dir, self.interval = show_dir, max(int(interval), 1)
        self.show, self.wait_time = bool(show), float(wait_time)
        self._records = []
        self._shown = 0
        self._visualizer = None

    def before_val_epoch(self, runner):
        self._records = []
        self._shown = 0

    def before_test_epoch(self, runner):
        self._shown = 0

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        """Draw test samples to ``show_dir`` (when set)."""
        self._show(runner, data_batch, outputs, 'test')

    def _show(self, runner, data_batch, outputs, mode):
        """Every ``interval``-th top-down sample → ``<show_dir>/<sample_idx>.png``."""
        if not (self.show_dir or self.show) or not is_main_process() or not outputs:
            return
        visualizer = runner.visualizer
        if not isinstance(visualizer, PoseLocalVisualizer):
            visualizer = PoseLocalVisualizer.get_instance('hpekit_show_dir')
        if self.show_dir:
            os.makedirs(self.show_dir, exist_ok=True)
        inputs = (data_batch or {}).get('inputs')
        for index, sample in enumerate(outputs):
            self._shown += 1
            if 'pred_keypoints' not in sample or (self._shown - 1) % self.interval:
                continue
            if visualizer.dataset_meta is None:
                visualizer.set_dataset_meta(_dataset_meta(runner, mode))
            record = _record_2d(inputs[index], sample)
            idx = sample.metainfo.get('sample_idx', self._shown - 1)
            out_file = osp.join(self.show_dir, f'{idx}.png') if self.show_dir else None
            visualizer.add_datasample(str(idx), record['image'], record['sample'],
                                      kpt_thr=self.score_thr, show=self.show,
                                      wait_time=self.wait_time, out_file=out_file)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        """Keep the first ``num_samples`` samples' predictions and ground truth (and
        draw every ``interval``-th to ``show_dir`` when set)."""
        self._show(runner, data_batch, outputs, 'val')
        if not is_main_process() or not outputs or len(self._records) >= self.num_samples:
            return
        inputs = (data_batch or {}).get('inputs')
        for index, sample in enumerate(outputs[:self.num_samples - len(self._records)]):
            if 'pred_keypoints' in sample:
                self._records.append(_record_2d(inputs[index], sample))
            elif 'pred_joints_3d' in sample and 'gt_joints_3d' in sample:
                self._records.append(_record_3d(sample, self.frame))

    def after_val_epoch(self, runner, metrics=None):
        """Draw the kept samples, save the PNG and send it to the visualizer."""
        if not is_main_process() or not self._records:
            return
        by_epoch = getattr(runner.log_processor, 'by_epoch', True)
        step = runner.epoch if by_epoch else runner.iter
        filename = f'{"epoch" if by_epoch else "iter"}_{step}.png'
        with tempfile.TemporaryDirectory() as scratch:
            folder = osp.join(runner.work_dir, self.out_dir) if self.out_dir else scratch
            png = self.draw(runner.val_dataloader.dataset.metainfo,
                            osp.join(folder, filename))
            image = cv2.cvtColor(cv2.imread(png), cv2.COLOR_BGR2RGB)
        runner.visualizer.add_image(self.name, image, step=step)
        if self.out_dir:
            runner.logger.info(f'Validation predictions drawn to {png}')

    def draw(self, metainfo, png):
        """Render the kept samples to ``png`` with the dataset's parsed ``metainfo``
        (skeleton links and their colours); returns the path. 2D samples are drawn
        by ``PoseLocalVisualizer.draw_grid``, 3D ones by ``save_pose3d_grid``."""
        records = self._records
        titles = [r['title'] for r in records]
        if 'image' not in records[0]:
            return save_pose3d_grid([r['pred'] for r in records],
                                    [r['gt'] for r in records],
                                    metainfo['skeleton_links'], png, titles=titles)
        if self._visualizer is None:     # no vis backends: it only draws
            self._visualizer = PoseLocalVisualizer(name=f'pose_vis_hook_{id(self)}')
        self._visualizer.set_dataset_meta(metainfo)
        grid = self._visualizer.draw_grid(
            [r['image'] for r in records], [r['sample'] for r in records], titles=titles,
            ncols=len(records), kpt_thr=self.score_thr,
            title='prediction (colours of the dataset metainfo) over ground truth (green)')
        os.makedirs(osp.dirname(osp.abspath(png)), exist_ok=True)
        if not cv2.imwrite(png, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
            raise OSError(f'PoseVisualizationHook: cannot write {png}')
        return png
