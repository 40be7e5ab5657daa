"""Write a small Toy14 dataset: COCO-format JSON, 14 keypoints, rendered people.

``python -m hpekit_plugin_example.make_data --out data/toy14 [--train 60] [--val 12]``

The people are hpekit's synthetic MPII renderings; this script keeps 14 of their
16 joints (all but pelvis and thorax) and writes COCO's person-keypoint JSON:
``annotations/toy14_{train,val}.json`` and ``images/``.
"""
import argparse
import json
import os
import os.path as osp

import numpy as np

from hpekit.datasets.synthetic.mpii import write_mpii_split

# The renderer's 16 joints → Toy14's order (metainfo/toy14.py).
FROM_RENDERER = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15]
IMAGE_SIZE = (320, 240)


def coco_json(records):
    """MPII-style records (1-based px) → a COCO person-keypoints dict (0-based px)."""
    images, annotations = {}, []
    for record in records:
        image_id = images.setdefault(record['image'], len(images) + 1)
        joints = np.asarray(record['joints'], np.float64)[FROM_RENDERER] - 1.0
        visible = np.asarray(record['joints_vis'])[FROM_RENDERER] > 0
        keypoints = np.concatenate([joints * visible[:, None], 2.0 * visible[:, None]], 1)
        side = record['scale'] * 200.0
        cx, cy = np.asarray(record['center']) - 1.0 + [0.0, 15.0 * record['scale']]
        annotations.append(dict(
            id=len(annotations) + 1, image_id=image_id, category_id=1, iscrowd=0,
            keypoints=keypoints.round(2).ravel().tolist(), num_keypoints=int(visible.sum()),
            bbox=[cx - side / 2, cy - side / 2, side, side], area=side * side))
    return dict(images=[dict(id=i, file_name=name, width=IMAGE_SIZE[0], height=IMAGE_SIZE[1])
                        for name, i in images.items()],
                annotations=annotations,
                categories=[dict(id=1, name='person', supercategory='person')])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='data root to write')
    parser.add_argument('--train', type=int, default=60, help='train images')
    parser.add_argument('--val', type=int, default=12, help='val images')
    args = parser.parse_args(argv)
    write_mpii_split(args.out, args.train, args.val, image_size=IMAGE_SIZE,
                     progress=False)
    for split in ('train', 'val'):
        src = osp.join(args.out, 'annotations', f'mpii_{split}.json')
        with open(src, encoding='utf-8') as f:
            data = coco_json(json.load(f))
        with open(osp.join(args.out, 'annotations', f'toy14_{split}.json'), 'w') as f:
            json.dump(data, f)
        os.remove(src)
    os.remove(osp.join(args.out, 'annotations', 'mpii_gt_val.mat'))
    print(f'wrote {args.out}: annotations/toy14_{{train,val}}.json, images/')


if __name__ == '__main__':
    main()
