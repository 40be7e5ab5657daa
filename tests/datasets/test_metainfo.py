"""Dataset metainfo in MMPose's format (hpekit.datasets.parse_pose_metainfo)."""
import textwrap

import numpy as np
import pytest

from hpekit.datasets import MetainfoError, keypoint_names, parse_pose_metainfo
from hpekit.datasets.metainfo import mirror_name

SHIPPED = 'configs/_base_/datasets/{}.py'


def parse(name):
    return parse_pose_metainfo(dict(from_file=SHIPPED.format(name)))


def names(meta, ids):
    return [meta['keypoint_id2name'][i] for i in ids]


def test_mpii_flip_pairs_halves_and_skeleton():
    meta = parse('mpii')
    assert meta['dataset_name'] == 'mpii' and meta['num_keypoints'] == 16
    # right ankle (0) <-> left ankle (5), right wrist (10) <-> left wrist (15), …
    assert meta['flip_indices'] == [5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]
    assert meta['flip_pairs'] == [(0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)]
    assert meta['upper_body_ids'] == list(range(7, 16))
    assert meta['lower_body_ids'] == list(range(0, 7))
    assert len(meta['skeleton_links']) == 15
    assert {j for link in meta['skeleton_links'] for j in link} == set(range(16))
    assert meta['keypoint_colors'].shape == (16, 3) and meta['keypoint_colors'].dtype == np.uint8
    assert meta['skeleton_link_colors'].shape == (15, 3)
    assert meta['dataset_keypoint_weights'].shape == (16,) and meta['sigmas'].shape == (16,)
    assert meta['pckh_table']['exclude_from_mean'] == ['pelvis', 'thorax']


def test_h36m_and_coco_and_jhmdb():
    h36m = parse('h36m')
    assert h36m['flip_indices'] == [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]
    assert sorted(c for _, c in h36m['skeleton_links']) == list(range(1, 17))
    assert h36m['sigmas'].shape == (0,)          # Human3.6M has no OKS sigmas
    coco = parse('coco')
    assert coco['flip_indices'] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert names(coco, coco['lower_body_ids']) == [
        'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle']
    np.testing.assert_allclose(coco['sigmas'][:3], [0.026, 0.025, 0.025])
    jhmdb = parse('jhmdb')
    assert jhmdb['num_keypoints'] == 15
    assert names(jhmdb, [jhmdb['flip_indices'][3]]) == ['left_shoulder']


# A metainfo file as MMPose ships them: paper_info, ids as keys, `joint_weights=[1.] * K`,
# empty sigmas, and a legacy `data = dict(...)` section that uses the dataset_info.
MMPOSE_STYLE = '''
dataset_info = dict(
    dataset_name='toy',
    paper_info=dict(author='A. Author', title='A toy', container='none', year='2024',
                    homepage='http://example.org'),
    keypoint_info={
        0: dict(name='neck', id=0, color=[255, 128, 0], type='upper', swap=''),
        1: dict(name='right_wrist', id=1, color=[255, 128, 0], type='upper',
                swap='left_wrist'),
        2: dict(name='left_wrist', id=2, color=[0, 255, 0], type='upper',
                swap='right_wrist'),
        3: dict(name='right_ankle', id=3, color=[255, 128, 0], type='lower',
                swap='left_ankle'),
        4: dict(name='left_ankle', id=4, color=[0, 255, 0], type='lower',
                swap='right_ankle'),
    },
    skeleton_info={
        0: dict(link=('neck', 'right_wrist'), id=0, color=[255, 128, 0]),
        1: dict(link=('neck', 'left_wrist'), id=1, color=[0, 255, 0]),
    },
    joint_weights=[1.] * 5,
    sigmas=[])
data_root = 'data/toy'
data = dict(train=dict(type='TopDownToyDataset', dataset_info=dataset_info))
'''


def test_reads_an_mmpose_style_file_unchanged(tmp_path):
    path = tmp_path / 'toy.py'
    path.write_text(MMPOSE_STYLE)
    meta = parse_pose_metainfo(dict(from_file=str(path)))
    assert keypoint_names(meta) == ['neck', 'right_wrist', 'left_wrist', 'right_ankle',
                                    'left_ankle']
    assert meta['flip_indices'] == [0, 2, 1, 4, 3]
    assert meta['flip_pairs'] == [(1, 2), (3, 4)]
    assert meta['upper_body_ids'] == [0, 1, 2] and meta['lower_body_ids'] == [3, 4]
    assert meta['skeleton_links'] == [(0, 1), (0, 2)]
    assert meta['paper_info']['title'] == 'A toy'
    # a dict works as well as a file
    inline = parse_pose_metainfo(dict(
        dataset_name='d', keypoint_info={0: dict(name='a', id=0)}, skeleton_info={},
        joint_weights=[1.0], sigmas=[]))
    assert inline['flip_indices'] == [0] and inline['num_skeleton_links'] == 0


@pytest.mark.parametrize('edit, field', [
    (("swap='left_wrist'),", "swap='left_wristt'),"), "keypoint_info[1].swap"),
    (("link=('neck', 'left_wrist')", "link=('neck', 'elbow')"), 'skeleton_info[1].link'),
    (('joint_weights=[1.] * 5', 'joint_weights=[1.] * 4'), 'joint_weights'),
    (("swap='right_ankle'),", "swap='right_wrist'),"), 'keypoint_info[3].swap'),
])
def test_bad_metainfo_names_the_file_and_field(tmp_path, edit, field):
    path = tmp_path / 'bad.py'
    path.write_text(MMPOSE_STYLE.replace(*edit))
    with pytest.raises(MetainfoError) as err:
        parse_pose_metainfo(dict(from_file=str(path)))
    assert str(path) in str(err.value) and field in str(err.value)


def test_missing_file_and_missing_keys(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        parse_pose_metainfo(dict(from_file=str(tmp_path / 'nope.py')))
    (tmp_path / 'empty.py').write_text('x = 1\n')
    with pytest.raises(MetainfoError, match='dataset_info'):
        parse_pose_metainfo(dict(from_file=str(tmp_path / 'empty.py')))
    with pytest.raises(MetainfoError, match='sigmas'):
        parse_pose_metainfo(dict(dataset_name='d', keypoint_info={0: dict(name='a')},
                                 skeleton_info={}, joint_weights=[1.0]))


def test_shipped_files_are_found_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse('mpii')['num_keypoints'] == 16


def test_dataset_metainfo_can_be_replaced_from_the_config(tmp_path):
    """A dataset takes another metainfo file: joint count and flips follow it."""
    from hpekit.datasets import SyntheticH36MClips
    path = tmp_path / 'toy.py'
    path.write_text(MMPOSE_STYLE)
    default = SyntheticH36MClips(num_samples=1, num_frames=2, image_size=16)
    assert default.metainfo['num_keypoints'] == 17
    assert default.get_data_info(0)['flip_indices'] == default.metainfo['flip_indices']
    ds = SyntheticH36MClips(num_samples=1, num_frames=2, image_size=16,
                            metainfo=dict(from_file=str(path)))
    assert ds.metainfo['dataset_name'] == 'toy'
    info = ds.get_data_info(0)
    assert info['flip_indices'] == [0, 2, 1, 4, 3] and info['lower_body_ids'] == [3, 4]


# ------------------------------------------------- the flip map against the names
def _info(pairs, **extra):
    """A dataset_info dict of keypoints ``pairs`` [(name, swap)] (no skeleton)."""
    return dict(dataset_name='names', skeleton_info={}, joint_weights=[1.0] * len(pairs),
                sigmas=[], keypoint_info={i: dict(name=n, id=i, swap=s)
                                          for i, (n, s) in enumerate(pairs)}, **extra)


@pytest.mark.parametrize('name, mirror', [
    ('left_eye', 'right_eye'), ('right_hip', 'left_hip'), ('l_eye', 'r_eye'),
    ('eye_l', 'eye_r'), ('eye_R', 'eye_L'), ('LShoulder', 'RShoulder'),
    ('RWrist', 'LWrist'), ('Eye_Left', 'Eye_Right'), ('forelegL1', 'forelegR1'),
    ('L_F_Paw', 'R_F_Paw'), ('left collar', 'right collar'), ('leftEar', 'rightEar'),
    ('medial_right_knee', 'medial_left_knee'), ('LEFT-HAND', 'RIGHT-HAND'),
    ('nose', None), ('neck', None), ('tail_base', None), ('LED', None), ('Lhip', None),
    ('cleft', None), ('face-0', None), ('left_hand_r', None)])
def test_mirror_name_follows_the_usual_side_conventions(name, mirror):
    assert mirror_name(name) == mirror


@pytest.mark.parametrize('name', ['coco', 'mpii', 'h36m', 'jhmdb'])
def test_shipped_flip_maps_follow_their_names(name):
    meta = parse(name)
    names_ = keypoint_names(meta)
    sided = [i for i, n in enumerate(names_) if mirror_name(n) in names_]
    assert len(sided) >= 10   # the check has something to check in every shipped file
    for i in sided:
        assert names_[meta['flip_indices'][i]] == mirror_name(names_[i])


def test_a_missing_swap_names_the_file_keypoint_partner_and_fix(tmp_path):
    path = tmp_path / 'noswap.py'
    path.write_text(MMPOSE_STYLE.replace("swap='left_wrist'", "swap=''")
                    .replace("swap='right_wrist'", "swap=''"))
    with pytest.raises(MetainfoError) as err:
        parse_pose_metainfo(dict(from_file=str(path)))
    message = str(err.value)
    assert message.startswith(f"{path}: field 'keypoint_info[1].swap': the flip map does "
                              'not follow the left/right keypoint names')
    assert ("right_wrist (keypoint_info[1]) has swap='', but its name says its mirror is "
            'left_wrist (keypoint_info[2])') in message
    assert "left_wrist (keypoint_info[2]) has swap=''" in message
    assert ("Fix: set swap='left_wrist' in keypoint_info[1], swap='right_wrist' in "
            'keypoint_info[2]') in message
    assert "flip_check='off'" in message
    assert 'ankle' not in message   # the ankles swap as their names say


def test_a_swap_to_the_wrong_partner_is_refused_even_when_it_mirrors_back():
    pairs = [('neck', ''), ('right_wrist', 'left_ankle'), ('left_wrist', 'right_ankle'),
             ('right_ankle', 'left_wrist'), ('left_ankle', 'right_wrist')]
    with pytest.raises(MetainfoError, match=r"right_wrist \(keypoint_info\[1\]\) has "
                       r"swap='left_ankle', but its name says its mirror is left_wrist"):
        parse_pose_metainfo(_info(pairs))


@pytest.mark.parametrize('left, right', [('left_paw', 'right_paw'), ('l_paw', 'r_paw'),
                                         ('paw_l', 'paw_r'), ('LPaw', 'RPaw'),
                                         ('Paw_Left', 'Paw_Right')])
def test_each_convention_is_checked_and_passes_when_right(left, right):
    good = parse_pose_metainfo(_info([('tail', ''), (left, right), (right, left)]))
    assert good['flip_indices'] == [0, 2, 1]
    with pytest.raises(MetainfoError, match=rf"{left} \(keypoint_info\[1\]\) has swap=''"):
        parse_pose_metainfo(_info([('tail', ''), (left, ''), (right, '')]))


def test_flip_check_off_trusts_the_swaps_and_other_values_are_refused():
    pairs = [('left_marker', ''), ('right_marker', '')]
    meta = parse_pose_metainfo(_info(pairs, flip_check='off'))
    assert meta['flip_indices'] == [0, 1] and 'flip_check' not in meta
    # still a permutation and its own inverse
    with pytest.raises(MetainfoError, match='own inverse'):
        parse_pose_metainfo(_info([('a', 'b'), ('b', 'c'), ('c', 'a')], flip_check='off'))
    with pytest.raises(MetainfoError, match=r"field 'flip_check': expected one of "
                       r"\['names', 'off'\], found 'no'"):
        parse_pose_metainfo(_info(pairs, flip_check='no'))


def test_names_without_side_or_partner_are_not_checked():
    meta = parse_pose_metainfo(_info([('nose', ''), ('tail_base', ''), ('left_ear', ''),
                                      ('a', 'b'), ('b', 'a')]))
    assert meta['flip_indices'] == [0, 1, 2, 4, 3]


def test_a_stated_flip_map_is_checked_against_the_names():
    pairs = [('nose', ''), ('left_eye', ''), ('right_eye', '')]
    with pytest.raises(MetainfoError, match=r"(?s)field 'flip_indices': .*flip_indices maps "
                       r'left_eye \(1\) to left_eye \(1\), but its name says its mirror '
                       r'is right_eye \(2\).*flip_indices\[1\] = 2'):
        parse_pose_metainfo(_info(pairs, flip_indices=[0, 1, 2]))
    assert parse_pose_metainfo(_info(pairs, flip_indices=[0, 2, 1]))['flip_pairs'] == [(1, 2)]
    with pytest.raises(MetainfoError, match=r"(?s)field 'flip_pairs': .*Fix: set the pair "
                       r'\(1, 2\) in flip_pairs;'):
        parse_pose_metainfo(_info(pairs, flip_pairs=[]))
