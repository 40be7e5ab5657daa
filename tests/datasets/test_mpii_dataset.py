"""MPIIDataset: loading conventions, metainfo and error messages on malformed files."""
import json
import os.path as osp

import numpy as np
import pytest
from metainfo_values import MPII_FLIP_INDICES, MPII_JOINT_NAMES, MPII_META, MPII_SKELETON, metainfo

from hpekit.datasets import keypoint_names
from hpekit.datasets.mpii import MPIIAnnotationError, MPIIDataset, parse_mpii_record
from hpekit.registry import DATASETS


def _record(image='a.jpg', offset=0.0, scale=1.5):
    joints = [[100.0 + 10 * k + offset, 200.0 + 5 * k] for k in range(16)]
    return {'image': image, 'center': [300.0 + offset, 250.0], 'scale': scale,
            'joints': joints, 'joints_vis': [1] * 8 + [0] * 8}


def _write(tmp_path, records, name='mpii_train.json'):
    (tmp_path / 'annotations').mkdir(exist_ok=True)
    path = tmp_path / 'annotations' / name
    path.write_text(json.dumps(records))
    return str(path)


def _dataset(tmp_path, records, **kwargs):
    _write(tmp_path, records)
    return MPIIDataset(str(tmp_path), **kwargs)


def test_metainfo_file():
    assert len(MPII_JOINT_NAMES) == 16 and MPII_JOINT_NAMES[0] == 'right_ankle'
    assert MPII_JOINT_NAMES[9] == 'head_top' and MPII_JOINT_NAMES[15] == 'left_wrist'
    assert [MPII_FLIP_INDICES[i] for i in MPII_FLIP_INDICES] == list(range(16))
    for a, b in ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)):
        assert MPII_FLIP_INDICES[a] == b and MPII_FLIP_INDICES[b] == a
    assert all(MPII_FLIP_INDICES[k] == k for k in (6, 7, 8, 9))
    mirrored = {'left': 'right', 'right': 'left'}
    for name, flipped in zip(MPII_JOINT_NAMES, (MPII_JOINT_NAMES[k] for k in MPII_FLIP_INDICES)):
        side, _, rest = name.partition('_')
        assert flipped == (f'{mirrored[side]}_{rest}' if side in mirrored else name)
    joints_in_bones = {j for bone in MPII_SKELETON for j in bone}
    assert joints_in_bones == set(range(16)) and len(MPII_SKELETON) == 15


def test_conventions(tmp_path):
    dataset = _dataset(tmp_path, [_record('a.jpg'), _record('b.jpg', offset=7, scale=2.0)])
    assert len(dataset) == 2
    info = dataset[1]   # no pipeline: the data info itself
    assert info['sample_idx'] == 1 and info['image_id'] == 'b.jpg'
    assert info['img_path'] == osp.join(str(tmp_path), 'images', 'b.jpg')
    # 1-based → 0-based, then 15·scale px down; box scale·200·1.25, square
    np.testing.assert_allclose(info['center'], [307 - 1, 250 - 1 + 15 * 2.0])
    np.testing.assert_allclose(info['bbox_size'], [2.0 * 250, 2.0 * 250])
    np.testing.assert_allclose(info['keypoints'][3], [100 + 30 + 7 - 1, 200 + 15 - 1])
    assert info['keypoints_visible'].tolist() == [1.0] * 8 + [0.0] * 8
    for key, shape in (('center', (2,)), ('bbox_size', (2,)), ('keypoints', (16, 2)),
                       ('keypoints_visible', (16,))):
        assert info[key].dtype == np.float32 and info[key].shape == shape
    # the per-sample metainfo keys every pose dataset adds
    assert info['flip_indices'] == list(MPII_FLIP_INDICES)
    assert info['upper_body_ids'] == list(range(7, 16))
    assert info['lower_body_ids'] == list(range(0, 7))
    np.testing.assert_allclose(info['dataset_keypoint_weights'],
                               MPII_META['dataset_keypoint_weights'])


def test_parse_mpii_record_takes_the_keypoint_count(tmp_path):
    info = parse_mpii_record('x.json', 4, _record('c.jpg'), str(tmp_path), 16)
    assert info['sample_idx'] == 4 and info['keypoints'].shape == (16, 2)
    assert 'flip_indices' not in info          # the dataset adds the metainfo keys
    record = _record()
    record['joints'], record['joints_vis'] = record['joints'][:15], record['joints_vis'][:15]
    assert parse_mpii_record('x.json', 0, record, '', 15)['keypoints'].shape == (15, 2)
    with pytest.raises(MPIIAnnotationError, match=r'x.json.*record 0.*\(16, 2\)'):
        parse_mpii_record('x.json', 0, record, '', 16)


def test_metainfo_argument_sets_the_keypoints(tmp_path):
    """A config's ``metainfo`` replaces MPII's; records must then have its joint count."""
    record = _record()
    record['joints'], record['joints_vis'] = record['joints'][:15], record['joints_vis'][:15]
    jhmdb = dict(from_file='configs/_base_/datasets/jhmdb.py')
    dataset = _dataset(tmp_path, [record], metainfo=jhmdb)
    assert dataset.metainfo['dataset_name'] == 'jhmdb'
    info = dataset.get_data_info(0)
    assert info['keypoints'].shape == (15, 2)
    assert info['flip_indices'] == metainfo('jhmdb')['flip_indices']
    with pytest.raises(MPIIAnnotationError, match=r'\(16, 2\)'):
        MPIIDataset(str(tmp_path))               # MPII's metainfo: 16 joints


def test_visibility_is_binary_float(tmp_path):
    record = _record()
    record['joints_vis'] = [1, 0, 1.0, 0.0] * 4
    info = _dataset(tmp_path, [record]).get_data_info(0)
    assert info['keypoints_visible'].tolist() == [1.0, 0.0, 1.0, 0.0] * 4
    record['joints_vis'] = [2, 0, 1, 0] * 4     # MPII flags are 0/1: 2 is an error
    with pytest.raises(MPIIAnnotationError, match='expected 0 or 1'):
        _dataset(tmp_path, [record])


def test_subset_keeps_json_position(tmp_path):
    dataset = _dataset(tmp_path, [_record(f'{i}.jpg') for i in range(5)], indices=[1, 3])
    assert len(dataset) == 2
    assert [dataset[i]['sample_idx'] for i in range(2)] == [1, 3]
    assert [dataset[i]['image_id'] for i in range(2)] == ['1.jpg', '3.jpg']


def test_metainfo_registry_and_no_image_access(tmp_path):
    _write(tmp_path, [_record('missing.jpg')], 'mpii_val.json')
    dataset = DATASETS.build(dict(type='MPIIDataset', data_root=str(tmp_path),
                                  ann_file='annotations/mpii_val.json', test_mode=True))
    assert dataset.metainfo['dataset_name'] == 'mpii'
    assert keypoint_names(dataset.metainfo) == list(MPII_JOINT_NAMES)
    assert dataset.metainfo['flip_indices'] == list(MPII_FLIP_INDICES)
    assert [tuple(b) for b in dataset.metainfo['skeleton_links']] == list(MPII_SKELETON)
    assert dataset.metainfo['pckh_table'] == MPII_META['pckh_table']
    assert len(dataset) == 1   # the image does not exist: not opened here


def test_pipeline_is_applied(tmp_path):
    dataset = _dataset(tmp_path, [_record()], pipeline=[lambda r: {'x': r['image_id']}])
    assert dataset[0] == {'x': 'a.jpg'}


def test_missing_file_says_how_to_make_data(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        MPIIDataset(str(tmp_path))
    message = str(err.value)
    assert osp.join(str(tmp_path), 'annotations', 'mpii_train.json') in message
    assert 'python tools/make_synthetic_data.py mpii --out' in message


def test_lazy_init_defers_reading(tmp_path):
    dataset = MPIIDataset(str(tmp_path), lazy_init=True)
    _write(tmp_path, [_record()])
    assert len(dataset) == 1


def test_not_a_list(tmp_path):
    _write(tmp_path, {'image': 'a.jpg'})
    with pytest.raises(MPIIAnnotationError, match='mpii_train.json.*list'):
        MPIIDataset(str(tmp_path))


def test_not_json(tmp_path):
    path = _write(tmp_path, [])
    with open(path, 'w') as f:
        f.write('[{"image": ')
    with pytest.raises(MPIIAnnotationError, match='mpii_train.json.*not valid JSON'):
        MPIIDataset(str(tmp_path))


def _bad(**changes):
    record = _record()
    for key, value in changes.items():
        if value is KeyError:
            del record[key]
        else:
            record[key] = value
    return record


@pytest.mark.parametrize('record, field, text', [
    (_bad(joints=KeyError), 'joints', 'missing'),
    (_bad(image=KeyError), 'image', 'missing'),
    (_bad(scale=KeyError), 'scale', 'missing'),
    (_bad(joints=[[1.0, 2.0]] * 15), 'joints', r'\(16, 2\)'),
    (_bad(joints=[[1.0, 2.0, 3.0]] * 16), 'joints', r'\(16, 2\)'),
    (_bad(joints=[[1.0, 2.0]] * 15 + [[1.0]]), 'joints', r'\(16, 2\)'),
    (_bad(joints=[[float('nan'), 2.0]] * 16), 'joints', 'NaN'),
    (_bad(joints_vis=[1] * 15), 'joints_vis', r'\(16,\)'),
    (_bad(center=[1.0]), 'center', r'\(2,\)'),
    (_bad(center=[float('nan'), 1.0]), 'center', 'NaN'),
    (_bad(scale=0), 'scale', 'positive'),
    (_bad(scale=-1.0), 'scale', 'positive'),
    (_bad(scale=float('nan')), 'scale', 'finite'),
    (_bad(scale=float('inf')), 'scale', 'finite'),
    (_bad(scale='big'), 'scale', 'positive number'),
    (_bad(image=3), 'image', 'file name'),
])
def test_malformed_record_names_file_record_and_field(tmp_path, record, field, text):
    with pytest.raises(MPIIAnnotationError) as err:
        _dataset(tmp_path, [_record(), _record(), record])
    message = str(err.value)
    assert 'mpii_train.json' in message and 'record 2' in message
    assert f"'{field}'" in message
    assert __import__('re').search(text, message), message


def test_record_not_a_dict(tmp_path):
    with pytest.raises(MPIIAnnotationError, match=r'mpii_train.json: record 1: expected a dict'):
        _dataset(tmp_path, [_record(), [1, 2]])
