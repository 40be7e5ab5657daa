"""hpekit's OKS-NMS keeps exactly the people MMPose's ``oks_nms`` keeps.

Reference made by MMPose 1.3.2 itself: ``tests/fixtures/mmpose/make_oks_nms.py``.
"""
import os.path as osp

import numpy as np
import pytest

from hpekit.evaluation.functional import oks_nms

FIXTURE = np.load(osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures', 'mmpose',
                           'oks_nms.npz'))
CASES = sorted({key.split('/')[0] for key in FIXTURE.files if '/' in key})


@pytest.mark.parametrize('threshold', [0.9, 0.5])
@pytest.mark.parametrize('case', CASES)
def test_kept_people_equal_mmposes(case, threshold):
    keep = oks_nms(FIXTURE[f'{case}/keypoints'], FIXTURE[f'{case}/scores'],
                   FIXTURE[f'{case}/areas'], threshold, FIXTURE['sigmas'])
    assert keep == FIXTURE[f'{case}/keep_{threshold}'].tolist()


def test_the_fixture_suppresses_someone():
    """The comparison can fail: the people overlap enough that NMS drops some."""
    dropped = [len(FIXTURE[f'{c}/scores']) - len(FIXTURE[f'{c}/keep_0.5']) for c in CASES]
    assert max(dropped) > 0
