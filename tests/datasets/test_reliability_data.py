"""Bad data: clear errors naming file, record and expectation; ``skip_invalid`` skips.

(Length, dtype and shape mismatches of the H36M files and malformed MPII records are
covered in test_h36m_dataset.py / test_mpii_dataset.py; zero head sizes in
test_pckh.py.)
"""
import json

import cv2
import numpy as np
import pytest

from hpekit.datasets import skipping
from hpekit.datasets.h36m_clips import H36MClipDataset
from hpekit.datasets.mpii import MPIIAnnotationError, MPIIDataset


def _h36m(root, joints):
    n, t = joints.shape[:2]
    np.save(root / 'videoframes_clips_train.npy', np.zeros((n, t, 8, 8, 3), np.uint8))
    np.save(root / 'joint_3d_clips_train.npy', joints)
    return str(root / 'joint_3d_clips_train.npy')


def _joints(n=6):
    return np.random.default_rng(0).normal(0, 0.3, (n, 4, 17, 3)).astype(np.float32)


@pytest.mark.parametrize('bad, found', [(np.nan, 'nan'), (np.inf, 'inf'), (-np.inf, '-inf')])
def test_non_finite_label_names_file_clip_frame_and_joint(tmp_path, bad, found):
    joints = _joints()
    joints[3, 2, 10, 1] = bad
    path = _h36m(tmp_path, joints)
    with pytest.raises(ValueError) as err:
        H36MClipDataset(str(tmp_path))
    message = str(err.value)
    assert message.startswith(f'{path}: clip 3: bad joints: expected finite values')
    assert found in message and 'frame 2, joint head' in message
    assert 'skip_invalid=True' in message


def test_millimetres_instead_of_metres_is_an_error(tmp_path):
    path = _h36m(tmp_path, _joints() * 1000)
    with pytest.raises(ValueError, match=rf'{path}: clip 0: .*expected metres.*millimetres'):
        H36MClipDataset(str(tmp_path))


@pytest.fixture
def warnings_logged(monkeypatch):
    """The texts hpekit.datasets.skipping logs (mmengine's logger holds its own stream)."""
    texts = []
    monkeypatch.setattr(skipping, 'print_log', lambda msg, **kwargs: texts.append(msg))
    return texts


def test_h36m_skip_invalid_drops_and_counts_bad_clips(tmp_path, warnings_logged):
    joints = _joints()
    joints[1, 0, 0, 0] = np.nan
    joints[4] *= 1000
    _h36m(tmp_path, joints)
    dataset = H36MClipDataset(str(tmp_path), skip_invalid=True)
    log = '\n'.join(warnings_logged)
    assert [dataset.get_data_info(i)['sample_idx'] for i in range(len(dataset))] == [0, 2, 3, 5]
    np.testing.assert_array_equal(dataset.get_data_info(2)['joints_3d'], joints[3])
    assert 'clip 1: bad joints' in log and 'clip 4: bad joints' in log
    assert 'skipped 2 of 6 records; 4 kept' in log


# ---------------------------------------------------------------------------- MPII
def _record(image):
    return {'image': image, 'center': [32.0, 32.0], 'scale': 0.2,
            'joints': [[20.0 + k, 30.0] for k in range(16)], 'joints_vis': [1] * 16}


def _mpii(root, records, images=()):
    (root / 'annotations').mkdir()
    (root / 'images').mkdir()
    (root / 'annotations' / 'mpii_train.json').write_text(json.dumps(records))
    for name in images:
        cv2.imwrite(str(root / 'images' / name), np.full((64, 64, 3), 128, np.uint8))
    return str(root / 'annotations' / 'mpii_train.json')


def test_mpii_skip_invalid_drops_malformed_records_and_missing_images(tmp_path,
                                                                      warnings_logged):
    short = _record('a.jpg')
    short['joints'] = short['joints'][:15]
    no_scale = _record('a.jpg')
    del no_scale['scale']
    records = [_record('a.jpg'), short, _record('missing.jpg'), no_scale, _record('b.jpg')]
    path = _mpii(tmp_path, records, images=['a.jpg', 'b.jpg'])
    with pytest.raises(MPIIAnnotationError, match='record 1'):
        MPIIDataset(str(tmp_path))
    dataset = MPIIDataset(str(tmp_path), skip_invalid=True)
    log = '\n'.join(warnings_logged)
    assert [dataset.get_data_info(i)['sample_idx'] for i in range(len(dataset))] == [0, 4]
    assert f"{path}: record 1: field 'joints'" in log
    assert 'record 2' in log and 'missing.jpg not found' in log
    assert f"{path}: record 3: field 'scale': missing" in log
    assert 'skipped 3 of 5 records; 2 kept' in log


def test_mpii_missing_and_corrupt_images_name_the_file_and_record(tmp_path):
    _mpii(tmp_path, [_record('a.jpg'), _record('broken.jpg'), _record('gone.jpg')],
          images=['a.jpg'])
    (tmp_path / 'images' / 'broken.jpg').write_bytes(b'\xff\xd8\xff not really a jpeg')
    dataset = MPIIDataset(str(tmp_path), pipeline=[dict(type='LoadImage')])
    assert dataset[0]['img'].shape == (64, 64, 3)
    with pytest.raises(OSError, match=r'broken\.jpg \(sample_idx 1, image broken\.jpg\): '
                                      r'the file is corrupt or not an image'):
        dataset[1]
    with pytest.raises(FileNotFoundError, match=r'gone\.jpg \(sample_idx 2, image gone'):
        dataset[2]


def test_mpii_skip_invalid_replaces_corrupt_images_in_training(tmp_path, warnings_logged):
    _mpii(tmp_path, [_record('a.jpg'), _record('broken.jpg')], images=['a.jpg', 'broken.jpg'])
    (tmp_path / 'images' / 'broken.jpg').write_bytes(b'\xff\xd8\xff not really a jpeg')
    train = MPIIDataset(str(tmp_path), pipeline=[dict(type='LoadImage')], skip_invalid=True)
    assert train[1]['sample_idx'] == 0      # the corrupt sample was replaced by the good one
    # The random re-fetch may draw broken.jpg again: each attempt is logged and counted.
    assert train.skipped_images == len(warnings_logged) >= 1
    assert all('broken.jpg' in text for text in warnings_logged)
    assert f'{train.skipped_images} skipped so far' in warnings_logged[-1]
    test = MPIIDataset(str(tmp_path), pipeline=[dict(type='LoadImage')], skip_invalid=True,
                       test_mode=True)
    with pytest.raises(OSError, match=r'broken\.jpg'):
        test[1]                              # evaluation never silently drops a sample
