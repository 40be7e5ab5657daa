"""Synthetic MPII: files in MPII's layout, JSON fields, image size, .mat layout, CLI."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import scipy.io

from hpekit.datasets.mpii import MPIIDataset
from hpekit.datasets.synthetic.mpii import render_mpii_image, sample_mpii_poses, write_mpii_split

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('mpii_synth'))
    written = write_mpii_split(root, num_train=3, num_val=3, seed=1, progress=False)
    return root, written


def _json(root, split):
    with open(osp.join(root, 'annotations', f'mpii_{split}.json')) as f:
        return json.load(f)


def test_files_and_json_fields(data_root):
    root, written = data_root
    for name in ('mpii_train.json', 'mpii_val.json', 'mpii_gt_val.mat'):
        assert osp.isfile(osp.join(root, 'annotations', name))
    images = sorted(os.listdir(osp.join(root, 'images')))
    assert len(images) == 6 and all(n.endswith('.jpg') for n in images)
    for split in ('train', 'val'):
        records = _json(root, split)
        assert len(records) == written[f'num_{split}_people'] >= 3
        for r in records:
            assert set(r) == {'image', 'center', 'scale', 'joints', 'joints_vis'}
            assert r['image'] in images and r['image'].startswith(split)
            assert np.shape(r['joints']) == (16, 2) and len(r['joints_vis']) == 16
            assert set(r['joints_vis']) <= {0, 1} and len(r['center']) == 2
            assert r['scale'] > 0


def test_images_are_1280x720_jpeg(data_root):
    root, _ = data_root
    for name in os.listdir(osp.join(root, 'images')):
        path = osp.join(root, 'images', name)
        with open(path, 'rb') as f:
            assert f.read(3) == b'\xff\xd8\xff'
        assert cv2.imread(path).shape == (720, 1280, 3)


def test_gt_mat_layout_and_order(data_root):
    root, _ = data_root
    records = _json(root, 'val')
    mat = scipy.io.loadmat(osp.join(root, 'annotations', 'mpii_gt_val.mat'))
    n = len(records)
    assert mat['pos_gt_src'].shape == (16, 2, n)
    assert mat['jnt_visible'].shape == (16, n)
    assert mat['headboxes_src'].shape == (2, 2, n)
    for i, r in enumerate(records):   # same order and the same 1-based pixels
        np.testing.assert_allclose(mat['pos_gt_src'][:, :, i], r['joints'], atol=0.01)
        np.testing.assert_array_equal(mat['jnt_visible'][:, i], r['joints_vis'])
        (x1, y1), (x2, y2) = mat['headboxes_src'][:, :, i]
        head_top, neck = np.array(r['joints'][9]), np.array(r['joints'][8])
        assert x1 < x2 and y1 < y2
        for x, y in (head_top, neck):
            assert x1 - 0.5 <= x <= x2 + 0.5 and y1 - 0.5 <= y <= y2 + 0.5
        head_size = 0.6 * np.hypot(x2 - x1, y2 - y1)
        assert 0.6 < head_size / np.linalg.norm(head_top - neck) < 1.2


def test_boxes_contain_the_people(data_root):
    root, _ = data_root
    dataset = MPIIDataset(root, ann_file='annotations/mpii_val.json')
    for i in range(len(dataset)):
        info = dataset[i]
        low = info['center'] - info['bbox_size'] / 2
        high = info['center'] + info['bbox_size'] / 2
        assert np.all(info['keypoints'] > low) and np.all(info['keypoints'] < high)
        extent = (info['keypoints'].max(0) - info['keypoints'].min(0)).max()
        assert extent > 0.5 * info['bbox_size'][0]     # the person fills the box
        assert info['keypoints_visible'].sum() >= 6


def test_full_pipeline_on_synthetic_data(data_root):
    root, _ = data_root
    codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)
    pipeline = [dict(type='RandomHalfBody'), dict(type='LoadImage', input_size=(256, 256)),
                dict(type='TopdownAffine', input_size=(256, 256)),
                dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')]
    sample = MPIIDataset(root, pipeline=pipeline)[0]
    assert sample['inputs'].shape == (3, 256, 256)
    assert sample['data_samples'].gt_heatmaps.shape == (16, 64, 64)


def test_deterministic_and_varied():
    a = render_mpii_image(np.random.default_rng(3), (320, 180))
    b = render_mpii_image(np.random.default_rng(3), (320, 180))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (180, 320, 3)
    poses = sample_mpii_poses(np.random.default_rng(0), 50)
    assert poses.shape == (50, 16, 2)
    heights = poses[:, :, 1].max(1) - poses[:, :, 1].min(1)
    assert 0.5 < heights.mean() < 1.2 and poses.std(0).mean() > 0.03


def test_some_joints_invisible():
    rng = np.random.default_rng(0)
    people = [p for _ in range(25) for p in render_mpii_image(rng, (640, 360))[1]]
    assert len(people) >= 25        # every image has someone
    visible = np.array([p['visible'] for p in people])
    assert 0.0 < 1 - visible.mean() < 0.3


def test_cli(tmp_path):
    out = str(tmp_path / 'cli')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'make_synthetic_data.py'), 'mpii', '--out',
         out, '--train', '1', '--val', '1', '--seed', '2', '--no-progress'],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert 'mpii_val.json' in proc.stdout
    assert sorted(os.listdir(osp.join(out, 'images'))) == ['train_000000.jpg',
                                                            'val_000000.jpg']
    assert osp.isfile(osp.join(out, 'annotations', 'mpii_gt_val.mat'))
