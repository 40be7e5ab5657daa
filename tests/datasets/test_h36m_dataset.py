"""H36MClipDataset / SyntheticH36MClips: loading, validation, pickling, the writer, the CLI."""
import copy
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from metainfo_values import H36M_FLIP_INDICES, H36M_JOINT_NAMES, H36M_META, H36M_SKELETON, MPII_META
from tool_loader import load_tool

from hpekit.datasets import MetainfoError, keypoint_names
from hpekit.datasets.h36m_clips import H36MClipDataset, SyntheticH36MClips
from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.registry import DATASETS
from hpekit.structures import PoseDataSample

REPO = Path(__file__).resolve().parents[2]
VIDEO, JOINT = 'videoframes_clips_{}.npy', 'joint_3d_clips_{}.npy'


def write_split(root, split='train', n=5, t=8, size=32, videos=None, joints=None):
    """Save a small split in the course format (or the given arrays); return them."""
    rng = np.random.default_rng(0)
    if videos is None:
        videos = rng.integers(0, 256, (n, t, size, size, 3), dtype=np.uint8)
    if joints is None:
        joints = rng.normal(0, 0.3, (n, t, 17, 3))   # float64 is allowed
    np.save(root / VIDEO.format(split), videos)
    np.save(root / JOINT.format(split), joints)
    return videos, joints


def test_loads_course_format_lazily(tmp_path):
    videos, joints = write_split(tmp_path)
    ds = H36MClipDataset(str(tmp_path), split='train')
    assert len(ds) == 5
    assert isinstance(ds.videos, np.memmap) and isinstance(ds.joints, np.memmap)
    info = ds.get_data_info(3)
    # the clip, plus the per-sample metainfo keys every pose dataset adds
    assert set(info) == {'sample_idx', 'frames', 'joints_3d', 'flip_indices',
                         'upper_body_ids', 'lower_body_ids', 'dataset_keypoint_weights'}
    assert info['sample_idx'] == 3 and info['flip_indices'] == H36M_FLIP_INDICES
    assert info['upper_body_ids'] == H36M_META['upper_body_ids']
    assert info['lower_body_ids'] == H36M_META['lower_body_ids']
    np.testing.assert_array_equal(info['dataset_keypoint_weights'], np.ones(17))
    assert info['frames'].dtype == np.uint8 and info['frames'].shape == (8, 32, 32, 3)
    assert info['joints_3d'].dtype == np.float32 and info['joints_3d'].shape == (8, 17, 3)
    assert not isinstance(info['frames'], np.memmap) and info['frames'].flags.c_contiguous
    # A copy the pipeline may modify, not a read-only view into the mapped file.
    assert info['frames'].flags.writeable and info['joints_3d'].flags.writeable
    assert info['frames'].base is None
    np.testing.assert_array_equal(info['frames'], videos[3])
    np.testing.assert_allclose(info['joints_3d'], joints[3], rtol=1e-6)


def test_metainfo_registry_and_overrides(tmp_path):
    write_split(tmp_path, split='valid', n=2)
    (tmp_path / 'other').mkdir()
    write_split(tmp_path / 'other', n=3)
    ds = DATASETS.build(dict(type='H36MClipDataset', data_root=str(tmp_path), split='valid'))
    assert ds.metainfo['dataset_name'] == 'h36m' and ds.metainfo['num_keypoints'] == 17
    assert keypoint_names(ds.metainfo) == list(H36M_JOINT_NAMES)
    assert ds.metainfo['flip_indices'] == H36M_FLIP_INDICES
    assert [tuple(b) for b in ds.metainfo['skeleton_links']] == H36M_SKELETON
    other = H36MClipDataset(str(tmp_path), video_file='other/' + VIDEO.format('train'),
                            joint_file=str(tmp_path / 'other' / JOINT.format('train')))
    assert len(ds) == 2 and len(other) == 3
    with pytest.raises(ValueError, match='split'):
        H36MClipDataset(str(tmp_path), split='test')


def test_metainfo_argument_sets_the_keypoints(tmp_path):
    """A config's ``metainfo`` replaces the class's file; the joint count follows it."""
    videos = np.zeros((2, 8, 16, 16, 3), np.uint8)
    write_split(tmp_path, videos=videos, joints=np.zeros((2, 8, 16, 3), np.float32))
    mpii = dict(from_file='configs/_base_/datasets/mpii.py')
    ds = H36MClipDataset(str(tmp_path), metainfo=mpii)
    assert ds.metainfo['num_keypoints'] == 16 and ds.metainfo['dataset_name'] == 'mpii'
    info = ds.get_data_info(0)
    assert info['joints_3d'].shape == (8, 16, 3)
    assert info['flip_indices'] == MPII_META['flip_indices']
    # the class's own metainfo (17 keypoints) rejects these 16-joint files, naming 17
    with pytest.raises(ValueError, match=r'shape\[2\] \(joints\).*17'):
        H36MClipDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nowhere.py'):
        H36MClipDataset(str(tmp_path), metainfo=dict(from_file='nowhere.py'))
    with pytest.raises(MetainfoError, match='keypoint_info'):
        SyntheticH36MClips(num_samples=1, metainfo=dict(
            dataset_name='x', keypoint_info={}, skeleton_info={}, joint_weights=[],
            sigmas=[]))


def test_metainfo_file_is_consistent():
    assert len(H36M_JOINT_NAMES) == 17 and H36M_JOINT_NAMES[0] == 'root'   # the pelvis
    flip = np.array(H36M_FLIP_INDICES)
    np.testing.assert_array_equal(flip[flip], np.arange(17))   # an involution
    for k, name in enumerate(H36M_JOINT_NAMES):
        mirrored = name.replace('left_', 'x_').replace('right_', 'left_').replace('x_', 'right_')
        assert H36M_JOINT_NAMES[flip[k]] == mirrored
    children = sorted(c for _, c in H36M_SKELETON)
    assert children == list(range(1, 17)) and all(p < c for p, c in H36M_SKELETON)


def test_indices_subset_and_lazy_init(tmp_path):
    write_split(tmp_path)
    ds = H36MClipDataset(str(tmp_path), indices=[1, 4], lazy_init=True)
    assert ds.files._videos is None          # nothing opened yet
    assert len(ds) == 2 and ds.get_data_info(1)['sample_idx'] == 4
    sub = ds.get_subset([1])                  # deep-copies the dataset without the data
    assert len(sub) == 1 and sub.get_data_info(0)['sample_idx'] == 4


def test_pickling_does_not_carry_arrays(tmp_path):
    write_split(tmp_path, n=5, size=64)       # 491 KB of frames
    ds = H36MClipDataset(str(tmp_path))
    ds.get_data_info(0)
    blob = pickle.dumps(ds)
    assert len(blob) < 20_000
    clone = pickle.loads(blob)
    assert clone.files._videos is None
    np.testing.assert_array_equal(clone.get_data_info(2)['frames'], ds.get_data_info(2)['frames'])
    assert isinstance(clone.videos, np.memmap)
    assert copy.deepcopy(ds).files._videos is None


@pytest.mark.parametrize('case, bad_file, field', [
    ('video_dtype', VIDEO, 'dtype'),
    ('video_rank', VIDEO, 'rank'),
    ('channels', VIDEO, 'shape[4] (channels)'),
    ('zero_height', VIDEO, 'shape[2] (height)'),
    ('joint_dtype', JOINT, 'dtype'),
    ('joint_rank', JOINT, 'rank'),
    ('n_mismatch', JOINT, 'shape[0] (clips)'),
    ('t_mismatch', JOINT, 'shape[1] (frames)'),
    ('k_not_17', JOINT, 'shape[2] (joints)'),
    ('not_xyz', JOINT, 'shape[3] (xyz)'),
])
def test_validation_errors_name_file_and_field(tmp_path, case, bad_file, field):
    videos = np.zeros((4, 8, 16, 16, 3), np.uint8)
    joints = np.zeros((4, 8, 17, 3), np.float32)
    videos, joints = {
        'video_dtype': (videos.astype(np.float32), joints),
        'video_rank': (videos[0], joints),
        'channels': (np.zeros((4, 8, 16, 16, 4), np.uint8), joints),
        'zero_height': (np.zeros((4, 8, 0, 16, 3), np.uint8), joints),
        'joint_dtype': (videos, joints.astype(np.int32)),
        'joint_rank': (videos, joints.reshape(4, 8, 51)),
        'n_mismatch': (videos, joints[:3]),
        't_mismatch': (videos, joints[:, :7]),
        'k_not_17': (videos, joints[:, :, :16]),
        'not_xyz': (videos, joints[..., :2]),
    }[case]
    write_split(tmp_path, videos=videos, joints=joints)
    with pytest.raises(ValueError) as error:
        H36MClipDataset(str(tmp_path))
    message = str(error.value)
    assert str(tmp_path / bad_file.format('train')) in message
    assert f'bad {field}:' in message and 'expected' in message and 'found' in message


@pytest.mark.parametrize('missing', [VIDEO, JOINT])
def test_missing_file_says_how_to_make_one(tmp_path, missing):
    write_split(tmp_path)
    (tmp_path / missing.format('train')).unlink()
    with pytest.raises(FileNotFoundError) as error:
        H36MClipDataset(str(tmp_path))
    message = str(error.value)
    assert str(tmp_path / missing.format('train')) in message
    assert f'python tools/make_synthetic_data.py h36m --out {tmp_path}' in message


def test_pipeline_from_config_and_dataloader(tmp_path):
    write_split(tmp_path, n=4)
    pipeline = [dict(type='ClipResize', size=24), dict(type='PackClipInputs')]
    ds = H36MClipDataset(str(tmp_path), pipeline=pipeline, test_mode=True)
    item = ds[1]
    assert item['inputs'].shape == (8, 3, 24, 24) and item['inputs'].dtype == torch.uint8
    assert isinstance(item['data_samples'], PoseDataSample)
    assert item['data_samples'].sample_idx == 1
    from mmengine.dataset import pseudo_collate
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2,
                                         collate_fn=pseudo_collate)
    batches = list(loader)
    assert len(batches) == 2 and batches[1]['inputs'][0].shape == (8, 3, 24, 24)
    assert [s.sample_idx for s in batches[1]['data_samples']] == [2, 3]


def test_synthetic_dataset_matches_the_file_format():
    ds = SyntheticH36MClips(num_samples=3, num_frames=4, image_size=40, seed=1)
    again = DATASETS.build(dict(type='SyntheticH36MClips', num_samples=3, num_frames=4,
                                image_size=40, seed=1))
    info = ds.get_data_info(2)
    assert info['frames'].shape == (4, 40, 40, 3) and info['frames'].dtype == np.uint8
    assert info['joints_3d'].shape == (4, 17, 3) and info['joints_3d'].dtype == np.float32
    assert info['sample_idx'] == 2 and info['flip_indices'] == H36M_FLIP_INDICES
    assert info['upper_body_ids'] == H36M_META['upper_body_ids']
    np.testing.assert_array_equal(info['frames'], again.get_data_info(2)['frames'])
    assert keypoint_names(ds.metainfo) == list(H36M_JOINT_NAMES)


def check_course_files(root, num_train, num_valid, size, frames=8):
    """The four files exist with exactly the course names, dtypes and shapes."""
    names = sorted(p.name for p in Path(root).iterdir())
    assert names == sorted([VIDEO.format('train'), VIDEO.format('valid'),
                            JOINT.format('train'), JOINT.format('valid')])
    for split, n in (('train', num_train), ('valid', num_valid)):
        videos = np.load(Path(root) / VIDEO.format(split))
        joints = np.load(Path(root) / JOINT.format(split))
        assert videos.dtype == np.uint8 and videos.shape == (n, frames, size, size, 3)
        assert joints.dtype == np.float32 and joints.shape == (n, frames, 17, 3)
        assert videos.std() > 5 and np.abs(joints).max() < 1.5
        np.testing.assert_array_equal(joints[:, :, 0], 0)    # pelvis at the origin


def test_writer_output_is_the_course_format_and_loads(tmp_path):
    written = write_h36m_split(tmp_path, num_train=3, num_valid=2, size=32, seed=3,
                               progress=False)
    assert set(written) == {'train', 'valid'}
    check_course_files(tmp_path, 3, 2, 32)
    train = H36MClipDataset(str(tmp_path), split='train')
    valid = H36MClipDataset(str(tmp_path), split='valid')
    assert len(train) == 3 and len(valid) == 2
    assert train.get_data_info(0)['frames'].shape == (8, 32, 32, 3)
    assert not np.allclose(train.get_data_info(0)['joints_3d'],
                           valid.get_data_info(0)['joints_3d'])


def run_cli(*args):
    """Run tools/make_synthetic_data.py with args; the CompletedProcess."""
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'make_synthetic_data.py'),
                           *args], capture_output=True, text=True, timeout=120, cwd=REPO)


def test_cli_writes_the_files(tmp_path, capsys):
    out = tmp_path / 'synth'
    result = run_cli('h36m', '--out', str(out), '--train', '2', '--val', '1', '--size', '24',
                     '--seed', '5')
    assert result.returncode == 0, result.stderr
    check_course_files(out, 2, 1, 24)
    assert result.stdout.count('wrote ') == 4 and str(out) in result.stdout
    # The same main() in this process (the command line itself is checked above; each
    # start of the tool costs about 3 s of imports).
    tool = load_tool('make_synthetic_data')
    tool.main(['h36m', '--out', str(out), '--train', '3', '--skip-existing', '--no-progress'])
    assert 'skipping' in capsys.readouterr().out
    check_course_files(out, 2, 1, 24)   # untouched
    with pytest.raises(SystemExit) as bad:
        tool.main(['h36m', '--out', str(out), '--train', '-1'])
    assert bad.value.code != 0 and '--train' in capsys.readouterr().err
