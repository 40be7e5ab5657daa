"""Convert a CVAT for images 1.1 XML export to COCO keypoints + metainfo.py.

    python tools/dataset_converters/cvat2coco.py ANNOTATIONS.xml --images DIR --out-dir OUT
        [--keypoints NAME ...] [--skeleton A-B,...] [--flip-pairs A-B,...]
        [--sigmas 0.05|v1,...,vK|FILE.json] [--upper NAME ...] [--lower NAME ...]
        [--val-ratio 0.2] [--seed 0] [--box-margin 0.1] [--dataset-name NAME]
        [--overwrite]

ANNOTATIONS.xml is CVAT's ``annotations.xml`` (export format "CVAT for images 1.1"):
a skeleton label (its points and edges give the keypoint order and the skeleton) with
a ``<skeleton>`` per person, or plain ``<points>`` grouped by ``group_id``, and
optional ``<box>`` shapes of the same group. DIR holds the images (the export's
``images/``). Writes OUT/annotations/train.json, OUT/annotations/val.json and
OUT/metainfo.py (all or nothing); the images stay in DIR (``file_name`` is relative
to it) and the printed summary ends with the dataset settings for a config.
"""
import argparse
import sys

from hpekit.datasets.converters import read_cvat_xml
from hpekit.datasets.converters.cli import add_conversion_arguments, run_conversion


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('xml', help="CVAT's annotations.xml (CVAT for images 1.1)")
    parser.add_argument('--images', required=True, help='the folder of the images')
    add_conversion_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_conversion(lambda: read_cvat_xml(args.xml, args.images), args, 'cvat2coco')


if __name__ == '__main__':
    sys.exit(main())
