"""A dataset (DATASETS): 14 keypoints in COCO's JSON format, with its own metainfo."""
import os.path as osp

from hpekit.datasets import CocoDataset
from hpekit.registry import DATASETS

METAINFO_FILE = osp.join(osp.dirname(__file__), 'metainfo', 'toy14.py')


@DATASETS.register_module()
class Toy14Dataset(CocoDataset):
    """COCO-format person keypoints with the 14 keypoints of ``metainfo/toy14.py``.

    Everything — reading the JSON, boxes, flip pairs, half-body ids, metrics — comes
    from hpekit's ``CocoDataset`` and the metainfo file; the class only names it.
    Layout under ``data_root``: ``annotations/toy14_{train,val}.json`` and
    ``images/`` (``python -m hpekit_plugin_example.make_data --out DIR`` writes it).
    """

    METAINFO = dict(from_file=METAINFO_FILE)
    sweep_example = dict(cfg=dict(ann_file='annotations/toy14_val.json',
                                  data_prefix=dict(img='images/'), test_mode=True,
                                  pipeline=[dict(type='LoadImage'),
                                            dict(type='TopdownAffine', input_size=(32, 32),
                                                 augment=False),
                                            dict(type='PackPoseInputs')]),
                         data='toy14')
