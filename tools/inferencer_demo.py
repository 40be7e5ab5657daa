"""Video in the wild: detect, track, smooth and lift to 3D the people of a video, a
folder of frames or a webcam, in the shape of MMPose's ``demo/inferencer_demo.py``.

Usage:
    python tools/inferencer_demo.py INPUT --pose2d CONFIG [--pose2d-weights CKPT]
        [--pose3d CONFIG --pose3d-weights CKPT] [--det-model CONFIG --det-weights CKPT]
        [--det-cat-ids 0] [--det-interval 5] [--smooth one_euro|savgol|gaussian]
        [--smooth3d one_euro|savgol|gaussian]
        [--bbox-thr 0.3] [--nms-thr 0.3] [--kpt-thr 0.3] [--tracking-thr 0.3]
        [--vis-out-dir D] [--pred-out-dir D] [--show-progress] [--device cpu]
        [--precision auto|float32|bfloat16]
        [--max-frames N] [--fps FPS]

INPUT (or ``--input``): a video file, a folder of frames (sorted by name), or
``webcam`` (camera 0; ``webcam:N`` for camera N). ``--det-model`` (``--det`` for short)
is an MMDetection RTMDet config (with ``--det-weights``) or a COCO detection results
JSON whose ``image_id`` are the frame names (``<video stem>_<index 6 digits>.jpg`` for a
video); without it each frame is one person box. Writes:

- ``--pred-out-dir``: one JSON per frame (``<frame name>.json``): ``track_id``, ``bbox``
  (xyxy px), ``bbox_score``, ``keypoints`` (smoothed with ``--smooth``),
  ``keypoints_raw``, ``keypoint_scores`` and, with ``--pose3d``, ``keypoints_3d``
  (millimetres, camera frame, root-relative; stated in every file);
- ``--vis-out-dir``: ``<input stem>.mp4`` (OpenCV 'mp4v') with the 2D poses coloured by
  track id and, with ``--pose3d``, a 3D panel beside them; ``trajectories.png``: each
  track's keypoint x and y over time, raw (dashed) vs smoothed (solid).

A frame whose size differs from the first frame's is skipped (logged, counted, not in
the video; its JSON says why); a frame without people gets an empty JSON (logged,
counted). A missing or unreadable input, and a 3D model whose keypoints cannot be
formed from the 2D model's, stop the demo with an error before any frame is posed.
See docs/inference.md, "Video in the wild".
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
from mmengine.utils import ProgressBar

from hpekit.apis import PoseInferencer
from hpekit.apis.frames import (is_image_file, iter_frames, list_images, open_video,
                                video_info)
from hpekit.apis.inferencer import video_result_to_json
from hpekit.apis.model import TOOL_PRECISIONS, resolve_precision
from hpekit.core.smoothing import FILTER_SHORT_NAMES
from hpekit.fileio import write_json_atomic
from hpekit.visualization import (draw_tracked_poses, render_poses3d, save_track_trajectories,
                                  track_color)

DEFAULT_FPS = 25.0
MIN_PANEL = 240          # px: frames lower than this are scaled up in the output video
SPACING_MM = 1000.0      # the people of a frame stand this far apart in the 3D panel


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Tracked, smoothed 2D (and 3D) poses of '
                                     'the people of a video, a folder of frames or a webcam.')
    parser.add_argument('inputs', nargs='?', help="video file, folder of frames or 'webcam'")
    parser.add_argument('--input', dest='input_flag', help='the same as INPUT')
    parser.add_argument('--pose2d', required=True, help='top-down 2D model config')
    parser.add_argument('--pose2d-weights', help='its checkpoint')
    parser.add_argument('--pose3d', help='lifting model config (2D → 3D)')
    parser.add_argument('--pose3d-weights', help='its checkpoint')
    parser.add_argument('--det-model', '--det', dest='det_model',
                        help='MMDetection RTMDet config, or a COCO detection results JSON '
                        'keyed by frame name (default: the whole frame is one person)')
    parser.add_argument('--det-weights', help='the detector\'s checkpoint')
    parser.add_argument('--det-cat-ids', type=int, nargs='+', default=[0],
                        help='the detector\'s person class (default 0)')
    parser.add_argument('--det-interval', type=int, default=1,
                        help='run the detector every N frames; the frames between take '
                        'their boxes from the tracked poses (default 1)')
    parser.add_argument('--smooth', choices=sorted(FILTER_SHORT_NAMES),
                        help='smoothing filter per track (a webcam takes one_euro only)')
    parser.add_argument('--smooth3d', choices=sorted(FILTER_SHORT_NAMES),
                        help='smoothing filter of each track\'s 3D joints after lifting '
                        '(with --pose3d; a webcam takes one_euro only)')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--precision', choices=TOOL_PRECISIONS, default='auto',
                        help="the 2D model's precision (the lifter runs in float32); "
                        'bfloat16: its network under bfloat16 autocast, decoding in '
                        'float32; auto (default): bfloat16 on a CPU with native bfloat16 '
                        '(avx512_bf16 or AMX; one log line says so), else float32')
    parser.add_argument('--bbox-thr', type=float, default=0.3,
                        help='detector score threshold (default 0.3)')
    parser.add_argument('--nms-thr', type=float, default=0.3,
                        help='IoU threshold of the detector\'s NMS (default 0.3)')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='keypoint score threshold of the drawing and of the boxes '
                        'made from poses (default 0.3)')
    parser.add_argument('--tracking-thr', type=float, default=0.3,
                        help='lowest IoU/OKS similarity of a track match (default 0.3)')
    parser.add_argument('--vis-out-dir', default='', help='folder of the video and plot')
    parser.add_argument('--pred-out-dir', default='', help='folder of the per-frame JSONs')
    parser.add_argument('--show-progress', action='store_true',
                        help='progress bars with frames/s')
    parser.add_argument('--max-frames', type=int, help='stop after this many frames')
    parser.add_argument('--fps', type=float,
                        help='output frame rate (default: the video\'s, else 25)')
    args = parser.parse_args(argv)
    if (args.inputs is None) == (args.input_flag is None):
        parser.error('give the input once: INPUT or --input')
    args.inputs = args.inputs or args.input_flag
    if args.pose3d_weights and not args.pose3d:
        parser.error('--pose3d-weights needs --pose3d')
    if args.det_interval < 1:
        parser.error('--det-interval must be >= 1')
    if not (args.vis_out_dir or args.pred_out_dir):
        parser.error('give --vis-out-dir and/or --pred-out-dir')
    return args


def resolve_input(text):
    """(source for the inferencer, output stem, kind 'webcam' | 'video' | 'folder').

    Raises:
        FileNotFoundError: no such file or folder. OSError: a file OpenCV cannot decode
            as a video. Both name the path.
    """
    if text == 'webcam' or text.startswith('webcam:'):
        index = text.partition(':')[2] or '0'
        if not index.isdigit():
            raise ValueError(f"{text}: a webcam is 'webcam' or 'webcam:N' (N a camera index)")
        return int(index), 'webcam', 'webcam'
    stem = osp.splitext(osp.basename(osp.normpath(text)))[0]
    if osp.isdir(text):
        list_images(text)                      # a folder without images fails here
        return text, stem, 'folder'
    if not osp.isfile(text):
        raise FileNotFoundError(f'input not found: {text} (expected a video file, a folder '
                                "of frames or 'webcam')")
    if is_image_file(text):
        raise ValueError(f'{text}: a single image; give a video, a folder of frames or '
                         'a webcam (tools/demo.py draws images)')
    open_video(text).release()                 # unreadable → OSError naming the file
    return text, stem, 'video'


class VideoSink:
    """RGB frames → an MP4 file ('mp4v') written under a temporary name and moved onto
    ``path`` by ``close`` (no half-written video under ``path``)."""

    def __init__(self, path, fps):
        self.path, self.fps, self.writer, self.count = path, fps, None, 0
        self.tmp = osp.join(osp.dirname(osp.abspath(path)), f'.{osp.basename(path)}.tmp.mp4')

    def write(self, frame_rgb):
        if self.writer is None:
            os.makedirs(osp.dirname(self.tmp), exist_ok=True)
            self.size = (frame_rgb.shape[1], frame_rgb.shape[0])
            self.writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*'mp4v'),
                                          self.fps, self.size)
            if not self.writer.isOpened():
                raise OSError(f'cannot write video {self.path} (no mp4v encoder?)')
        self.writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        self.count += 1

    def close(self, keep=True):
        """Finish the file; move it onto ``path`` when ``keep``, else delete it."""
        if self.writer is None:
            return
        self.writer.release()
        if keep:
            os.replace(self.tmp, self.path)
        elif osp.exists(self.tmp):
            os.remove(self.tmp)


def compose(frame, result, inferencer, kpt_thr):
    """The output picture of a frame: its poses coloured by track and, with a lifter,
    the 3D panel beside it (the people side by side, left to right as in the frame)."""
    meta2d = inferencer.model.dataset_meta
    drawn = draw_tracked_poses(frame, result['instances'], meta2d['skeleton_links'], kpt_thr)
    height, width = drawn.shape[:2]
    panel = max(height, MIN_PANEL)
    if panel != height:
        drawn = cv2.resize(drawn, (round(width * panel / height), panel))
    if inferencer.lifter is None:
        return drawn
    people = sorted((p for p in result['instances'] if 'keypoints_3d' in p),
                    key=lambda p: p['bbox'][0] + p['bbox'][2])
    poses = [p['keypoints_3d'] + [i * SPACING_MM, 0, 0] for i, p in enumerate(people)]
    plot = render_poses3d(poses, [track_color(p['track_id']) for p in people],
                          inferencer.lifter.dataset_meta['skeleton_links'],
                          size=(panel, panel), half_range=SPACING_MM * (len(poses) + 1) / 2,
                          title=f'frame {result["index"]} (mm)')
    return np.concatenate([drawn, plot], axis=1)


def write_outputs(pairs, inferencer, args, stem, fps, bar):
    """For each (result, RGB frame) pair write the result's JSON and (with
    ``--vis-out-dir``) its picture; return the tracks' trajectories {id: dict(frames,
    raw, smoothed)} and the video's frame count."""
    sink = VideoSink(osp.join(args.vis_out_dir, f'{stem}.mp4'), fps) \
        if args.vis_out_dir else None
    tracks, ok = {}, False
    try:
        for result, frame in pairs:
            if args.pred_out_dir:
                write_json_atomic(osp.join(args.pred_out_dir,
                                           osp.splitext(result['name'])[0] + '.json'),
                                  video_result_to_json(result))
            for person in result['instances']:
                track = tracks.setdefault(person['track_id'], dict(frames=[], raw=[],
                                                                   smoothed=[]))
                track['frames'].append(result['index'])
                track['raw'].append(person['keypoints_raw'])
                track['smoothed'].append(person['keypoints'])
            if sink and result['skipped'] is None:
                sink.write(compose(frame, result, inferencer, args.kpt_thr))
            bar and bar.update()
        ok = True
    finally:
        if sink:
            sink.close(keep=ok)
    return tracks, sink.count if sink else 0


def main(argv=None):
    args = parse_args(argv)
    try:
        source, stem, kind = resolve_input(args.inputs)
    except (OSError, ValueError) as err:
        raise SystemExit(f'error: {err}') from None
    try:
        inferencer = PoseInferencer(
            pose2d=args.pose2d, pose2d_weights=args.pose2d_weights, pose3d=args.pose3d,
            pose3d_weights=args.pose3d_weights, det_model=args.det_model,
            det_weights=args.det_weights, det_cat_ids=args.det_cat_ids,
            bbox_thr=args.bbox_thr, nms_thr=args.nms_thr, kpt_thr=args.kpt_thr,
            tracker=dict(min_similarity=args.tracking_thr), smooth=args.smooth,
            smooth3d=args.smooth3d,
            det_interval=args.det_interval, device=args.device,
            precision=resolve_precision(args.precision, args.device))
        online = kind == 'webcam'
        fps = args.fps or (video_info(source)[0] if kind == 'video' else DEFAULT_FPS)
        posing = ProgressBar(0) if args.show_progress else None
        results = inferencer.track_video(source, online=online, max_frames=args.max_frames,
                                         on_frame=posing and posing.update)
    except ValueError as err:
        raise SystemExit(f'error: {err}') from None
    if online:      # each result comes with its frame, as the camera gives it
        pairs, writing = ((r, r.pop('frame')) for r in results), None
    else:           # read again for the drawing: the results hold no frames
        results = list(results)
        frames = iter_frames(source) if args.vis_out_dir else (None for _ in results)
        pairs = zip(results, frames)
        writing = ProgressBar(len(results)) if args.show_progress else None
    tracks, written = write_outputs(pairs, inferencer, args, stem, fps, writing)
    if args.vis_out_dir and tracks:
        save_track_trajectories({k: dict(frames=v['frames'], raw=np.stack(v['raw']),
                                         smoothed=np.stack(v['smoothed'])
                                         if args.smooth else None)
                                 for k, v in tracks.items()},
                                osp.join(args.vis_out_dir, 'trajectories.png'),
                                title=f'{stem}: keypoint trajectories per track')
    counts = inferencer.video_counts
    print(f'\n{counts["frames"]} frames: {counts["frames"] - counts["skipped_frames"]} '
          f'posed, {counts["skipped_frames"]} skipped (size differs from the first '
          f'frame\'s), {counts["empty_frames"]} without people; detector run on '
          f'{counts["detector_runs"]}; {len(tracks)} tracks; {written} frames in the video')
    if not tracks:
        print('warning: no person was found in any frame: no trajectory plot',
              file=sys.stderr)
    return dict(counts, tracks=sorted(tracks), video_frames=written)


if __name__ == '__main__':
    main()
