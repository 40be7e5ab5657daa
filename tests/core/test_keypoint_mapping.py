"""COCO-17 → Human3.6M-17 by keypoint names, on a hand-made pose."""
import numpy as np
import pytest

from hpekit.config.files import find_config_file
from hpekit.core.keypoint_mapping import (check_keypoint_mapping, load_keypoint_mapping,
                                          map_keypoints)
from hpekit.datasets import keypoint_names, parse_pose_metainfo


def names(dataset):
    return keypoint_names(parse_pose_metainfo(
        dict(from_file=f'configs/_base_/datasets/{dataset}.py')))


COCO, H36M = names('coco'), names('h36m')
MAPPING = load_keypoint_mapping(find_config_file('_base_/datasets/coco_to_h36m.py'))

# A hand-made COCO pose (x, y px), easy to average in one's head.
POSE = {'nose': (50, 10), 'left_eye': (54, 8), 'right_eye': (46, 8), 'left_ear': (58, 10),
        'right_ear': (42, 10), 'left_shoulder': (70, 30), 'right_shoulder': (30, 30),
        'left_elbow': (76, 50), 'right_elbow': (24, 50), 'left_wrist': (80, 70),
        'right_wrist': (20, 70), 'left_hip': (60, 80), 'right_hip': (40, 80),
        'left_knee': (62, 110), 'right_knee': (38, 110), 'left_ankle': (64, 140),
        'right_ankle': (36, 140)}
EXPECTED = {'root': (50, 80), 'thorax': (50, 30), 'spine': (50, 55), 'neck_base': (50, 10),
            'head': (50, 8), 'right_foot': (36, 140), 'left_foot': (64, 140),
            'right_hip': (40, 80), 'left_wrist': (80, 70), 'right_shoulder': (30, 30)}


def coco_pose():
    keypoints = np.array([POSE[n] for n in COCO], dtype=np.float64)
    scores = np.linspace(0.9, 0.5, len(COCO))
    return keypoints, scores


def test_the_shipped_table_forms_every_h36m_keypoint():
    assert set(MAPPING) == set(H36M)
    for rule in MAPPING.values():
        assert set(rule) <= set(COCO) and sum(rule.values()) == pytest.approx(1.0)


def test_hand_made_pose():
    keypoints, scores = coco_pose()
    out, out_scores = map_keypoints(keypoints, scores, COCO, H36M, MAPPING)
    assert out.shape == (17, 2) and out_scores.shape == (17,)
    for name, xy in EXPECTED.items():
        np.testing.assert_allclose(out[H36M.index(name)], xy, err_msg=name)
    score = dict(zip(COCO, scores))
    assert out_scores[H36M.index('root')] == min(score['left_hip'], score['right_hip'])
    assert out_scores[H36M.index('spine')] == min(
        score[n] for n in ('left_hip', 'right_hip', 'left_shoulder', 'right_shoulder'))
    assert out_scores[H36M.index('left_wrist')] == score['left_wrist']


def test_leading_dims_3d_and_nan():
    keypoints, scores = coco_pose()
    xyz = np.concatenate([keypoints, np.full((17, 1), 3.0)], axis=-1)
    batch = np.stack([xyz, xyz + 1.0])[None]              # [1, 2, 17, 3]
    batch[0, 1, COCO.index('left_eye')] = np.nan
    out, out_scores = map_keypoints(batch, np.broadcast_to(scores, (1, 2, 17)), COCO, H36M,
                                    MAPPING)
    assert out.shape == (1, 2, 17, 3) and out_scores.shape == (1, 2, 17)
    np.testing.assert_allclose(out[0, 1, H36M.index('root')], (51, 81, 4))
    assert np.isnan(out[0, 1, H36M.index('head')]).all()    # only what uses the eye
    assert np.isfinite(np.delete(out[0, 1], H36M.index('head'), axis=0)).all()
    assert map_keypoints(batch, None, COCO, H36M, MAPPING)[1] is None


def test_same_names_copy_without_a_rule():
    keypoints, scores = coco_pose()
    out, _ = map_keypoints(keypoints, scores, COCO, ['left_hip', 'nose'])
    np.testing.assert_array_equal(out, keypoints[[COCO.index('left_hip'), 0]])


def test_targets_that_cannot_be_formed_are_named():
    keypoints, scores = coco_pose()
    keep = [i for i, n in enumerate(COCO) if n not in ('left_eye', 'right_ankle')]
    with pytest.raises(ValueError) as err:
        map_keypoints(keypoints[keep], scores[keep], [COCO[i] for i in keep], H36M, MAPPING)
    text = str(err.value)
    assert "'head'" in text and "'right_foot'" in text and "'root'" not in text
    with pytest.raises(ValueError, match="'thorax' \\(no rule"):
        map_keypoints(keypoints, scores, COCO, H36M)        # no mapping: names only


def test_bad_tables_and_shapes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'root'.*sum to 1"):
        check_keypoint_mapping({'root': {'left_hip': 0.5, 'right_hip': 0.4}})
    bad = tmp_path / 'bad.py'
    bad.write_text("keypoint_mapping = dict(keypoints={'head': {}})\n")
    with pytest.raises(ValueError, match=f"{bad}.*'head'"):
        load_keypoint_mapping(str(bad))
    (tmp_path / 'none.py').write_text('x = 1\n')
    with pytest.raises(ValueError, match='keypoint_mapping'):
        load_keypoint_mapping(str(tmp_path / 'none.py'))
    with pytest.raises(FileNotFoundError):
        load_keypoint_mapping(str(tmp_path / 'missing.py'))
    keypoints, scores = coco_pose()
    with pytest.raises(ValueError, match='K_src = 17'):
        map_keypoints(keypoints[:5], scores[:5], COCO, H36M, MAPPING)
    with pytest.raises(ValueError, match='scores must have shape'):
        map_keypoints(keypoints, scores[:5], COCO, H36M, MAPPING)
