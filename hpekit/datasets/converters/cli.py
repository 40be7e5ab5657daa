"""The options both converter tools share (``tools/dataset_converters/labelme2coco.py``
and ``cvat2coco.py``), and the run that prints the summary."""
import argparse
import sys
from typing import Callable, List

from hpekit.datasets.converters.coco_export import (DEFAULT_BOX_MARGIN, check_out_dir,
                                                    convert_to_coco)
from hpekit.datasets.converters.common import AnnotationSet, ConversionError


def _names(values: List[str]) -> List[str]:
    """Names given as several arguments and/or comma lists, in order."""
    return [name.strip() for value in values for name in value.split(',') if name.strip()]


def add_conversion_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --out-dir, --keypoints, --skeleton, --flip-pairs, --sigmas, --upper,
    --lower, --val-ratio, --seed, --box-margin, --dataset-name and --overwrite."""
    parser.add_argument('--out-dir', required=True,
                        help='output folder: annotations/{train,val}.json, metainfo.py')
    parser.add_argument('--keypoints', nargs='+', metavar='NAME',
                        help='keypoint names in order (space or comma separated); default: '
                        "the tool's skeleton order, else the order of first appearance")
    parser.add_argument('--skeleton', nargs='+', metavar='A-B',
                        help="skeleton edges, e.g. nose-neck,neck-tail_base (default: the "
                        "tool's skeleton, else none)")
    parser.add_argument('--flip-pairs', nargs='+', metavar='A-B',
                        help='left/right pairs, e.g. left_ear-right_ear (default: proposed '
                        'from the names, to confirm in metainfo.py)')
    parser.add_argument('--sigmas', '--sigma', metavar='VALUES',
                        help='OKS sigmas: one number for all, K comma-separated numbers, or '
                        'a JSON file (list, or name -> number); default 0.05 each, flagged')
    parser.add_argument('--upper', nargs='+', default=[], metavar='NAME',
                        help="keypoints of type 'upper' (half-body augmentation)")
    parser.add_argument('--lower', nargs='+', default=[], metavar='NAME',
                        help="keypoints of type 'lower'")
    parser.add_argument('--val-ratio', type=float, default=0.2,
                        help='fraction of the images for val (default 0.2)')
    parser.add_argument('--seed', type=int, default=0, help='split seed (default 0)')
    parser.add_argument('--box-margin', type=float, default=DEFAULT_BOX_MARGIN,
                        help='derived boxes: fraction of the keypoint extent added on each '
                        'side (default 0.1)')
    parser.add_argument('--dataset-name', help="metainfo's dataset_name (default: the "
                        'output folder name)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a former conversion in --out-dir')


def run_conversion(read: Callable[[], AnnotationSet], args: argparse.Namespace,
                   prog: str) -> int:
    """Read with ``read()``, convert with ``args``' options, print the summary.

    Returns:
        0 on success. A ConversionError (bad input or option) exits with its message
        (status 1), nothing written.
    """
    try:
        check_out_dir(args.out_dir, args.overwrite)
        annotations = read()
        types = {name: 'upper' for name in _names(args.upper)}
        types.update({name: 'lower' for name in _names(args.lower)})
        summary = convert_to_coco(
            annotations, args.out_dir,
            keypoints=_names(args.keypoints) if args.keypoints else None,
            skeleton=','.join(args.skeleton) if args.skeleton else None,
            flip_pairs=','.join(args.flip_pairs) if args.flip_pairs else None,
            sigmas=args.sigmas, keypoint_types=types, val_ratio=args.val_ratio,
            seed=args.seed, box_margin=args.box_margin, dataset_name=args.dataset_name,
            overwrite=args.overwrite)
    except (ConversionError, FileNotFoundError) as err:
        sys.exit(f'{prog}: error: {err}')
    for line in summary.lines():
        print(line)
    return 0
