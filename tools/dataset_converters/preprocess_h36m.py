"""Convert the official Human3.6M release into MMPose's preprocessed layout.

    python tools/dataset_converters/preprocess_h36m.py --original H36M --out data/h36m_full
        [--fps 50] [--train-subjects S1 S5 S6 S7 S8] [--test-subjects S9 S11]
        [--cameras-file cameras.pkl] [--jpeg-quality 95] [--skip-existing-frames]

Input (the release's archives extracted, one folder per subject)::

    H36M/S1/Videos/Directions 1.54138969.mp4
    H36M/S1/MyPoseFeatures/D3_Positions_mono/Directions 1.54138969.cdf  (required)
    H36M/S1/MyPoseFeatures/D2_Positions/Directions 1.54138969.cdf       (2D joints)
    H36M/S1/MyPoseFeatures/D3_Positions/Directions 1.cdf                (world joints)

Output (what ``H36MVideoDataset`` and ``H36MLiftingDataset`` read)::

    images/S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg
    annotation_body3d/fps<fps>/h36m_train.npz, h36m_test.npz  (imgname, center, scale,
                                                              part, S)
    annotation_body3d/cameras.pkl

What is computed: every ``50 / fps``-th frame of each video (frame numbers in the
names are the video's, 1-based, as MMPose's converter writes them); the 17 joints
of the Human3.6M metainfo from the release's 32; ``S`` = D3_Positions_mono / 1000
(camera-frame metres) with visibility 1; ``part`` = D2_Positions (px) with
visibility 1, or, without those files, the projection of ``S`` through the
``--cameras-file`` intrinsics; ``center``/``scale`` = the 2D joints' box with a 1.2
margin (box side = scale × 200 px, as MMPose's converter). ``cameras.pkl``: the
``--cameras-file`` given (checked, numpy arrays only), else fitted from the data:
focal length and principal point by least squares from the 2D and camera-frame 3D
joints, rotation and centre (R, T: ``X_cam = R (X_world − T)``) by a rigid
(Kabsch) fit of D3_Positions to D3_Positions_mono, distortion zero (the fit ignores
lens distortion: a few pixels at the frame border); 'w', 'h' from the videos.

CDF files are read with ``cdflib`` (``pip install cdflib``, the ``h36m`` extra).
Sequences whose name contains '_ALL' are skipped, as everyone does.
"""
import argparse
import glob
import os
import os.path as osp
import pickle
import sys

import cv2
import numpy as np

from hpekit.core.boxes import size_to_scale
from hpekit.core.camera import project

# Indices of the 17 joints of configs/_base_/datasets/h36m.py among the release's 32.
H36M_32_TO_17 = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
BOX_MARGIN = 1.2
TRAIN_SUBJECTS = ('S1', 'S5', 'S6', 'S7', 'S8')
TEST_SUBJECTS = ('S9', 'S11')


def read_cdf_pose(path, dims):
    """The 'Pose' variable of a release CDF file as float64 [F, 32, dims].

    Raises:
        ImportError: cdflib is missing. ValueError: no 'Pose' or a wrong size.
    """
    try:
        import cdflib
    except ImportError:
        raise ImportError('reading the Human3.6M CDF files needs cdflib: '
                          'pip install cdflib (or pip install hpekit[h36m])') from None
    pose = np.asarray(cdflib.CDF(path).varget('Pose'), np.float64)
    if pose.size % (32 * dims):
        raise ValueError(f'{path}: \'Pose\' has shape {pose.shape}, expected [1, F, '
                         f'{32 * dims}]')
    return pose.reshape(-1, 32, dims)


def sequence_name(subject, basename):
    """'S1', 'Directions 1.54138969' → 'S1_Directions_1.54138969' (folder and prefix)."""
    return f'{subject}_{basename.replace(" ", "_")}'


def box_of(part):
    """(center [N, 2], scale [N]) of 2D joints [N, K, 2]: box with a 1.2 margin."""
    low, high = part.min(axis=1), part.max(axis=1)
    return (low + high) / 2.0, size_to_scale(BOX_MARGIN * (high - low).max(axis=1))


def fit_intrinsics(points_3d, points_2d):
    """Least-squares focal lengths and principal point: x = f · X / Z + c.

    Args:
        points_3d: camera-frame [N, 3]. points_2d: px [N, 2].

    Returns:
        (f [2, 1], c [2, 1]).
    """
    f, c = np.zeros((2, 1)), np.zeros((2, 1))
    for axis in range(2):
        design = np.stack([points_3d[:, axis] / points_3d[:, 2],
                           np.ones(len(points_3d))], axis=1)
        (f[axis, 0], c[axis, 0]), *_ = np.linalg.lstsq(design, points_2d[:, axis], rcond=None)
    return f, c


def fit_extrinsics(world, camera):
    """Rigid fit ``camera ≈ R (world − T)`` (Kabsch, no scale): (R [3, 3], T [3, 1])."""
    mw, mc = world.mean(axis=0), camera.mean(axis=0)
    u, _, vt = np.linalg.svd((camera - mc).T @ (world - mw))
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt
    return rotation, (mw - rotation.T @ mc).reshape(3, 1)


def extract_frames(video, frame_dir, prefix, step, count, quality, skip_existing):
    """Write every ``step``-th of the first ``count · step`` frames as JPEGs.

    Returns:
        (names relative to images/, (w, h) of the video).
    """
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise OSError(f'cannot open video {video}')
    os.makedirs(frame_dir, exist_ok=True)
    names, size, index = [], None, 0
    while len(names) < count:
        ok, frame = capture.read()
        if not ok:
            break
        size = (frame.shape[1], frame.shape[0])
        if index % step == 0:
            name = f'{prefix}_{index + 1:06d}.jpg'
            path = osp.join(frame_dir, name)
            if not (skip_existing and osp.isfile(path)):
                cv2.imwrite(path, frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
            names.append(name)
        index += 1
    capture.release()
    if size is None:
        raise OSError(f'{video}: no frames could be decoded')
    return names, size


def convert_sequence(original, out, subject, mono_file, step, quality, cameras,
                     skip_existing):
    """One video and its annotations → (record dict, camera id, (w, h), fit data)."""
    basename = osp.splitext(osp.basename(mono_file))[0]          # 'Directions 1.54138969'
    camera = basename.rsplit('.', 1)[1]
    features = osp.join(original, subject, 'MyPoseFeatures')
    pose3d = read_cdf_pose(mono_file, 3)[:, H36M_32_TO_17] / 1000.0
    d2_file = osp.join(features, 'D2_Positions', basename + '.cdf')
    if osp.isfile(d2_file):
        part = read_cdf_pose(d2_file, 2)[:, H36M_32_TO_17]
    elif cameras is not None and (subject, camera) in cameras:
        params = cameras[(subject, camera)]
        part = project(pose3d, params['f'][:, 0], params['c'][:, 0])
    else:
        raise FileNotFoundError(f'{d2_file} is missing and no --cameras-file gives '
                                f'{(subject, camera)} to project the 3D joints')
    world = None
    world_file = osp.join(features, 'D3_Positions', basename.rsplit('.', 1)[0] + '.cdf')
    if osp.isfile(world_file):
        world = read_cdf_pose(world_file, 3)[:, H36M_32_TO_17] / 1000.0
    name = sequence_name(subject, basename)
    video = osp.join(original, subject, 'Videos', basename + '.mp4')
    count = -(-min(len(pose3d), len(part)) // step)
    frames, size = extract_frames(video, osp.join(out, 'images', subject, name), name,
                                  step, count, quality, skip_existing)
    n = len(frames)   # a video may hold fewer frames than its annotations
    pose3d, part = pose3d[::step][:n], part[::step][:n]
    center, scale = box_of(part)
    ones = np.ones((n, pose3d.shape[1], 1))
    record = dict(imgname=np.array([f'{subject}/{name}/{f}' for f in frames]),
                  center=center, scale=scale, part=np.concatenate([part, ones], axis=2),
                  S=np.concatenate([pose3d, ones], axis=2))
    fit = dict(cam=pose3d.reshape(-1, 3), pix=part.reshape(-1, 2),
               world=None if world is None else world[::step][:n].reshape(-1, 3))
    return record, camera, size, fit


def fitted_cameras(fits):
    """cameras.pkl entries fitted from the annotations (see the module doc)."""
    cameras = {}
    for index, ((subject, camera), items) in enumerate(sorted(fits.items())):
        cam = np.concatenate([f['cam'] for f in items['fits']])
        pix = np.concatenate([f['pix'] for f in items['fits']])
        focal, centre = fit_intrinsics(cam, pix)
        worlds = [f['world'] for f in items['fits'] if f['world'] is not None]
        rotation, position = np.eye(3), np.zeros((3, 1))
        if worlds:
            cams = [f['cam'] for f in items['fits'] if f['world'] is not None]
            rotation, position = fit_extrinsics(np.concatenate(worlds), np.concatenate(cams))
        w, h = items['size']
        cameras[(subject, camera)] = dict(R=rotation, T=position, c=centre, f=focal,
                                          k=np.zeros((3, 1)), p=np.zeros((2, 1)), w=int(w),
                                          h=int(h), name=camera, id=camera)
    return cameras


def save_npz(path, records):
    """Concatenate sequence records into the npz fields; an empty split stays valid."""
    if records:
        fields = {k: np.concatenate([r[k] for r in records])
                  for k in ('imgname', 'center', 'scale', 'part', 'S')}
    else:
        k = len(H36M_32_TO_17)
        fields = dict(imgname=np.zeros(0, '<U1'), center=np.zeros((0, 2)), scale=np.zeros(0),
                      part=np.zeros((0, k, 3)), S=np.zeros((0, k, 4)))
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path[:-len('.npz')] + '.part.npz'
    np.savez(tmp, **fields)
    os.replace(tmp, path)
    return len(fields['imgname'])


def convert(original, out, fps=50, train_subjects=TRAIN_SUBJECTS,
            test_subjects=TEST_SUBJECTS, cameras_file=None, quality=95,
            skip_existing=False, log=print):
    """Convert the release under ``original`` into the layout under ``out``.

    Returns:
        dict: 'train', 'test' (npz paths), 'cameras' (pkl path), 'num_train',
        'num_test' (frames).
    """
    if fps < 1 or 50 % fps:
        raise ValueError(f'fps must divide 50 (50, 25, 10, 5, 2, 1), got {fps}')
    step = 50 // fps
    cameras = None
    if cameras_file is not None:
        from hpekit.datasets.h36m_video import load_camera_params
        cameras = load_camera_params(cameras_file)
    records = {'train': [], 'test': []}
    fits = {}
    for split, subjects in (('train', train_subjects), ('test', test_subjects)):
        for subject in subjects:
            folder = osp.join(original, subject, 'MyPoseFeatures', 'D3_Positions_mono')
            files = sorted(f for f in glob.glob(osp.join(folder, '*.cdf')) if '_ALL' not in f)
            if not files:
                raise FileNotFoundError(f'no D3_Positions_mono/*.cdf files under {folder}')
            for mono_file in files:
                record, camera, size, fit = convert_sequence(
                    original, out, subject, mono_file, step, quality, cameras, skip_existing)
                records[split].append(record)
                entry = fits.setdefault((subject, camera), dict(fits=[], size=size))
                entry['fits'].append(fit)
                log(f'{subject} {osp.basename(mono_file)[:-4]}: {len(record["imgname"])} '
                    'frames')
    ann = osp.join(out, 'annotation_body3d')
    written = {}
    for split in records:
        written[split] = osp.join(ann, f'fps{fps}', f'h36m_{split}.npz')
        written[f'num_{split}'] = save_npz(written[split], records[split])
    written['cameras'] = osp.join(ann, 'cameras.pkl')
    with open(written['cameras'], 'wb') as f:
        pickle.dump(cameras if cameras is not None else fitted_cameras(fits), f)
    return written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--original', required=True,
                        help='the extracted release: <S>/Videos, <S>/MyPoseFeatures')
    parser.add_argument('--out', required=True, help='the data_root to write')
    parser.add_argument('--fps', type=int, default=50, help='frames per second kept '
                        '(a divisor of 50; default 50: every frame)')
    parser.add_argument('--train-subjects', nargs='*', default=list(TRAIN_SUBJECTS))
    parser.add_argument('--test-subjects', nargs='*', default=list(TEST_SUBJECTS))
    parser.add_argument('--cameras-file', help='an existing cameras.pkl (e.g. MMPose\'s) '
                        'to copy instead of fitting the cameras')
    parser.add_argument('--jpeg-quality', type=int, default=95)
    parser.add_argument('--skip-existing-frames', action='store_true',
                        help='keep JPEGs already written (resume an interrupted run)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    written = convert(args.original, args.out, args.fps, args.train_subjects,
                      args.test_subjects, args.cameras_file, args.jpeg_quality,
                      args.skip_existing_frames)
    for split in ('train', 'test'):
        print(f'wrote {written[split]}: {written[f"num_{split}"]} frames')
    print(f'wrote {written["cameras"]}; use data_root={args.out!r} (H36MVideoDataset)')
    return written


if __name__ == '__main__':
    sys.exit(main() and 0)
