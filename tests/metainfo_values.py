"""The shipped dataset metainfo files, parsed once, and the tables tests compare with.

Tests read joint counts, names, flip indices, body halves and skeletons from here
(i.e. from ``configs/_base_/datasets/*.py`` through ``parse_pose_metainfo``) instead
of hard-coding them, so they follow the metainfo files as the package does.
"""
from functools import lru_cache
from pathlib import Path

from hpekit.datasets import keypoint_names, parse_pose_metainfo

REPO = Path(__file__).resolve().parents[1]
METAINFO_DIR = REPO / 'configs' / '_base_' / 'datasets'


@lru_cache(maxsize=None)
def _parsed(name):
    return parse_pose_metainfo(dict(from_file=str(METAINFO_DIR / f'{name}.py')))


def metainfo(name):
    """The parsed metainfo of ``configs/_base_/datasets/<name>.py`` (a fresh copy)."""
    import copy
    return copy.deepcopy(_parsed(name))


MPII_META = _parsed('mpii')
H36M_META = _parsed('h36m')

MPII_JOINT_NAMES = tuple(keypoint_names(MPII_META))
MPII_NUM_JOINTS = MPII_META['num_keypoints']
MPII_FLIP_INDICES = list(MPII_META['flip_indices'])
MPII_SKELETON = [tuple(link) for link in MPII_META['skeleton_links']]
MPII_UPPER_BODY_IDS = tuple(MPII_META['upper_body_ids'])
MPII_LOWER_BODY_IDS = tuple(MPII_META['lower_body_ids'])

H36M_JOINT_NAMES = tuple(keypoint_names(H36M_META))
H36M_NUM_JOINTS = H36M_META['num_keypoints']
H36M_FLIP_INDICES = list(H36M_META['flip_indices'])
H36M_SKELETON = [tuple(link) for link in H36M_META['skeleton_links']]


def mpii_id(name):
    """The MPII keypoint id of ``name`` (e.g. 'head_top')."""
    return MPII_META['keypoint_name2id'][name]


def h36m_id(name):
    """The Human3.6M keypoint id of ``name`` (e.g. 'root')."""
    return H36M_META['keypoint_name2id'][name]


def per_sample_keys(meta):
    """The metainfo keys a pose dataset adds to every data info (``BasePoseDataset``)."""
    return dict(flip_indices=list(meta['flip_indices']),
                upper_body_ids=list(meta['upper_body_ids']),
                lower_body_ids=list(meta['lower_body_ids']),
                dataset_keypoint_weights=meta['dataset_keypoint_weights'])
