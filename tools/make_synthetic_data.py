"""Write synthetic stand-ins of hpekit's datasets, in the real datasets' file formats.

Usage:
    python tools/make_synthetic_data.py h36m --out data/h36m_synth [--train 600]
        [--val 150] [--seed 0] [--size 224] [--frames 8] [--no-progress] [--skip-existing]
    python tools/make_synthetic_data.py h36m-full --out data/h36m_full_synth
        [--subjects S1 S5 ...] [--actions Walking ...] [--subactions 2] [--cameras 4]
        [--frames 40] [--fps 50] [--size 160] [--seed 0] [--no-progress]
        [--skip-existing]
    python tools/make_synthetic_data.py mpii --out data/mpii_synth [--train 400]
        [--val 100] [--seed 0] [--no-progress] [--skip-existing]
    python tools/make_synthetic_data.py coco --out data/coco_synth [--train 400]
        [--val 100] [--seed 0] [--no-progress] [--skip-existing]
    python tools/make_synthetic_data.py custom --out data/animals_labelme
        --format labelme|cvat [--num 120] [--seed 0] [--no-progress] [--skip-existing]

Each dataset is one subcommand: a function ``add_<name>_parser(subparsers)`` declares
its arguments and sets ``func`` to the function that writes the files.
"""
import argparse
import os
import sys


def _count(minimum):
    """argparse type: an int >= minimum."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f'must be >= {minimum}, got {value}')
        return value
    return parse


def _human_size(num_bytes):
    """'12.3 MB'-style text for a byte count."""
    size = float(num_bytes)
    for unit in ('B', 'KB', 'MB'):
        if size < 1024:
            return f'{size:.1f} {unit}'
        size /= 1024
    return f'{size:.1f} GB'


def _report(paths, verb='wrote'):
    """Print each file with its dtype, shape and size on disk."""
    import numpy as np
    for path in paths:
        array = np.load(path, mmap_mode='r')
        print(f'{verb} {path}: {array.dtype} {list(array.shape)} '
              f'({_human_size(os.path.getsize(path))})')


H36M_FILES = ('videoframes_clips_train.npy', 'joint_3d_clips_train.npy',
              'videoframes_clips_valid.npy', 'joint_3d_clips_valid.npy')


def run_h36m(args):
    """Write the four Human3.6M clip files (train and valid) into args.out."""
    paths = [os.path.join(args.out, name) for name in H36M_FILES]
    if args.skip_existing and all(os.path.isfile(path) for path in paths):
        print(f'{args.out} already holds the Human3.6M clip files; skipping '
              '(drop --skip-existing to rewrite them)')
        _report(paths, verb='found')
        return
    from hpekit.datasets.synthetic.h36m import write_h36m_split
    write_h36m_split(args.out, num_train=args.train, num_valid=args.val, size=args.size,
                     seed=args.seed, progress=not args.no_progress, num_frames=args.frames)
    _report(paths)
    print(f'use it with data_root={args.out!r} (H36MClipDataset)')


def add_h36m_parser(subparsers):
    """The ``h36m`` subcommand: synthetic Human3.6M video clips with 3D joints."""
    parser = subparsers.add_parser(
        'h36m', help='Human3.6M clips: videoframes_clips_*.npy, joint_3d_clips_*.npy')
    parser.add_argument('--out', required=True, help='output folder (data_root)')
    parser.add_argument('--train', type=_count(0), default=600, help='train clips (default 600)')
    parser.add_argument('--val', type=_count(0), default=150, help='valid clips (default 150)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--size', type=_count(8), default=224, help='frame side in pixels')
    parser.add_argument('--frames', type=_count(1), default=8, help='frames per clip (default 8)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--skip-existing', action='store_true',
                        help='do nothing when all four files are already there')
    parser.set_defaults(func=run_h36m)


def run_h36m_full(args):
    """Write synthetic Human3.6M in MMPose's preprocessed layout into args.out."""
    from hpekit.datasets.synthetic.h36m_full import write_h36m_full
    ann = os.path.join(args.out, 'annotation_body3d')
    names = [os.path.join(ann, f'fps{args.fps}', f'h36m_{s}.npz') for s in ('train', 'test')]
    if args.skip_existing and all(os.path.isfile(p) for p in names + [
            os.path.join(ann, 'cameras.pkl')]):
        print(f'{args.out} already holds the Human3.6M annotation files; skipping '
              '(drop --skip-existing to rewrite them)')
        return
    written = write_h36m_full(args.out, subjects=args.subjects, actions=args.actions,
                              subactions=args.subactions, num_cameras=args.cameras,
                              num_frames=args.frames, fps=args.fps, image_size=args.size,
                              seed=args.seed, progress=not args.no_progress,
                              images=not args.no_images)
    for split in ('train', 'test'):
        print(f'wrote {written[split]}: {written[f"num_{split}_frames"]} frames')
    print(f'wrote {written["cameras"]} and frames under {os.path.join(args.out, "images")}')
    print(f'use it with data_root={args.out!r} (H36MVideoDataset)')


def add_h36m_full_parser(subparsers):
    """The ``h36m-full`` subcommand: Human3.6M in MMPose's layout (frames, npz, cameras)."""
    from hpekit.datasets.h36m_video import H36M_ACTIONS
    from hpekit.datasets.synthetic.h36m_full import SUBJECTS
    parser = subparsers.add_parser(
        'h36m-full', help='Human3.6M, MMPose layout: images/S*/..., annotation_body3d/'
        'fps50/h36m_{train,test}.npz, annotation_body3d/cameras.pkl')
    parser.add_argument('--out', required=True, help='output folder (data_root)')
    parser.add_argument('--subjects', nargs='+', default=list(SUBJECTS), choices=SUBJECTS,
                        metavar='S', help='subjects (default all seven)')
    parser.add_argument('--actions', nargs='+', default=list(H36M_ACTIONS),
                        choices=H36M_ACTIONS, metavar='ACTION',
                        help='actions (default the 15)')
    parser.add_argument('--subactions', type=int, choices=(1, 2), default=2,
                        help='performances per action (default 2)')
    parser.add_argument('--cameras', type=int, choices=(1, 2, 3, 4), default=4,
                        help='cameras (default 4)')
    parser.add_argument('--frames', type=_count(1), default=40,
                        help='frames per sequence (default 40)')
    parser.add_argument('--fps', type=int, choices=(1, 2, 5, 10, 25, 50), default=50,
                        help='frame rate: annotation_body3d/fps<N> (default 50)')
    parser.add_argument('--size', type=_count(16), default=160, help='frame side in px')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--no-images', action='store_true',
                        help='annotations and cameras only (2D → 3D lifting needs no frames)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--skip-existing', action='store_true',
                        help='do nothing when the annotation files already exist')
    parser.set_defaults(func=run_h36m_full)


def run_mpii(args):
    """Write synthetic MPII images, JSON annotations and mpii_gt_val.mat into args.out."""
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    names = ('mpii_train.json', 'mpii_val.json', 'mpii_gt_val.mat')
    if args.skip_existing and all(os.path.isfile(os.path.join(args.out, 'annotations', n))
                                  for n in names):
        print(f'{args.out} already holds the MPII annotation files; skipping '
              '(drop --skip-existing to rewrite them)')
        return
    written = write_mpii_split(args.out, num_train=args.train, num_val=args.val,
                               seed=args.seed, progress=not args.no_progress)
    for split in ('train', 'val'):
        print(f'wrote {written[f"{split}_json"]}: {written[f"num_{split}_people"]} people')
    print(f'wrote {written["gt_mat"]} and images under {os.path.join(args.out, "images")}')
    print(f'use it with data_root={args.out!r} (MPIIDataset)')


def add_mpii_parser(subparsers):
    """The ``mpii`` subcommand: synthetic MPII images (1280×720) with 2D joints."""
    parser = subparsers.add_parser(
        'mpii', help='MPII: images/*.jpg, annotations/mpii_{train,val}.json, '
        'annotations/mpii_gt_val.mat')
    parser.add_argument('--out', required=True, help='output folder (data_root)')
    parser.add_argument('--train', type=_count(0), default=400,
                        help='train images, 1-3 people each (default 400)')
    parser.add_argument('--val', type=_count(0), default=100,
                        help='val images, 1-3 people each (default 100)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--skip-existing', action='store_true',
                        help='do nothing when the annotation files already exist')
    parser.set_defaults(func=run_mpii)


def run_coco(args):
    """Write synthetic COCO-format images, keypoint JSON files and detections into args.out."""
    from hpekit.datasets.synthetic.coco import write_coco_split
    names = ('person_keypoints_train2017.json', 'person_keypoints_val2017.json')
    if args.skip_existing and all(os.path.isfile(os.path.join(args.out, 'annotations', n))
                                  for n in names):
        print(f'{args.out} already holds the COCO annotation files; skipping '
              '(drop --skip-existing to rewrite them)')
        return
    written = write_coco_split(args.out, num_train=args.train, num_val=args.val,
                               seed=args.seed, progress=not args.no_progress)
    for split in ('train', 'val'):
        print(f'wrote {written[f"{split}_json"]}: {written[f"num_{split}_people"]} people '
              f'with keypoints, images under {os.path.join(args.out, f"{split}2017")}')
    print(f'wrote {written["val_detections"]} (person detections of the val images)')
    print(f'use it with data_root={args.out!r} (CocoDataset)')


def add_coco_parser(subparsers):
    """The ``coco`` subcommand: synthetic COCO person keypoints (640×480, 17 keypoints)."""
    parser = subparsers.add_parser(
        'coco', help='COCO: {train,val}2017/*.jpg, annotations/person_keypoints_'
        '{train,val}2017.json, person_detection_results/val2017_detections.json')
    parser.add_argument('--out', required=True, help='output folder (data_root)')
    parser.add_argument('--train', type=_count(0), default=400,
                        help='train images, 1-3 people each (default 400)')
    parser.add_argument('--val', type=_count(0), default=100,
                        help='val images, 1-3 people each (default 100)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--skip-existing', action='store_true',
                        help='do nothing when the annotation files already exist')
    parser.set_defaults(func=run_coco)


def _custom_files(args):
    """The annotation files the ``custom`` subcommand writes (its --skip-existing test)."""
    if args.format == 'cvat':
        return [os.path.join(args.out, 'annotations.xml')]
    return [os.path.join(args.out, f'img_{i:06d}.json') for i in range(1, args.num + 1)]


def run_custom(args):
    """Write synthetic top-view animals (9 keypoints) as a labelme or CVAT export."""
    from hpekit.datasets.synthetic.custom import write_cvat_dataset, write_labelme_dataset
    if args.skip_existing and all(os.path.isfile(p) for p in _custom_files(args)):
        print(f'{args.out} already holds the {args.format} annotation files; skipping '
              '(drop --skip-existing to rewrite them)')
        return
    write = write_cvat_dataset if args.format == 'cvat' else write_labelme_dataset
    written = write(args.out, args.num, seed=args.seed, progress=not args.no_progress)
    animals = sum(len(image['animals']) for image in written['images'])
    if args.format == 'cvat':
        print(f'wrote {written["xml"]} ({args.num} images, {animals} animals) and the '
              f'images under {written["images_dir"]}')
        print(f'convert it with: python tools/dataset_converters/cvat2coco.py '
              f'{written["xml"]} --images {written["images_dir"]} --out-dir OUT')
    else:
        print(f'wrote {args.num} images with labelme JSON files ({animals} animals) '
              f'under {args.out}')
        print(f'convert it with: python tools/dataset_converters/labelme2coco.py '
              f'{args.out} --out-dir OUT')


def add_custom_parser(subparsers):
    """The ``custom`` subcommand: your-own-keypoints stand-in (top-view lab animals,
    9 keypoints with left/right pairs) as an annotation tool exports it."""
    parser = subparsers.add_parser(
        'custom', help='custom keypoints (top-view animals, 9 keypoints) as a labelme '
        'folder (img_*.jpg + img_*.json) or a CVAT for images 1.1 export '
        '(annotations.xml + images/)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--format', required=True, choices=('labelme', 'cvat'),
                        help='annotation tool format')
    parser.add_argument('--num', type=_count(1), default=120,
                        help='images, 1-2 animals each (default 120)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--skip-existing', action='store_true',
                        help='do nothing when the annotation files already exist')
    parser.set_defaults(func=run_custom)


def parse_args(argv=None):
    """Parse the command line: one subcommand per dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest='dataset', required=True, metavar='DATASET')
    add_h36m_parser(subparsers)
    add_h36m_full_parser(subparsers)
    add_mpii_parser(subparsers)
    add_coco_parser(subparsers)
    add_custom_parser(subparsers)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    sys.exit(main())
