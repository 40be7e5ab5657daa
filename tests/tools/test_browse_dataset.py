"""tools/misc/browse_dataset.py draws the ground truth in the metainfo's keypoint and
link colours (left and right distinct, so a flip mix-up shows) in both modes, and stops
before the first picture when an image is missing or unreadable."""
import json
import textwrap

import cv2
import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.config.setup import load_config
from hpekit.registry import DATASETS
from hpekit.utils import register_all_modules

GREEN, RED, BLUE = (0, 255, 0), (255, 0, 0), (0, 0, 255)   # RGB, as metainfo colours
# left_hand, right_hand, head (x, y px) on a 600×450 image; one person.
KEYPOINTS = np.array([[150.0, 300.0], [450.0, 300.0], [300.0, 100.0]])
INPUT = (384, 384)

METAINFO = f"""
dataset_info = dict(
    dataset_name='left_right_3',
    keypoint_info={{
        0: dict(name='left_hand', id=0, color={list(GREEN)}, type='upper', swap='right_hand'),
        1: dict(name='right_hand', id=1, color={list(RED)}, type='upper', swap='left_hand'),
        2: dict(name='head', id=2, color={list(BLUE)}, type='upper', swap=''),
    }},
    skeleton_info={{
        0: dict(link=('head', 'left_hand'), id=0, color={list(GREEN)}),
        1: dict(link=('head', 'right_hand'), id=1, color={list(RED)}),
    }},
    joint_weights=[1.0, 1.0, 1.0],
    sigmas=[0.05, 0.05, 0.05])
"""


def _config(root):
    """A COCO-format set of two images (b.png a second person image) and a config
    whose training pipeline always flips (no other augmentation)."""
    (root / 'images').mkdir()
    image = np.full((450, 600, 3), 128, np.uint8)
    images, annotations = [], []
    for i, name in enumerate(('a.png', 'b.png')):
        cv2.imwrite(str(root / 'images' / name), image)
        images.append(dict(id=i + 1, file_name=name, width=600, height=450))
        flat = np.concatenate([KEYPOINTS, np.full((3, 1), 2.0)], axis=1).ravel()
        annotations.append(dict(id=i + 1, image_id=i + 1, category_id=1, iscrowd=0,
                                bbox=[100, 50, 400, 300], area=120000.0, num_keypoints=3,
                                keypoints=flat.tolist()))
    (root / 'annotations').mkdir()
    (root / 'annotations' / 'train.json').write_text(json.dumps(dict(
        images=images, annotations=annotations, categories=[dict(id=1, name='person')])))
    (root / 'meta.py').write_text(METAINFO)
    config = root / 'browse.py'
    config.write_text(textwrap.dedent(f"""
        train_dataloader = dict(batch_size=1, dataset=dict(
            type='CocoDataset', data_root='{root}/', ann_file='annotations/train.json',
            data_prefix=dict(img='images/'), metainfo=dict(from_file='{root}/meta.py'),
            pipeline=[dict(type='LoadImage'),
                      dict(type='TopdownAffine', input_size={INPUT}, scale_factor=0.0,
                           rotate_factor=0, rotate_prob=0.0, flip_prob=1.0)]))
        """))
    return str(config)


def _colour(picture, xy):
    """Mean RGB of the 3×3 pixels around (x, y) of a BGR picture."""
    x, y = (int(round(v)) for v in xy)
    return picture[y - 1:y + 2, x - 1:x + 2, ::-1].reshape(-1, 3).mean(axis=0)


def _is(colour, expected):
    return bool(np.all(np.abs(colour - np.array(expected)) < 60))


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    register_all_modules()
    return _config(tmp_path_factory.mktemp('browse'))


def test_original_mode_draws_left_and_right_in_their_colours(config, tmp_path):
    tool = load_tool('misc/browse_dataset')
    assert tool.main([config, '--output-dir', str(tmp_path), '--mode', 'original',
                      '--num', '1']) == 1
    (path, ) = tmp_path.glob('*.jpg')
    picture = cv2.imread(str(path))
    assert picture.shape == (450, 600, 3)
    for xy, expected in zip(KEYPOINTS, (GREEN, RED, BLUE)):
        assert _is(_colour(picture, xy), expected), (xy, _colour(picture, xy), expected)
    # The links too: the middle of head → left hand is green, head → right hand red.
    assert _is(_colour(picture, (KEYPOINTS[0] + KEYPOINTS[2]) / 2), GREEN)
    assert _is(_colour(picture, (KEYPOINTS[1] + KEYPOINTS[2]) / 2), RED)


def test_transformed_mode_draws_the_flipped_sample_in_the_metainfo_colours(config,
                                                                          tmp_path):
    """After the flip (the metainfo's swap applied), the keypoint named left_hand sits
    where the mirrored right hand is, on the picture's left, and is drawn green."""
    tool = load_tool('misc/browse_dataset')
    tool.main([config, '--output-dir', str(tmp_path), '--num', '1'])
    (path, ) = tmp_path.glob('*.jpg')
    picture = cv2.imread(str(path))
    assert picture.shape == (INPUT[1], INPUT[0], 3)
    # Where the pipeline put the keypoints (the same draws every time: only a flip).
    dataset = DATASETS.build(load_config(config).train_dataloader.dataset)
    results = dict(dataset.get_data_info(0))
    for transform in dataset.pipeline.transforms:
        results = transform(results)
    moved = results['keypoints_input']
    assert moved[0][0] < INPUT[0] / 2 < moved[1][0]   # left_hand on the left after the flip
    for xy, expected in zip(moved, (GREEN, RED, BLUE)):
        assert _is(_colour(picture, xy), expected), (xy, _colour(picture, xy), expected)


@pytest.mark.parametrize('mode', ['original', 'transformed'])
def test_an_unreadable_image_stops_before_the_first_picture(config, tmp_path, mode):
    root = tmp_path / 'data'
    bad_config = _config_copy(config, root)
    (root / 'images' / 'b.png').write_bytes(b'not an image')
    out = tmp_path / 'out'
    tool = load_tool('misc/browse_dataset')
    with pytest.raises(FileNotFoundError, match=r'1 of the 2 images to draw cannot be read, '
                                                r'nothing was drawn: sample 1: .*b\.png not '
                                                'readable as an image'):
        tool.main([bad_config, '--output-dir', str(out), '--mode', mode, '--num', '2'])
    assert not out.exists()   # not even the folder


def test_a_missing_image_is_reported_by_the_dataset_at_start_up(config, tmp_path):
    root = tmp_path / 'data'
    bad_config = _config_copy(config, root)
    (root / 'images' / 'b.png').unlink()
    tool = load_tool('misc/browse_dataset')
    with pytest.raises(FileNotFoundError, match=r"images\[1\] \(id 2\): field 'file_name'"
                                                r'.*b\.png not found'):
        tool.main([bad_config, '--output-dir', str(tmp_path / 'out'), '--num', '1'])
    assert not (tmp_path / 'out').exists()


def _config_copy(config, root):
    """A fresh copy of the data and config under ``root`` (a test may break it)."""
    root.mkdir()
    return _config(root)
