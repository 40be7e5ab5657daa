"""The whole video pipeline's speed: ``tools/benchmark.py video POSE2D_CONFIG --det
DET_CONFIG [--pose3d CONFIG] [--people 1,3] [--det-interval 1,5] [--frames 40]``.

For each number of people and each detector interval, a synthetic video (``--size``
W×H, people walking across it, drawn by hpekit's synthetic MPII bodies) goes through
``PoseInferencer.track_video`` offline: detection, the top-down 2D model per person,
tracking, One-Euro smoothing per track and, with ``--pose3d``, lifting per track. The
wall time of the whole stream gives frames/s (one warm-up pass of 3 frames first).

The detector is run on every frame it is asked for (its full cost), but the boxes it
returns are the video's true ones: with random weights (no download here) an RTMDet
finds nobody, and the person count is what the arm measures. For the same reason
the keypoint threshold is 0, so the boxes proposed from poses between detector runs
never fall back to the detector.
"""
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from hpekit.apis import PoseInferencer
from hpekit.apis.detectors import RTMDetPersonDetector
from hpekit.datasets.synthetic import mpii as body

HEIGHT_FRACTION = 0.6        # a person's standing height, of the frame height


def render_people(num_people: int, num_frames: int, size=(640, 480),
                  seed: int = 0):
    """(frames: RGB uint8 [H, W, 3] list, boxes float [T, P, 4] xyxy px): ``num_people``
    bodies spread across the frame, each walking 2 px per frame."""
    rng = np.random.default_rng(seed)
    width, height = size
    tall = HEIGHT_FRACTION * height
    poses = body.sample_mpii_poses(rng, num_people)
    background = body.make_background(size, rng)
    starts = [((p + 0.5) * width / num_people, 0.55 * height) for p in range(num_people)]
    frames, boxes = [], []
    for t in range(num_frames):
        img, frame_boxes = background.copy(), []
        for p, start in enumerate(starts):
            joints = poses[p] * tall + np.add(start, (2.0 * t * (-1) ** p, 0.0))
            body.draw_person(img, joints, tall, np.random.default_rng(100 + p))
            low, high = body._extent(joints, tall)
            frame_boxes.append(np.concatenate([np.clip(low, 0, size),
                                               np.clip(high, 0, size)]))
        frames.append(img)
        boxes.append(frame_boxes)
    return frames, np.asarray(boxes, np.float64)


def write_video(path: str, frames: Sequence[np.ndarray], fps: int = 25) -> None:
    """RGB frames → an mp4v file."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


class KnownBoxesDetector:
    """Runs ``detector`` (for its cost) and returns the video's true boxes of the frame
    (named ``<stem>_<t:06d>.jpg`` by the inferencer); counts its runs."""

    def __init__(self, detector, boxes: np.ndarray) -> None:
        self.detector, self.boxes, self.runs = detector, boxes, 0

    def __call__(self, image: np.ndarray, name: Optional[str] = None):
        self.runs += 1
        if self.detector is not None:
            self.detector(image, name)
        index = int(osp.splitext(name or '')[0].rsplit('_', 1)[-1])
        return self.boxes[index].copy(), np.full(len(self.boxes[index]), 0.9)


def time_arm(pose2d: str, pose3d: Optional[str], detector, video: str, boxes: np.ndarray,
             det_interval: int, backend: str) -> Dict[str, float]:
    """Frames/s of ``track_video`` over ``video`` (one warm-up pass of 3 frames first)."""
    known = KnownBoxesDetector(detector, boxes)
    inferencer = PoseInferencer(pose2d=pose2d, pose3d=pose3d, detector=known,
                                det_interval=det_interval, smooth='one_euro', kpt_thr=0.0,
                                backend=backend)
    list(inferencer.track_video(video, max_frames=3))
    known.runs = 0
    start = time.perf_counter()
    results = list(inferencer.track_video(video))
    seconds = time.perf_counter() - start
    people = sum(len(r['instances']) for r in results)
    return dict(frames=len(results), seconds=seconds, fps=len(results) / seconds,
                detector_runs=known.runs, people_per_frame=people / max(len(results), 1))


def run_video(pose2d: str, det: Optional[str], det_weights: Optional[str],
              pose3d: Optional[str], people: Sequence[int], intervals: Sequence[int],
              frames: int, size=(640, 480), backend: str = 'pytorch') -> dict:
    """Every (people, det_interval) arm; returns dict(arms=[...], settings)."""
    detector = RTMDetPersonDetector(det, det_weights) if det else None
    arms: List[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in people:
            clip, boxes = render_people(count, frames, size)
            video = osp.join(tmp, f'people{count}.mp4')
            write_video(video, clip)
            for interval in intervals:
                arm = time_arm(pose2d, pose3d, detector, video, boxes, interval, backend)
                arms.append(dict(people=count, det_interval=interval, **arm))
    return dict(mode='video', pose2d=pose2d, det=det, pose3d=pose3d, backend=backend,
                size=list(size), arms=arms)


def format_video(result: dict) -> str:
    """A Markdown table of the arms."""
    lines = [f"video pipeline: 2D {result['pose2d']}, detector {result['det'] or 'none'}, "
             f"3D {result['pose3d'] or 'none'}, {result['size'][0]}×{result['size'][1]}, "
             f"backend {result['backend']}",
             '', '| people | detector every | frames/s | ms/frame | detector runs | frames |',
             '|---:|---:|---:|---:|---:|---:|']
    for arm in result['arms']:
        lines.append(f"| {arm['people']} | {arm['det_interval']} | {arm['fps']:.2f} | "
                     f"{1000 / arm['fps']:.0f} | {arm['detector_runs']} | {arm['frames']} |")
    return '\n'.join(lines)
