"""Convert between Human3.6M in MMPose's layout and the course split's clip files.

    # layout → course split (videoframes_clips_*.npy, joint_3d_clips_*.npy)
    python tools/dataset_converters/h36m_course_split.py to-course \
        --data-root data/h36m_full --out data/h36m [--clip-len 8] [--stride 8]
        [--frame-interval 1] [--size 224] [--fps 50]
        [--train-subjects S1 S5 S6 S7 S8] [--valid-subjects S9 S11] [--max-clips N]
    # course split → layout (frames as JPEGs, npz files)
    python tools/dataset_converters/h36m_course_split.py from-course \
        --course data/h36m --out data/h36m_from_course [--fps 50] [--jpeg-quality 95]

How hpekit defines the course split (``to-course``): the 'train' files hold the
train subjects' sequences (``h36m_train.npz``; S1, S5, S6, S7, S8), the 'valid' files
the test subjects' (``h36m_test.npz``; S9, S11). Every sequence (subject, action,
subaction, camera) is cut into clips of ``--clip-len`` frames ``--frame-interval``
apart, a clip starting every ``--stride`` frames; clips that would run past the
sequence's end are dropped. Each frame is the person crop of ``H36MVideoDataset``
(the npz's center/scale, one affine) at ``--size`` px, RGB; joints are camera-frame
metres minus the pelvis. ``--max-clips`` keeps that many clips per split, evenly
spaced over the list (in sequence order). The original course files (5964 train and
1368 valid clips of 8 frames at 224 px) came without a record of how they were cut;
these options regenerate a split of that format and size from any Human3.6M copy
(e.g. ``--max-clips 5964`` for train) or extend it (more clips, other lengths).

``to-course`` also writes ``clip_index_{split}.npz`` (imgname [N, T], 2D joints in
crop px with visibility ``part`` [N, T, K, 3], pelvis position ``root_3d`` [N, T, 3]):
``from-course`` uses it to restore names and absolute joints. Without it (the
original course files), clip n of 'train' becomes sequence ``S1_Clip_<n>.00000000``
(``S9_…`` for 'valid'), with root-relative ``S`` and zero-visibility ``part``. Frames
are written as JPEGs with center/scale covering the whole crop, so ``to-course`` of
the result gives the clips back (up to JPEG loss).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

SPLITS = {'train': 'train', 'valid': 'test'}   # course split → npz split
SUBJECTS = {'train': ('S1', 'S5', 'S6', 'S7', 'S8'), 'valid': ('S9', 'S11')}


def _clip_dataset(data_root, split, fps, subjects, clip_len, stride, frame_interval, size):
    from hpekit.datasets.h36m_video import H36MVideoDataset
    from hpekit.datasets.transforms import LoadClipCrops
    return H36MVideoDataset(
        data_root, split=SPLITS[split], subjects=subjects, camera_param_file=None,
        ann_file=f'annotation_body3d/fps{fps}/h36m_{SPLITS[split]}.npz', seq_len=clip_len,
        seq_step=stride, frame_interval=frame_interval,
        pipeline=[LoadClipCrops(input_size=(size, size))])


def to_course(data_root, out, clip_len=8, stride=8, frame_interval=1, size=224, fps=50,
              subjects=None, max_clips=None, log=print):
    """Write the course split files from the layout under ``data_root`` (module doc).

    Returns:
        dict: split → number of clips written.
    """
    os.makedirs(out, exist_ok=True)
    counts = {}
    for split in SPLITS:
        chosen = tuple((subjects or {}).get(split) or SUBJECTS[split])
        dataset = _clip_dataset(data_root, split, fps, chosen, clip_len, stride,
                                frame_interval, size)
        rows = np.arange(len(dataset))
        if max_clips is not None and max_clips < len(rows):
            rows = np.unique(np.linspace(0, len(rows) - 1, max_clips).round().astype(int))
        num, k = len(rows), dataset.metainfo['num_keypoints']
        paths = {name: osp.join(out, f'{name}_{split}.npy')
                 for name in ('videoframes_clips', 'joint_3d_clips')}
        videos = np.lib.format.open_memmap(paths['videoframes_clips'] + '.part', mode='w+',
                                           dtype=np.uint8, shape=(num, clip_len, size, size, 3))
        joints = np.lib.format.open_memmap(paths['joint_3d_clips'] + '.part', mode='w+',
                                           dtype=np.float32, shape=(num, clip_len, k, 3))
        names = np.empty((num, clip_len), object)
        part = np.zeros((num, clip_len, k, 3), np.float32)
        roots = np.zeros((num, clip_len, 3), np.float32)
        for n, row in enumerate(rows):
            clip = dataset[int(row)]
            videos[n], joints[n], roots[n] = clip['frames'], clip['joints_3d'], clip['root_3d']
            names[n] = [osp.relpath(p, dataset.img_root).replace(os.sep, '/')
                        for p in clip['img_paths']]
            if 'keypoints_input' in clip:   # the npz has 2D joints ('part')
                part[n, ..., :2] = clip['keypoints_input']
                part[n, ..., 2] = clip['keypoints_visible']
        videos.flush()
        joints.flush()
        del videos, joints
        for path in paths.values():
            os.replace(path + '.part', path)
        np.savez(osp.join(out, f'clip_index_{split}.npz'),
                 imgname=names.astype(str) if num else np.zeros((0, clip_len), '<U1'),
                 part=part, root_3d=roots)
        counts[split] = num
        log(f'{split}: {num} clips of {clip_len} frames ({", ".join(chosen)}) → '
            f'{paths["videoframes_clips"]}')
    return counts


def _default_name(split, clip, t, step):
    subject = SUBJECTS[split][0]
    seq = f'{subject}_Clip_{clip + 1}.00000000'
    return f'{subject}/{seq}/{seq}_{t * step + 1:06d}.jpg'


def from_course(course, out, fps=50, quality=95, log=print):
    """Write the layout under ``out`` from the course files under ``course``.

    Returns:
        dict: split → number of frames written.
    """
    step = 50 // fps
    counts = {}
    for split, npz_split in SPLITS.items():
        video_file = osp.join(course, f'videoframes_clips_{split}.npy')
        joint_file = osp.join(course, f'joint_3d_clips_{split}.npy')
        if not (osp.isfile(video_file) and osp.isfile(joint_file)):
            log(f'{split}: no {osp.basename(video_file)} / {osp.basename(joint_file)}; '
                'skipped')
            continue
        videos = np.load(video_file, mmap_mode='r')
        joints = np.load(joint_file, mmap_mode='r')
        index_file = osp.join(course, f'clip_index_{split}.npz')
        index = dict(np.load(index_file, allow_pickle=False)) if osp.isfile(index_file) \
            else None
        num, frames, height, width = videos.shape[:4]
        fields = dict(imgname=[], center=[], scale=[], part=[], S=[])
        seen = set()
        for n in range(num):
            for t in range(frames):
                name = str(index['imgname'][n, t]) if index is not None else \
                    _default_name(split, n, t, step)
                if name in seen:      # overlapping clips repeat a frame: keep the first
                    continue
                seen.add(name)
                path = osp.join(out, 'images', name)
                os.makedirs(osp.dirname(path), exist_ok=True)
                cv2.imwrite(path, np.ascontiguousarray(videos[n, t][..., ::-1]),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
                joint = np.asarray(joints[n, t], np.float64)
                if index is not None:
                    joint = joint + index['root_3d'][n, t]
                    part = index['part'][n, t]
                else:
                    part = np.zeros((len(joint), 3))
                fields['imgname'].append(name)
                fields['center'].append([(width - 1) / 2.0, (height - 1) / 2.0])
                fields['scale'].append(max(width, height) / 200.0)
                fields['part'].append(part)
                fields['S'].append(np.concatenate([joint, np.ones((len(joint), 1))], axis=1))
        path = osp.join(out, 'annotation_body3d', f'fps{fps}', f'h36m_{npz_split}.npz')
        os.makedirs(osp.dirname(path), exist_ok=True)
        np.savez(path, **{k: np.asarray(v) for k, v in fields.items()})
        counts[split] = len(fields['imgname'])
        log(f'{split}: {counts[split]} frames → {path}')
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    to = sub.add_parser('to-course', help='layout → videoframes_clips_*.npy, joint_3d_clips_*.npy')
    to.add_argument('--data-root', required=True)
    to.add_argument('--out', required=True)
    to.add_argument('--clip-len', type=int, default=8)
    to.add_argument('--stride', type=int, default=8, help='frames between clip starts')
    to.add_argument('--frame-interval', type=int, default=1)
    to.add_argument('--size', type=int, default=224)
    to.add_argument('--fps', type=int, default=50, help='annotation_body3d/fps<N>')
    to.add_argument('--train-subjects', nargs='+', default=list(SUBJECTS['train']))
    to.add_argument('--valid-subjects', nargs='+', default=list(SUBJECTS['valid']))
    to.add_argument('--max-clips', type=int, help='clips per split, evenly spaced')
    back = sub.add_parser('from-course', help='course files → layout')
    back.add_argument('--course', required=True)
    back.add_argument('--out', required=True)
    back.add_argument('--fps', type=int, default=50)
    back.add_argument('--jpeg-quality', type=int, default=95)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.command == 'to-course':
        return to_course(args.data_root, args.out, args.clip_len, args.stride,
                         args.frame_interval, args.size, args.fps,
                         dict(train=args.train_subjects, valid=args.valid_subjects),
                         args.max_clips)
    return from_course(args.course, args.out, args.fps, args.jpeg_quality)


if __name__ == '__main__':
    sys.exit(main() and 0)
