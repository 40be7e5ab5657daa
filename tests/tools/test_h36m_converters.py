"""Human3.6M converters on synthetic stand-ins: the official release (videos + CDF
files) → MMPose's layout, and the layout ↔ the course split's clip files."""
import os

import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.datasets.h36m_video import H36MVideoDataset, load_camera_params
from hpekit.datasets.synthetic.h36m import make_background
from hpekit.datasets.synthetic.h36m_full import (action_motion, camera_params, project_with,
                                                 render_frame, world_to_camera, write_h36m_full)

cdfwrite = pytest.importorskip('cdflib.cdfwrite')
cv2 = pytest.importorskip('cv2')

preprocess = load_tool('dataset_converters/preprocess_h36m')
course = load_tool('dataset_converters/h36m_course_split')
IDX = preprocess.H36M_32_TO_17


def write_cdf(path, pose):
    """A release-style CDF: variable 'Pose' of one record [F, 32 · D]."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    frames = len(pose)
    cdf = cdfwrite.CDF(str(path), delete=True)
    cdf.write_var({'Variable': 'Pose', 'Data_Type': cdfwrite.CDF.CDF_DOUBLE,
                   'Num_Elements': 1, 'Rec_Vary': True, 'Dim_Sizes': [frames, pose[0].size]},
                  var_data=pose.reshape(1, frames, -1))
    cdf.close()


def full32(joints):
    out = np.zeros((len(joints), 32, joints.shape[-1]))
    out[:, IDX] = joints
    return out


def write_release(root, subjects=('S1', 'S9'), frames=10, size=64, with_d2=True):
    """Official-release stand-in: Videos/*.mp4 and MyPoseFeatures/*/*.cdf (mm, px)."""
    rng = np.random.default_rng(0)
    truth = {}
    for subject in subjects:
        feats = root / subject / 'MyPoseFeatures'
        for action, name in (('Walking', 'Walking 1'), ('Eating', 'Eating')):
            motion = action_motion(action, frames, 50, rng)
            write_cdf(feats / 'D3_Positions' / f'{name}.cdf', full32(motion) * 1000)
            for index in range(2):
                cam = camera_params(index, size)
                joints = world_to_camera(motion, cam)
                pix = project_with(joints, cam)
                base = f'{name}.{cam["id"]}'
                write_cdf(feats / 'D3_Positions_mono' / f'{base}.cdf', full32(joints) * 1000)
                if with_d2:
                    write_cdf(feats / 'D2_Positions' / f'{base}.cdf', full32(pix))
                (root / subject / 'Videos').mkdir(parents=True, exist_ok=True)
                video = cv2.VideoWriter(str(root / subject / 'Videos' / f'{base}.mp4'),
                                        cv2.VideoWriter_fourcc(*'mp4v'), 50, (size, size))
                background = make_background(size, rng)
                rendered = [render_frame(background, j, cam, (0, 0)) for j in joints]
                for frame in rendered:
                    video.write(np.ascontiguousarray(frame[..., ::-1]))
                video.release()
                truth[(subject, base)] = dict(S=joints, part=pix, frames=rendered, cam=cam)
        write_cdf(feats / 'D3_Positions_mono' / '_ALL.54138969.cdf', np.zeros((2, 32, 3)))
    return truth


def test_release_to_layout(tmp_path):
    truth = write_release(tmp_path / 'release')
    out = tmp_path / 'layout'
    written = preprocess.main(['--original', str(tmp_path / 'release'), '--out', str(out),
                               '--fps', '25', '--train-subjects', 'S1', '--test-subjects',
                               'S9', '--jpeg-quality', '98'])
    assert written['num_train'] == written['num_test'] == 2 * 2 * 5   # every 2nd frame
    ds = H36MVideoDataset(str(out), split='train', ann_file='annotation_body3d/fps25/'
                          'h36m_train.npz', seq_len=5, seq_step=5)
    assert sorted(s['seq_name'] for s in ds.sequences) == [
        'S1_Eating.54138969', 'S1_Eating.55011271', 'S1_Walking_1.54138969',
        'S1_Walking_1.55011271']
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        seq = info['seq_name'][len('S1_'):].replace('Walking_1', 'Walking 1')
        want = truth[('S1', seq)]
        s = want['S'][::2]
        np.testing.assert_allclose(info['joints_3d'], s - s[:, :1], atol=1e-5)
        np.testing.assert_allclose(info['keypoints'], want['part'][::2], atol=1e-5)
        assert info['img_paths'][1].endswith(f'{info["seq_name"]}_000003.jpg')
        decoded = cv2.imread(info['img_paths'][2])[..., ::-1].astype(float)
        assert np.abs(decoded - want['frames'][4]).mean() < 8   # mp4 + JPEG loss
    cams = load_camera_params(written['cameras'])
    for (subject, camera), fitted in cams.items():
        true = camera_params(['54138969', '55011271'].index(camera), 64)
        np.testing.assert_allclose(fitted['f'], true['f'], rtol=1e-4)
        np.testing.assert_allclose(fitted['c'], true['c'], atol=1e-3)
        np.testing.assert_allclose(fitted['R'], true['R'], atol=1e-6)
        np.testing.assert_allclose(fitted['T'], true['T'], atol=1e-6)
        assert (fitted['w'], fitted['h']) == (64, 64)


def test_release_without_2d_projects_through_given_cameras(tmp_path):
    truth = write_release(tmp_path / 'release', subjects=('S9', ), frames=4, with_d2=False)
    cameras = tmp_path / 'cameras.pkl'
    import pickle
    cameras.write_bytes(pickle.dumps({('S9', c['cam']['id']): c['cam']
                                      for c in truth.values()}))
    with pytest.raises(FileNotFoundError, match='D2_Positions'):
        preprocess.convert(str(tmp_path / 'release'), str(tmp_path / 'a'),
                           train_subjects=(), test_subjects=('S9', ), log=lambda *a: None)
    preprocess.convert(str(tmp_path / 'release'), str(tmp_path / 'b'), train_subjects=(),
                       test_subjects=('S9', ), cameras_file=str(cameras),
                       log=lambda *a: None)
    test = np.load(tmp_path / 'b' / 'annotation_body3d' / 'fps50' / 'h36m_test.npz')
    row = list(test['imgname']).index('S9/S9_Eating.55011271/S9_Eating.55011271_000002.jpg')
    np.testing.assert_allclose(test['part'][row, :, :2],
                               truth[('S9', 'Eating.55011271')]['part'][1], atol=1e-6)
    assert len(np.load(tmp_path / 'b' / 'annotation_body3d' / 'fps50' /
                       'h36m_train.npz')['imgname']) == 0


def test_bad_cdf_is_named(tmp_path):
    write_cdf(tmp_path / 'x.cdf', np.zeros((2, 7, 3)))
    with pytest.raises(ValueError, match=r"x.cdf: 'Pose' has shape"):
        preprocess.read_cdf_pose(str(tmp_path / 'x.cdf'), 3)


def load_course(folder, split):
    return (np.load(folder / f'videoframes_clips_{split}.npy'),
            np.load(folder / f'joint_3d_clips_{split}.npy'))


def test_course_split_round_trip(tmp_path):
    layout = tmp_path / 'layout'
    write_h36m_full(str(layout), subjects=('S1', 'S9'), actions=('Walking', ),
                    subactions=1, num_cameras=2, num_frames=8, image_size=64, progress=False)
    quiet = dict(log=lambda *a: None)
    first = tmp_path / 'course'
    assert course.to_course(str(layout), str(first), clip_len=4, stride=4, size=32,
                            **quiet) == dict(train=4, valid=4)
    videos, joints = load_course(first, 'train')
    assert videos.shape == (4, 4, 32, 32, 3) and joints.shape == (4, 4, 17, 3)
    np.testing.assert_allclose(joints[:, :, 0], 0.0)   # pelvis-relative
    # course → layout → course gives the clips back
    back = tmp_path / 'back'
    course.from_course(str(first), str(back), quality=98, **quiet)
    second = tmp_path / 'course2'
    course.to_course(str(back), str(second), clip_len=4, stride=4, size=32, **quiet)
    for split in ('train', 'valid'):
        (v1, j1), (v2, j2) = load_course(first, split), load_course(second, split)
        np.testing.assert_allclose(j2, j1, atol=1e-6)
        assert np.abs(v2.astype(float) - v1).mean() < 2.5   # JPEG loss only
        i1 = np.load(first / f'clip_index_{split}.npz')
        i2 = np.load(second / f'clip_index_{split}.npz')
        assert (i1['imgname'] == i2['imgname']).all()
        np.testing.assert_allclose(i2['root_3d'], i1['root_3d'], atol=1e-6)
    # the original course files have no index: each clip becomes its own sequence
    for split in ('train', 'valid'):
        os.remove(first / f'clip_index_{split}.npz')
    bare = tmp_path / 'bare'
    course.from_course(str(first), str(bare), **quiet)
    ds = H36MVideoDataset(str(bare), split='test', seq_len=4, seq_step=4)
    assert [s['seq_name'] for s in ds.sequences][:2] == ['S9_Clip_1.00000000',
                                                         'S9_Clip_2.00000000']
    np.testing.assert_allclose(np.stack([ds.get_data_info(i)['joints_3d']
                                         for i in range(len(ds))]),
                               load_course(first, 'valid')[1], atol=1e-6)
