"""A generated multi-person video for the video-in-the-wild tests: synthetic bodies
(hpekit.datasets.synthetic) walking across the picture, with their true boxes, and a
COCO detection results file keyed by frame name (the detector of the tests)."""
import json

import cv2
import numpy as np

from hpekit.datasets.synthetic import mpii as body

SIZE = (160, 120)            # (W, H)
HEIGHT = 70.0                # standing height px


def render_people(num_frames=12, size=SIZE, starts=((35, 62), (118, 62)),
                  steps=((1.5, 0.0), (-1.5, 0.5)), seed=0):
    """(frames list of RGB uint8 [H, W, 3], boxes [T, P, 4] xyxy px): P people
    starting with their pelvis at ``starts`` and moving by ``steps`` px per frame."""
    rng = np.random.default_rng(seed)
    poses = body.sample_mpii_poses(rng, len(starts))
    background = body.make_background(size, rng)
    frames, boxes = [], []
    for t in range(num_frames):
        img, frame_boxes = background.copy(), []
        for p, (start, step) in enumerate(zip(starts, steps)):
            joints = poses[p] * HEIGHT + np.add(start, np.multiply(step, t))
            body.draw_person(img, joints, HEIGHT, np.random.default_rng(100 + p))
            low, high = body._extent(joints, HEIGHT)
            frame_boxes.append(np.concatenate([np.clip(low, 0, size), np.clip(high, 0, size)]))
        frames.append(img)
        boxes.append(frame_boxes)
    return frames, np.asarray(boxes, np.float64)


def write_video(path, frames, fps=10):
    """Write RGB frames as an mp4v video."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def write_detections(path, stem, boxes, empty_frames=()):
    """A COCO detection results JSON: the true boxes of every frame named
    ``<stem>_<t:06d>.jpg`` (the inferencer's frame names), none in ``empty_frames``."""
    records = [dict(image_id=f'{stem}_{t:06d}.jpg', category_id=1, score=0.9,
                    bbox=[x1, y1, x2 - x1, y2 - y1])
               for t, frame_boxes in enumerate(boxes) if t not in empty_frames
               for x1, y1, x2, y2 in frame_boxes.tolist()]
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(records, f)
    return str(path)
