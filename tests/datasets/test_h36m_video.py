"""H36MVideoDataset on MMPose's preprocessed layout (written by the synthetic twin),
LoadClipCrops, the restricted camera unpickler and the per-action metric."""
import os
import pickle

import numpy as np
import pytest
import torch

from hpekit.datasets.h36m_video import (H36MVideoDataset, action_category, clip_starts,
                                        load_camera_params, parse_h36m_imgname)
from hpekit.datasets.synthetic.h36m_full import write_h36m_full
from hpekit.datasets.transforms import LoadClipCrops
from hpekit.evaluation.functional import mpjpe
from hpekit.evaluation.metrics import H36MPerActionMPJPE


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('h36m_full')
    write_h36m_full(str(root), subjects=('S1', 'S5', 'S9'), actions=('Walking', 'Photo'),
                    subactions=2, num_cameras=2, num_frames=7, image_size=64,
                    progress=False)
    return root


def npz(root, split):
    return dict(np.load(root / 'annotation_body3d' / 'fps50' / f'h36m_{split}.npz'))


# ------------------------------------------------------------------ layout, names
def test_the_twin_writes_mmpose_layout(root):
    train = npz(root, 'train')
    assert 'S1/S1_TakingPhoto_1.54138969/S1_TakingPhoto_1.54138969_000001.jpg' in \
        train['imgname']   # S1's files use the release's other name for Photo
    n = 2 * 2 * 2 * 2 * 7   # subjects × actions × subactions × cameras × frames
    assert train['S'].shape == (n, 17, 4) and train['part'].shape == (n, 17, 3)
    assert train['center'].shape == (n, 2) and train['scale'].shape == (n,)
    assert set(np.char.partition(train['imgname'], '/')[:, 0]) == {'S1', 'S5'}
    assert set(np.char.partition(npz(root, 'test')['imgname'], '/')[:, 0]) == {'S9'}
    assert all((root / 'images' / name).is_file() for name in train['imgname'])
    cams = load_camera_params(str(root / 'annotation_body3d' / 'cameras.pkl'))
    cam = cams[('S1', '54138969')]
    assert cam['R'].shape == (3, 3) and cam['w'] == 64 and ('S11', '55011271') in cams
    # the 2D joints are the projection of S through the camera
    xy = train['S'][0, :, :2] / train['S'][0, :, 2:3] * cam['f'][:, 0] + cam['c'][:, 0]
    np.testing.assert_allclose(xy, train['part'][0, :, :2], atol=1e-6)


@pytest.mark.parametrize('name, expect', [
    ('S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg',
     ('S1', 'Directions_1', 'Directions', '54138969', 1)),
    ('S11_WalkTogether.60457274_000121.jpg', ('S11', 'WalkTogether', 'WalkTogether',
                                              '60457274', 121)),
    ('S1/S1_TakingPhoto_1.55011271/S1_TakingPhoto_1.55011271_000006.jpg',
     ('S1', 'TakingPhoto_1', 'Photo', '55011271', 6)),
    ('S5_WalkingDog 1.58860488_000002.jpg', ('S5', 'WalkingDog_1', 'WalkDog', '58860488', 2)),
])
def test_imgname_parsing_and_action_merging(name, expect):
    key = parse_h36m_imgname(name)
    assert (key['subject'], key['action'], key['category'], key['camera'],
            key['frame']) == expect


def test_bad_imgname_is_named():
    with pytest.raises(ValueError, match='S1_Directions.jpg'):
        parse_h36m_imgname('S1_Directions.jpg')
    assert action_category('Walking 1') == 'Walking'


def test_clip_starts_cover_every_frame_with_padding():
    assert clip_starts(10, 4, 4) == [0, 4]
    assert clip_starts(10, 4, 4, pad=True) == [0, 4, 8]
    assert clip_starts(3, 4, 4) == [] and clip_starts(3, 4, 4, pad=True) == [0]
    assert clip_starts(10, 3, 2, frame_interval=2) == [0, 2, 4]


# ------------------------------------------------------------------------ dataset
def test_clips_targets_are_s_minus_pelvis(root):
    ds = H36MVideoDataset(str(root), split='train', seq_len=4, seq_step=3)
    train = npz(root, 'train')
    assert len(ds.sequences) == 2 * 2 * 2 * 2 and len(ds) == 16 * 2   # starts 0, 3
    for i in (0, 5, len(ds) - 1):
        info = ds.get_data_info(i)
        rows = info['frame_ids']
        s = train['S'][rows, :, :3]
        np.testing.assert_allclose(info['joints_3d'], s - s[:, :1], atol=1e-6)
        assert [p[-10:-4] for p in info['img_paths']] == \
            [n[-10:-4] for n in train['imgname'][rows]]
        assert info['action'] in ('Walking', 'Photo') and info['subject'] in ('S1', 'S5')
        assert np.all(np.diff(rows) == 1)   # consecutive frames of one sequence


def test_test_split_predicts_every_frame(root):
    ds = H36MVideoDataset(str(root), split='test', seq_len=4, seq_step=4,
                          pad_video_seq=True)
    ids = np.concatenate([ds.get_data_info(i)['frame_ids'] for i in range(len(ds))])
    assert sorted(ids[ids >= 0]) == list(range(len(npz(root, 'test')['imgname'])))
    assert (ids == -1).sum() == len(ds.sequences) * 1   # 7 frames → 2 clips, 1 padded
    info = ds.get_data_info(1)
    assert info['img_paths'][-1] == info['img_paths'][-2]   # edge repeat


def test_subjects_actions_and_cameras_are_configurable(root):
    ds = H36MVideoDataset(str(root), split='train', subjects=['S5'], actions=['TakingPhoto'],
                          cameras=['55011271'], seq_len=2, seq_step=7)
    assert {(s['subject'], s['action'], s['camera']) for s in ds.sequences} == \
        {('S5', 'Photo', '55011271')}
    assert len(ds) == 2


def test_frames_are_person_centred_crops(root):
    ds = H36MVideoDataset(str(root), split='test', seq_len=3, seq_step=3, pipeline=[
        LoadClipCrops(input_size=(32, 32)), dict(type='GenerateTarget', encoder=dict(
            type='RootRelativeJoints3D', input_size=(32, 32), num_frames=3)),
        dict(type='PackClipInputs')])
    item = ds[0]
    assert item['inputs'].shape == (3, 3, 32, 32) and item['inputs'].dtype == torch.uint8
    meta = item['data_samples'].metainfo
    assert meta['action'] in ('Walking', 'Photo') and len(meta['frame_ids']) == 3
    raw = ds.get_data_info(0)
    out = LoadClipCrops(input_size=(32, 32))(raw)
    kp = out['keypoints_input']
    assert kp.min() > 0 and kp.max() < 31   # every joint inside the crop
    np.testing.assert_allclose((kp.min(1) + kp.max(1)) / 2, 15.5, atol=0.6)  # centred
    # the body is drawn where its joints are: brighter than the background corners
    frame = out['frames'][0].astype(float).sum(-1)
    joints = np.round(kp[0]).astype(int)
    assert frame[joints[:, 1], joints[:, 0]].mean() > frame[:4, :4].mean()


def test_missing_and_bad_files_are_named(root, tmp_path):
    with pytest.raises(FileNotFoundError, match='make_synthetic_data.py h36m-full'):
        H36MVideoDataset(str(tmp_path), split='train')
    bad = tmp_path / 'annotation_body3d' / 'fps50'
    bad.mkdir(parents=True)
    fields = npz(root, 'train')
    np.savez(bad / 'h36m_train.npz', **{k: v for k, v in fields.items() if k != 'S'})
    with pytest.raises(ValueError, match=r"h36m_train.npz: missing field 'S'"):
        H36MVideoDataset(str(tmp_path), split='train')
    np.savez(bad / 'h36m_train.npz', **dict(fields, S=fields['S'][:, :16]))
    with pytest.raises(ValueError, match=r"bad field 'S'"):
        H36MVideoDataset(str(tmp_path), split='train')
    names = fields['imgname'].copy()
    names[3] = '../../etc/S1_Walking.54138969_000001.jpg'
    np.savez(bad / 'h36m_train.npz', **dict(fields, imgname=names))
    with pytest.raises(ValueError, match='bad imgname'):
        H36MVideoDataset(str(tmp_path), split='train')
    with pytest.raises(ValueError, match='leaves data_root'):
        H36MVideoDataset(str(root), ann_file='../outside.npz')
    with pytest.raises(ValueError, match='pad_video_seq'):
        H36MVideoDataset(str(root), seq_len=4, seq_step=5, pad_video_seq=True)


def test_dataset_keeps_no_frames(root):
    # frames are decoded by the pipeline, clip by clip: the dataset holds annotations
    ds = H36MVideoDataset(str(root), split='train', seq_len=4, seq_step=3,
                          pipeline=[LoadClipCrops(input_size=(32, 32))])
    for i in range(len(ds)):
        ds[i]
    held = [k for k, v in vars(ds).items() if isinstance(v, np.ndarray) and v.ndim >= 3
            and v.dtype == np.uint8]
    assert not held
    restored = pickle.loads(pickle.dumps(ds))   # DataLoader workers
    np.testing.assert_array_equal(restored[3]['frames'], ds[3]['frames'])


# --------------------------------------------------------------- cameras.pkl
class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f'touch {self.path}', )


def test_crafted_camera_pickle_runs_no_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'cameras.pkl'
    path.write_bytes(pickle.dumps({('S1', '1'): {'R': np.eye(3), 'x': _Exploit(marker)}}))
    with pytest.raises(ValueError, match='refused to load (posix|os|nt).system'):
        load_camera_params(str(path))
    assert not marker.exists()
    path.write_bytes(pickle.dumps(np.array([print], dtype=object)))
    with pytest.raises(ValueError, match='object dtype'):
        load_camera_params(str(path))
    path.write_bytes(pickle.dumps({('S1', '1'): dict(R=np.eye(3), w=1000, f=np.float64(2))}))
    assert load_camera_params(str(path))[('S1', '1')]['f'] == 2.0


# ------------------------------------------------------------------------ metric
def test_per_action_metric_averages_overlapping_clips():
    rng = np.random.default_rng(0)
    gt = rng.normal(scale=0.2, size=(5, 17, 3))
    pred = gt + 0.01
    pred_b = gt + 0.03   # a second clip predicts frames 2, 3 differently
    samples = [dict(pred_joints_3d=pred[[0, 1, 2, 3]], gt_joints_3d=gt[[0, 1, 2, 3]],
                    frame_ids=np.array([0, 1, 2, 3]), action='Walking'),
               dict(pred_joints_3d=pred_b[[2, 3, 4, 4]], gt_joints_3d=gt[[2, 3, 4, 4]],
                    frame_ids=np.array([2, 3, -1, -1]), action='Walking'),
               dict(pred_joints_3d=pred[[4]], gt_joints_3d=gt[[4]], frame_ids=np.array([4]),
                    action='Eating')]
    metric = H36MPerActionMPJPE(per_joint=False)
    metric.process({}, samples)
    result = metric.compute_metrics(metric.results)
    merged = np.concatenate([pred[:2], (pred[2:4] + pred_b[2:4]) / 2])
    walk = mpjpe(merged, gt[:4]) * 1000
    assert result['MPJPE/Walking'] == pytest.approx(walk, rel=1e-5)
    assert result['MPJPE/Eating'] == pytest.approx(np.sqrt(3) * 10, rel=1e-4)
    assert result['MPJPE/Avg'] == pytest.approx((walk + np.sqrt(3) * 10) / 2, rel=1e-5)
    assert result['mpjpe'] == pytest.approx((4 * walk + np.sqrt(3) * 10) / 5, rel=1e-5)
    assert result['PA-MPJPE/Eating'] <= result['MPJPE/Eating']
