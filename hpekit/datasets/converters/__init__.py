"""Annotation converters: labelme JSON and CVAT for images 1.1 XML → COCO keypoints
plus an MMPose metainfo file (``tools/dataset_converters/labelme2coco.py``,
``cvat2coco.py``).

A reader (``read_labelme_dir``, ``read_cvat_xml``) turns an export into an
``AnnotationSet``; ``convert_to_coco`` decides the keypoint order, skeleton, flip
pairs and sigmas and writes ``OUT/annotations/{train,val}.json`` and
``OUT/metainfo.py`` all at once. Bad input raises ``AnnotationFormatError`` (file,
record, field named) or ``ConversionOptionError`` (option named), both
``ConversionError``; nothing is written then.
"""
from hpekit.datasets.converters.coco_export import (ConversionSummary, check_out_dir,
                                                    convert_to_coco, derive_box,
                                                    split_images)
from hpekit.datasets.converters.common import (DEFAULT_SIGMA, AnnotationFormatError,
                                               AnnotationSet, ConversionError,
                                               ConversionOptionError, propose_flip_pairs)
from hpekit.datasets.converters.cvat import read_cvat_xml
from hpekit.datasets.converters.labelme import read_labelme_dir

__all__ = ['AnnotationFormatError', 'AnnotationSet', 'ConversionError',
           'ConversionOptionError', 'ConversionSummary', 'DEFAULT_SIGMA', 'check_out_dir',
           'convert_to_coco', 'derive_box', 'propose_flip_pairs', 'read_cvat_xml',
           'read_labelme_dir', 'split_images']
