"""CocoDataset: COCO-format person keypoints (GT boxes and detections), clear errors,
any keypoint count, missing images found at start-up (``skip_invalid``); the synthetic
COCO twin and its command-line tool."""
import json
import os

import cv2
import numpy as np
import pytest
from metainfo_values import metainfo
from tool_loader import load_tool

from hpekit.datasets import CocoDataset, parse_pose_metainfo
from hpekit.datasets.coco import CocoAnnotationError
from hpekit.datasets.synthetic.coco import COCO_KEYPOINTS, write_coco_split
from hpekit.utils import register_all_modules

register_all_modules()
COCO_META = metainfo('coco')
K = COCO_META['num_keypoints']
ANN = 'annotations/person_keypoints_val2017.json'


def _keypoints(num, x0=50.0, y0=60.0, flag=2):
    out = []
    for j in range(num):
        out += [x0 + 3 * j, y0 + 5 * j, flag]
    return out


def _ann(ann_id, image_id, bbox, num=K, **extra):
    ann = dict(id=ann_id, image_id=image_id, category_id=1, bbox=bbox, area=100.0,
               iscrowd=0, num_keypoints=num, keypoints=_keypoints(num))
    ann.update(extra)
    return ann


def write_json(root, data, name=ANN, images=True):
    """``data`` as JSON at root/name; for a COCO dict with ``images``, also a
    placeholder file per image record under root/val2017 (the dataset checks that
    they exist; these tests decode none)."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    if images and isinstance(data, dict) and isinstance(data.get('images'), list):
        for img in data['images']:
            name = img.get('file_name') if isinstance(img, dict) else None
            if isinstance(name, str) and name and '..' not in name:
                (root / 'val2017').mkdir(exist_ok=True)
                (root / 'val2017' / name).touch()
    return path


def coco_dict(annotations, images=None, num=K):
    images = images or [dict(id=7, file_name='a.jpg', width=640, height=480),
                        dict(id=9, file_name='b.jpg', width=320, height=240)]
    return dict(images=images, annotations=annotations,
                categories=[dict(id=1, name='person')])


def build(root, **kwargs):
    kwargs.setdefault('ann_file', ANN)
    kwargs.setdefault('data_prefix', dict(img='val2017/'))
    return CocoDataset(data_root=str(root), **kwargs)


def test_ground_truth_samples_fields_and_crop_boxes(tmp_path):
    write_json(tmp_path, coco_dict([
        _ann(1, 7, [100, 50, 40, 120]),
        _ann(2, 7, [0, 0, 10, 10], iscrowd=1),                      # crowd: skipped
        _ann(3, 9, [10, 20, 30, 40], num=K, keypoints=[0] * (3 * K),
             num_keypoints=0),                                      # no keypoints
        _ann(4, 9, [300, 200, 50, 60]),                             # clipped to the image
    ]))
    ds = build(tmp_path, input_size=(192, 256))
    assert len(ds) == 2
    first, second = ds.get_data_info(0), ds.get_data_info(1)
    assert (first['id'], first['img_id'], first['category_id']) == (1, 7, 1)
    assert first['img_path'].endswith('val2017/a.jpg') and first['image_id'] == 'a.jpg'
    np.testing.assert_allclose(first['bbox'], [100, 50, 140, 170])
    assert first['bbox_score'] == 1.0 and first['area'] == 100.0
    # Box 40×120 fitted to 192:256 (w = 0.75 h → 90×120), ×1.25; centre in pixel-centre
    # coordinates (detector convention box → -0.5).
    np.testing.assert_allclose(first['center'], [119.5, 109.5])
    np.testing.assert_allclose(first['bbox_size'], [112.5, 150.0])
    assert first['keypoints'].shape == (K, 2) and first['keypoints_visible'].shape == (K, )
    np.testing.assert_allclose(first['keypoints'][1], [53, 65])
    assert first['flip_indices'] == COCO_META['flip_indices']
    np.testing.assert_allclose(second['bbox'], [300, 200, 320, 240])   # clipped to 320×240


def test_visibility_flags_and_aspect_ratio_from_the_pipeline(tmp_path):
    kpts = _keypoints(K)
    kpts[2::3] = [0, 1, 2] * (K // 3) + [2] * (K % 3)
    write_json(tmp_path, coco_dict([_ann(1, 7, [100, 50, 40, 40], keypoints=kpts)]))
    pipeline = [dict(type='TopdownAffine', input_size=(96, 128), augment=False)]
    ds = build(tmp_path, pipeline=pipeline, lazy_init=True)
    assert ds.crop_input_size == (96, 128)
    info = ds.get_data_info(0)
    np.testing.assert_array_equal(info['keypoints_visible'], np.array(kpts[2::3]) > 0)
    np.testing.assert_allclose(info['bbox_size'], [50.0, 50.0 * 4 / 3])   # 40×40 → 3:4
    no_fit = build(tmp_path).get_data_info(0)['bbox_size']                # no input size
    np.testing.assert_allclose(no_fit, [50.0, 50.0])


def test_detection_boxes_replace_ground_truth(tmp_path):
    write_json(tmp_path, coco_dict([_ann(1, 7, [100, 50, 40, 120])]))
    dets = [dict(image_id=7, category_id=1, bbox=[10, 10, 30, 60], score=0.9),
            dict(image_id=9, category_id=1, bbox=[5, 5, 20, 20], score=0.2),
            dict(image_id=9, category_id=3, bbox=[5, 5, 20, 20], score=0.99)]   # not a person
    bbox_file = write_json(tmp_path, dets, 'dets.json')
    ds = build(tmp_path, bbox_file=str(bbox_file), test_mode=True, input_size=(32, 32))
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert (info['id'], info['img_id']) == (1, 9)
    assert info['bbox_score'] == pytest.approx(0.2)
    np.testing.assert_allclose(info['bbox'], [5, 5, 25, 25])
    assert not info['keypoints_visible'].any()
    high = build(tmp_path, bbox_file=str(bbox_file), bbox_score_thr=0.5, test_mode=True)
    assert len(high) == 1 and high.get_data_info(0)['img_id'] == 7


def test_any_keypoint_count_comes_from_the_metainfo(tmp_path):
    info = dict(dataset_name='four', joint_weights=[1.0] * 4, sigmas=[0.05] * 4,
                keypoint_info={0: dict(name='a', id=0, swap='b', type='upper'),
                               1: dict(name='b', id=1, swap='a', type='upper'),
                               2: dict(name='c', id=2, swap='', type='lower'),
                               3: dict(name='d', id=3, swap='', type='lower')},
                skeleton_info={0: dict(link=('a', 'c'), id=0)})
    write_json(tmp_path, coco_dict([_ann(1, 7, [100, 50, 40, 120], num=4)]))
    ds = build(tmp_path, metainfo=info)
    assert ds.metainfo['num_keypoints'] == 4
    assert ds.get_data_info(0)['keypoints'].shape == (4, 2)
    with pytest.raises(CocoAnnotationError,
                       match=r"'keypoints': expected 51 numbers.*4 keypoints × 3; the "
                       r'metainfo has 17'):
        build(tmp_path)   # COCO's 17-keypoint metainfo


@pytest.mark.parametrize('mutate, match', [
    (lambda d: d['annotations'][0].update(keypoints=[1, 2]),
     r"annotations\[0\] \(id 1\): field 'keypoints': expected 51 numbers"),
    (lambda d: d['annotations'][0].update(image_id=99),
     r"annotations\[0\] \(id 1\): field 'image_id': no image with id 99"),
    (lambda d: d['annotations'][0].update(bbox=[1, 2, 'x', 4]),
     r"annotations\[0\] \(id 1\): field 'bbox'"),
    (lambda d: d['annotations'].append(_ann(1, 7, [0, 0, 5, 5])),
     r"annotations\[1\]: field 'id': annotation id 1 repeats annotations\[0\]"),
    (lambda d: d['images'][1].update(file_name='../../etc/passwd'),
     r"images\[1\] \(id 9\): field 'file_name'.*leaves the image folder"),
    (lambda d: d['images'][0].pop('width'), r"images\[0\] \(id 7\): field 'width'"),
    (lambda d: d.pop('images'), r"expected a COCO dict with 'images'"),
])
def test_malformed_files_name_file_record_and_field(tmp_path, mutate, match):
    data = coco_dict([_ann(1, 7, [100, 50, 40, 120])])
    mutate(data)
    path = write_json(tmp_path, data)
    with pytest.raises(CocoAnnotationError, match=match) as err:
        build(tmp_path)
    assert str(path) in str(err.value)


def test_missing_file_and_bad_detections(tmp_path):
    with pytest.raises(FileNotFoundError, match='make_synthetic_data.py coco'):
        build(tmp_path)
    write_json(tmp_path, coco_dict([_ann(1, 7, [100, 50, 40, 120])]))
    bad = write_json(tmp_path, [dict(image_id=7, category_id=1, bbox=[1, 1, 5, 5])],
                     'dets.json')
    with pytest.raises(CocoAnnotationError, match=r"dets.json: record 0: field 'score'"):
        build(tmp_path, bbox_file=str(bad), test_mode=True)
    unknown = write_json(tmp_path, [dict(image_id=5, category_id=1, bbox=[1, 1, 5, 5],
                                         score=1.0)], 'dets2.json')
    with pytest.raises(CocoAnnotationError, match=r"record 0: field 'image_id'"):
        build(tmp_path, bbox_file=str(unknown), test_mode=True)


# ------------------------------------------------------------------ synthetic twin
@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco_synth')
    write_coco_split(str(root), num_train=2, num_val=3, image_size=(320, 240), seed=1,
                     progress=False)
    return root


def test_synthetic_files_are_coco_format(synthetic_root):
    from pycocotools.coco import COCO
    coco = COCO(str(synthetic_root / ANN))
    assert coco.loadCats(1)[0]['keypoints'] == list(COCO_KEYPOINTS)
    assert list(COCO_KEYPOINTS) == [COCO_META['keypoint_id2name'][i] for i in range(K)]
    anns = coco.loadAnns(coco.getAnnIds())
    assert anns
    for ann in anns:
        kpts = np.reshape(ann['keypoints'], (K, 3))
        assert ann['num_keypoints'] == np.count_nonzero(kpts[:, 2])
        assert set(kpts[:, 2]) <= {0, 1, 2}
        assert np.all(kpts[kpts[:, 2] == 0, :2] == 0)
        assert ann['area'] == pytest.approx(0.5 * ann['bbox'][2] * ann['bbox'][3], abs=0.02)
        img = coco.imgs[ann['image_id']]
        assert (synthetic_root / 'val2017' / img['file_name']).is_file()
        visible = kpts[kpts[:, 2] > 0, :2]
        x, y, w, h = ann['bbox']
        assert np.all((visible >= [x - 1, y - 1]) & (visible <= [x + w + 1, y + h + 1]))
    dets = json.loads((synthetic_root / 'person_detection_results' /
                       'val2017_detections.json').read_text())
    assert dets and {d['image_id'] for d in dets} <= set(coco.imgs)


def test_synthetic_twin_loads_and_packs(synthetic_root):
    pipeline = [dict(type='LoadImage'),
                dict(type='TopdownAffine', input_size=(48, 64), augment=False),
                dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'bbox'))]
    ds = build(synthetic_root, pipeline=pipeline, test_mode=True)
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 64, 48)
    assert item['data_samples'].metainfo['id'] == ds.get_data_info(0)['id']
    assert item['data_samples'].gt_keypoints.shape == (K, 2)


def test_make_synthetic_data_tool_writes_coco(tmp_path, capsys):
    tool = load_tool('make_synthetic_data')
    tool.main(['coco', '--out', str(tmp_path), '--train', '1', '--val', '1',
               '--no-progress'])
    for split in ('train', 'val'):
        assert (tmp_path / 'annotations' / f'person_keypoints_{split}2017.json').is_file()
        assert list((tmp_path / f'{split}2017').glob('*.jpg'))
    assert 'CocoDataset' in capsys.readouterr().out
    tool.main(['coco', '--out', str(tmp_path), '--skip-existing'])
    assert 'skipping' in capsys.readouterr().out


def test_parsed_coco_metainfo_is_the_default():
    parsed = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    assert CocoDataset._load_metainfo()['flip_indices'] == parsed['flip_indices']


# ------------------------------------------------------------- missing images
def _two_images(tmp_path):
    """a.jpg (id 7, one person) and b.jpg (id 9, two people); their placeholder files."""
    write_json(tmp_path, coco_dict([_ann(1, 7, [100, 50, 40, 120]),
                                    _ann(2, 9, [10, 20, 30, 40]),
                                    _ann(3, 9, [50, 60, 30, 40])]))
    return tmp_path / 'val2017'


def test_a_missing_image_is_an_error_at_start_up_naming_it(tmp_path):
    folder = _two_images(tmp_path)
    (folder / 'b.jpg').unlink()
    with pytest.raises(FileNotFoundError) as err:
        build(tmp_path)
    message = str(err.value)
    assert message.startswith(str(tmp_path / ANN))
    assert (f"1 of 2 image files not found or not readable" in message and
            f"images[1] (id 9): field 'file_name': image file {folder / 'b.jpg'} not "
            'found or not readable (2 sample(s))' in message)
    assert 'a.jpg' not in message and 'skip_invalid=True' in message
    # The detections' images are checked as well.
    dets = write_json(tmp_path, [dict(image_id=9, category_id=1, bbox=[5, 5, 20, 20],
                                      score=0.9)], 'dets.json')
    with pytest.raises(FileNotFoundError, match=r"images\[1\] \(id 9\).*b\.jpg"):
        build(tmp_path, bbox_file=str(dets), test_mode=True)


def _skip_logs(monkeypatch):
    from hpekit.datasets import skipping
    logs = []
    monkeypatch.setattr(skipping, 'print_log', lambda msg, **kw: logs.append(msg))
    return logs


def test_skip_invalid_drops_the_samples_of_missing_images_with_a_count(tmp_path,
                                                                      monkeypatch):
    folder = _two_images(tmp_path)
    (folder / 'b.jpg').unlink()
    logs = _skip_logs(monkeypatch)
    ds = build(tmp_path, skip_invalid=True)
    assert len(ds) == 1 and ds.get_data_info(0)['img_id'] == 7
    assert len(logs) == 2
    assert str(folder / 'b.jpg') in logs[0] and '(2 sample(s))' in logs[0]
    assert logs[1].endswith(f'{tmp_path / ANN}: skipped 1 of 2 records; 1 kept')
    (folder / 'a.jpg').unlink()   # nothing left: an error, not an empty dataset
    with pytest.raises(FileNotFoundError, match='none of its 2 image files'):
        build(tmp_path, skip_invalid=True)


@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() == 0,
                    reason='root reads files whatever their permissions')
def test_an_unreadable_image_counts_as_missing(tmp_path):
    folder = _two_images(tmp_path)
    (folder / 'a.jpg').chmod(0)
    try:
        with pytest.raises(FileNotFoundError, match=r"images\[0\] \(id 7\).*a\.jpg not "
                                                    'found or not readable'):
            build(tmp_path)
    finally:
        (folder / 'a.jpg').chmod(0o644)


def test_skip_invalid_replaces_a_corrupt_image_in_training_only(tmp_path, monkeypatch):
    folder = _two_images(tmp_path)
    cv2.imwrite(str(folder / 'b.jpg'), np.full((240, 320, 3), 128, np.uint8))
    (folder / 'a.jpg').write_bytes(b'not an image')
    pipeline = [dict(type='LoadImage'),
                dict(type='TopdownAffine', input_size=(24, 32), augment=False),
                dict(type='PackPoseInputs', meta_keys=('id', 'img_id'))]
    logs = _skip_logs(monkeypatch)
    ds = build(tmp_path, pipeline=pipeline, skip_invalid=True)
    assert ds.prepare_data(0) is None and ds.skipped_images == 1
    assert 'a.jpg' in logs[0] and '1 skipped so far' in logs[0]
    assert ds[0]['data_samples'].metainfo['img_id'] == 9   # another sample instead
    for kwargs in (dict(skip_invalid=True, test_mode=True), dict()):
        with pytest.raises(OSError, match='a.jpg'):
            build(tmp_path, pipeline=pipeline, **kwargs)[0]
