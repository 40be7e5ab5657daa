"""Run a model on your own images or video and write annotated pictures / an MP4.

Usage:
    python tools/demo.py CONFIG CHECKPOINT INPUT --out OUT [--device cpu]
        [--backend pytorch|onnxruntime|openvino] [--precision auto|float32|bfloat16]
        [--bbox X1 Y1 X2 Y2 ...] [--score-thr 0.2] [--fps FPS] [--panel-size 360]
        [--cfg-options key=value ...] [--allow-nonfinite-weights] [--allow-partial]

Any estimator whose spec's task is 'topdown2d' (MPII hourglass, SimpleBaseline, a
plugin) draws the skeleton with ``PoseLocalVisualizer`` in the colours of the dataset
metainfo (joints scoring below ``--score-thr`` left out) on
- an image file → the annotated image ``OUT`` (.jpg/.png);
- a folder of images → ``OUT/`` with one annotated image per input, same names;
- a video file → the annotated video ``OUT`` (.mp4).
The person box is the whole image (frame) unless ``--bbox`` gives boxes (xyxy px,
image spanning [0, W] × [0, H]; repeat the flag for several people, the same boxes
for every image); see ``hpekit.apis.inference_topdown``. A box partly outside the image
is kept (the crop pads the rest); a box wholly outside an image is skipped for it, and
the summary warns how many boxes were skipped and why.

Models of task 'video3d' take a video file or a folder of frames and write ``OUT`` (.mp4):
each frame (scaled to ``--panel-size`` px high) beside a 3D plot of its predicted
skeleton (axes fixed over the whole clip). Frames are resized to the model's input
size without cropping, so give person-centred footage; see
``hpekit.apis.inference_video3d``.

``--precision bfloat16`` runs the network under bfloat16 autocast (channels-last) and
decodes its outputs in float32 (``hpekit.apis.model.set_precision``); it needs
``--backend pytorch`` (or ``openvino`` on a CPU with native bfloat16). Only CPUs with
native bfloat16 (``avx512_bf16`` or AMX) and GPUs gain from it; elsewhere it is
emulated and slower (docs/benchmarks.md). The default,
``--precision auto``, picks bfloat16 on a CPU with native bfloat16 (one log line says
so; ``--precision float32`` turns it off) and float32 everywhere else
(``hpekit.apis.model.resolve_precision``).

MP4 files are written with OpenCV's 'mp4v' codec at the input video's frame rate
(``--fps`` for folders or to override; 25 by default). Progress bars show on inputs of
more than one frame.

A video that decodes fewer frames than its header declares (a truncated or damaged
file) gives an output of the decoded frames, a warning with both counts, and exit
status 1, unless ``--allow-partial`` accepts the partial output (status 0, the warning
stays).
"""
if __name__ == '__main__':   # first: re-run once under the tuned allocator (hpekit.runtime.allocator)
    from hpekit.runtime.allocator import tune_allocator
    tune_allocator()

import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from hpekit.apis import (inference_topdown, inference_video3d, init_model, merge_data_samples,
                         stack_keypoints)
from hpekit.apis.exported import BACKENDS
from hpekit.apis.frames import (is_image_file, iter_frames, list_images, missing_frames_message,
                                read_image, video_info)
from hpekit.apis.model import TOOL_PRECISIONS, check_precision, resolve_precision
from hpekit.core.boxes import boxes_overlap_image, check_bboxes
from hpekit.models.estimators import TASK_TOPDOWN, TASK_VIDEO3D
from hpekit.visualization import PoseLocalVisualizer, render_pose3d

DEFAULT_FPS = 25.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Annotate images or a video with the '
                                     'poses a model predicts.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='image file, folder of images, or video file')
    parser.add_argument('--out', required=True, help='output image, folder or .mp4')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='onnxruntime, openvino: export the model once (cached next to '
                        'the checkpoint, keyed by its hash and the config) and run the '
                        'graph with ONNX Runtime or OpenVINO (CPU); same predictions, '
                        'decoded by the same code')
    parser.add_argument('--precision', choices=TOOL_PRECISIONS, default='auto',
                        help='bfloat16: the network under bfloat16 autocast, decoding in '
                        'float32 (--backend pytorch, or openvino on a CPU with native '
                        'bfloat16; faster only there or on a GPU); auto (default): bfloat16 on a CPU '
                        'with native bfloat16 (avx512_bf16 or AMX; one log line says so), '
                        'else float32')
    parser.add_argument('--bbox', type=float, nargs=4, action='append',
                        metavar=('X1', 'Y1', 'X2', 'Y2'), help='person box for 2D models, '
                        'repeat for several people (default: the whole image)')
    parser.add_argument('--score-thr', type=float, default=0.2,
                        help='2D joints scoring below are not drawn (default 0.2)')
    parser.add_argument('--fps', type=float, help='frame rate of the output video '
                        '(default: the input video\'s, else 25)')
    parser.add_argument('--panel-size', type=int, default=360,
                        help='height in px of each panel of a 3D demo video (default 360)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. model.test_cfg.flip_test=False')
    parser.add_argument('--allow-nonfinite-weights', action='store_true',
                        help='run a checkpoint whose weights hold NaN/Inf (a warning '
                        'instead of an error; for debugging: its predictions are NaN)')
    parser.add_argument('--allow-partial', action='store_true',
                        help='accept a video that decodes fewer frames than its header '
                        'declares (truncated): write what decodes, warn, exit 0 '
                        '(default: the same output and warning, exit status 1)')
    args = parser.parse_args(argv)
    if args.panel_size < 64:
        parser.error('--panel-size must be >= 64')
    if args.precision != 'auto':
        try:
            check_precision(args.precision, args.backend)
        except ValueError as err:
            parser.error(f'--precision {args.precision} with --backend {args.backend}: {err}')
    return args


# ------------------------------------------------------------------- inputs/outputs
def input_kind(path):
    """'folder', 'image' or 'video' for an existing input path."""
    if osp.isdir(path):
        return 'folder'
    if not osp.isfile(path):
        raise FileNotFoundError(f'input not found: {path} (expected an image file, a '
                                'folder of images or a video file)')
    return 'image' if is_image_file(path) else 'video'


def check_output(kind, task, out, args_bbox=None):
    """Raise ValueError unless ``out`` (and ``--bbox``) suit the input kind and the
    model's task."""
    if task == 'video3d' and args_bbox:
        raise ValueError('--bbox applies to top-down 2D models; a video 3D model takes '
                         'whole, person-centred frames')
    if task == 'video3d' and kind == 'image':
        raise ValueError('a video 3D model needs a video file or a folder of frames, '
                         'not a single image')
    if kind == 'image' and task == 'topdown2d' and not is_image_file(out):
        raise ValueError(f'--out {out}: an image input needs an image file name '
                         '(.jpg, .png, ...)')
    if (kind == 'video' or task == 'video3d') and not out.lower().endswith('.mp4'):
        raise ValueError(f'--out {out}: a video output needs a .mp4 file name')
    if kind == 'folder' and task == 'topdown2d' and osp.isfile(out):
        raise ValueError(f'--out {out}: a folder input needs an output folder, and '
                         'this is a file')


def letterbox(frame, width, height):
    """``frame`` scaled to fit (width, height), centred on black: uint8 [height, width, 3]."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top:top + new_h, left:left + new_w] = cv2.resize(
        frame, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return out


class Mp4Writer:
    """Write RGB frames to an MP4 file ('mp4v'); the size is the first frame's, and a
    frame of another size is letterboxed into it (never dropped)."""

    def __init__(self, path, fps):
        self.path, self.fps, self.writer = path, fps, None

    def write(self, frame_rgb):
        if self.writer is None:
            os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
            height, width = frame_rgb.shape[:2]
            self.size = (width, height)
            self.writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*'mp4v'),
                                          self.fps, self.size)
            if not self.writer.isOpened():
                raise OSError(f'cannot write video {self.path} (OpenCV has no mp4v '
                              'encoder here?)')
        if frame_rgb.shape[:2] != self.size[::-1]:
            frame_rgb = letterbox(frame_rgb, *self.size)
        self.writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self):
        if self.writer is not None:
            self.writer.release()


def write_image(path, image_rgb):
    """Save an RGB image (parent folders are created)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write image {path}')


def progress(total):
    """A progress bar for more than one item, else None."""
    return ProgressBar(total) if total > 1 else None


# ----------------------------------------------------------------------- 2D models
def annotate(visualizer, model, image, args, counts):
    """RGB image → the image with every predicted skeleton drawn on it by
    ``visualizer`` (a ``PoseLocalVisualizer`` with the model's metainfo); adds the
    numbers of joints drawn and predicted, and of ``--bbox`` boxes skipped (wholly
    outside this image) and given, to ``counts`` ([drawn, predicted, skipped, given])."""
    bboxes = args.bbox
    if bboxes:
        boxes = check_bboxes(bboxes)
        inside = boxes_overlap_image(boxes, image.shape[1], image.shape[0])
        counts[2] += int(np.sum(~inside))
        counts[3] += len(boxes)
        bboxes = boxes[inside]
    samples = inference_topdown(model, image, bboxes=bboxes, channel_order='rgb')   # read as RGB
    for sample in samples:
        scores = sample.pred_instances.keypoint_scores[0]
        counts[0] += int(np.sum(scores >= args.score_thr))
        counts[1] += len(scores)
    return visualizer.add_datasample('demo', image, merge_data_samples(samples),
                                     draw_gt=False, kpt_thr=args.score_thr)


def report_counts(counts, score_thr):
    """Print how many joints passed ``--score-thr``; warn when none did, and when
    ``--bbox`` boxes were skipped for lying wholly outside the image."""
    drawn, total = counts[:2]
    skipped, given = (counts[2:4] + [0, 0])[:2]
    if skipped:
        print(f'warning: skipped {skipped} of {given} --bbox boxes (counted over every '
              'image / frame) that lie wholly outside the image: no pose was predicted '
              'or drawn for them', file=sys.stderr)
    print(f'\n{drawn} of {total} predicted joints scored >= --score-thr {score_thr:g} '
          'and were drawn')
    if total and not drawn:
        print(f'warning: no joint passed --score-thr {score_thr:g}: the output shows no '
              'skeleton (lower --score-thr, or check the checkpoint and the person box)',
              file=sys.stderr)


def demo_topdown(model, kind, args):
    """Annotate an image, every image of a folder, or every frame of a video."""
    counts = [0, 0, 0, 0]
    try:
        return _demo_topdown(model, kind, args, counts)
    finally:
        report_counts(counts, args.score_thr)


def _demo_topdown(model, kind, args, counts):
    visualizer = PoseLocalVisualizer(name=f'hpekit_demo_{id(counts)}')   # no backends
    visualizer.set_dataset_meta(model.dataset_meta)
    if kind == 'image':
        write_image(args.out, annotate(visualizer, model, read_image(args.input), args,
                                       counts))
        return args.out
    if kind == 'folder':
        paths = list_images(args.input)
        bar = progress(len(paths))
        for path in paths:
            write_image(osp.join(args.out, osp.basename(path)),
                        annotate(visualizer, model, read_image(path), args, counts))
            bar and bar.update()
        return args.out
    fps, count = video_info(args.input)
    writer, bar = Mp4Writer(args.out, args.fps or fps), progress(count)
    decoded = 0
    try:
        for frame in iter_frames(args.input):
            writer.write(annotate(visualizer, model, frame, args, counts))
            decoded += 1
            bar and bar.update()
    finally:
        writer.close()
    check_frame_count(args, count, decoded)
    return args.out


def check_frame_count(args, declared, decoded):
    """Print how many of the video's declared frames were decoded and written; when
    some are missing, warn, and exit with status 1 unless ``--allow-partial``."""
    if declared:
        print(f'\n{decoded} of {declared} frames (as the header declares) decoded and '
              f'written to {args.out}')
    message = missing_frames_message(args.input, declared, decoded)
    if message is None:
        return
    if not args.allow_partial:
        raise SystemExit(f'error: {message}; {args.out} holds only the {decoded} decoded '
                         'frames (pass --allow-partial to accept a partial output)')
    print(f'warning: {message}; {args.out} holds only the {decoded} decoded frames '
          '(--allow-partial)', file=sys.stderr)


# ----------------------------------------------------------------------- 3D models
def side_by_side(frame, joints_mm, bounds, meta, panel, title):
    """A frame scaled to ``panel`` px high beside the 3D plot of its pose."""
    height, width = frame.shape[:2]
    shrink = cv2.INTER_AREA if height > panel else cv2.INTER_LINEAR
    scaled = cv2.resize(frame, (max(1, round(width * panel / height)), panel),
                        interpolation=shrink)
    plot = render_pose3d(joints_mm, meta['skeleton_links'], size=(panel, panel), bounds=bounds,
                         title=title)
    return np.concatenate([scaled, plot], axis=1)


def demo_video3d(model, kind, args):
    """Predict 3D joints for every frame, then write frames beside their 3D plots."""
    joints = stack_keypoints(inference_video3d(model, args.input))     # [T, K, 3] mm
    fps = args.fps or (video_info(args.input)[0] if kind == 'video' else DEFAULT_FPS)
    writer, bar = Mp4Writer(args.out, fps), progress(len(joints))
    bounds = joints.reshape(-1, 3)
    try:
        for t, frame in enumerate(iter_frames(args.input)):
            if t >= len(joints):
                break
            writer.write(side_by_side(frame, joints[t], bounds, model.dataset_meta,
                                      args.panel_size, f'frame {t} (mm)'))
            bar and bar.update()
    finally:
        writer.close()
    if kind == 'video':
        check_frame_count(args, video_info(args.input)[1], len(joints))
    return args.out


def main(argv=None):
    args = parse_args(argv)
    kind = input_kind(args.input)
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=args.cfg_options, backend=args.backend,
                       allow_nonfinite=args.allow_nonfinite_weights,
                       precision=resolve_precision(args.precision, args.device,
                                                   args.backend))
    task = model.spec.task
    if task not in (TASK_TOPDOWN, TASK_VIDEO3D):
        raise SystemExit(f'{args.config}: the demo draws {TASK_TOPDOWN} and {TASK_VIDEO3D} '
                         f"models; this model's task is {task!r}")
    check_output(kind, task, args.out, args.bbox)
    out = (demo_topdown if task == TASK_TOPDOWN else demo_video3d)(model, kind, args)
    print(f'\nwrote {out}')
    return out


if __name__ == '__main__':
    main()
