"""Bad data files and records: each is a clear error naming the file, record and field
(MPII ranges and paths, empty/truncated/foreign Human3.6M arrays, unreadable .mat)."""
import json

import numpy as np
import pytest

from hpekit.datasets.h36m_clips import H36MClipDataset
from hpekit.datasets.mpii import MPIIAnnotationError, MPIIDataset
from hpekit.evaluation.functional import load_mpii_gt

GOOD = dict(image='a.jpg', center=[100.0, 120.0], scale=1.5,
            joints=[[100.0, 100.0]] * 16, joints_vis=[1] * 16)


def write_json(tmp_path, records):
    (tmp_path / 'annotations').mkdir(exist_ok=True)
    (tmp_path / 'annotations' / 'mpii_train.json').write_text(json.dumps(records))
    return tmp_path


@pytest.mark.parametrize('field, value, message', [
    ('joints_vis', [2] + [1] * 15, 'expected 0 or 1'),
    ('joints_vis', [-1] + [1] * 15, 'expected 0 or 1'),
    ('scale', 1e-9, r'\[0.01, 200.0\]'),
    ('scale', 1e9, r'\[0.01, 200.0\]'),
    ('scale', True, 'positive number'),
    ('center', [1e7, 5.0], 'beyond'),
    ('image', '../../etc/passwd', 'leaves the image folder'),
    ('image', '/etc/passwd', 'leaves the image folder'),
])
def test_implausible_mpii_records_are_named(tmp_path, field, value, message):
    root = write_json(tmp_path, [GOOD, dict(GOOD, **{field: value})])
    with pytest.raises(MPIIAnnotationError, match=message) as err:
        MPIIDataset(data_root=str(root))
    assert 'mpii_train.json: record 1' in str(err.value) and repr(field) in str(err.value)


def test_outside_paths_only_when_allowed_and_empty_files(tmp_path):
    root = write_json(tmp_path, [dict(GOOD, image='../shared/a.jpg')])
    dataset = MPIIDataset(data_root=str(root), allow_outside_paths=True)
    assert dataset.get_data_info(0)['img_path'].endswith('shared/a.jpg')
    write_json(tmp_path, [])
    with pytest.raises(MPIIAnnotationError, match='no person records'):
        MPIIDataset(data_root=str(tmp_path))


@pytest.mark.parametrize('content, message', [
    (b'', 'not a readable .npy'),
    (b'\x93NUMPY\x01\x00', 'not a readable .npy'),
    (b'hello world, not numpy', 'not a readable .npy'),
])
def test_bad_h36m_files_name_the_file(tmp_path, content, message):
    rng = np.random.default_rng(0)
    np.save(tmp_path / 'joint_3d_clips_train.npy', rng.normal(size=(2, 2, 17, 3)) * 0.1)
    (tmp_path / 'videoframes_clips_train.npy').write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        H36MClipDataset(data_root=str(tmp_path))
    assert 'videoframes_clips_train.npy' in str(err.value)
    assert 'allow_pickle' not in str(err.value)


def test_zero_clips_and_pickled_arrays(tmp_path):
    np.save(tmp_path / 'videoframes_clips_train.npy', np.zeros((0, 2, 8, 8, 3), np.uint8))
    np.save(tmp_path / 'joint_3d_clips_train.npy', np.zeros((0, 2, 17, 3), np.float32))
    with pytest.raises(ValueError, match='0 clips'):
        H36MClipDataset(data_root=str(tmp_path))
    np.save(tmp_path / 'videoframes_clips_train.npy', np.array([{'a': 1}], dtype=object))
    with pytest.raises(ValueError, match='not a readable .npy'):
        H36MClipDataset(data_root=str(tmp_path))


def test_unreadable_mat_names_the_file(tmp_path):
    path = tmp_path / 'gt.mat'
    path.write_bytes(b'MATLAB 5.0 MAT-file' + b'\x00' * 10)
    with pytest.raises(ValueError, match='gt.mat: not a readable MATLAB'):
        load_mpii_gt(str(path))
