"""Convert a folder of labelme keypoint annotations to COCO keypoints + metainfo.py.

    python tools/dataset_converters/labelme2coco.py LABELME_DIR --out-dir OUT
        [--keypoints NAME ...] [--skeleton A-B,...] [--flip-pairs A-B,...]
        [--sigmas 0.05|v1,...,vK|FILE.json] [--upper NAME ...] [--lower NAME ...]
        [--val-ratio 0.2] [--seed 0] [--box-margin 0.1] [--dataset-name NAME]
        [--overwrite]

LABELME_DIR holds one labelme JSON per image (a ``point`` shape per keypoint:
``label`` = keypoint name, ``group_id`` = person; an optional ``rectangle`` per
person) and the images. Writes OUT/annotations/train.json, OUT/annotations/val.json
and OUT/metainfo.py (all or nothing); the images stay where they are (``file_name``
is relative to LABELME_DIR) and the printed summary ends with the dataset settings
for a config. The rules (keypoint order, flip pairs, sigmas, boxes, split) are in
``hpekit/datasets/converters/``.
"""
import argparse
import sys

from hpekit.datasets.converters import read_labelme_dir
from hpekit.datasets.converters.cli import add_conversion_arguments, run_conversion


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('labelme_dir', help='folder of labelme JSON files and images')
    add_conversion_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_conversion(lambda: read_labelme_dir(args.labelme_dir), args, 'labelme2coco')


if __name__ == '__main__':
    sys.exit(main())
