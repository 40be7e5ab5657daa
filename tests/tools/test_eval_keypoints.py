"""Scoring results made elsewhere: preds.mat read/write, tools/eval_keypoints.py (mpii,
coco), MPIIPCKh's outfile_prefix, both PCKh Means, and the JSON/.mat people check."""
import json

import numpy as np
import pytest
import scipy.io
import torch
from tool_loader import load_tool

from hpekit.datasets.synthetic.mpii import write_mpii_split
from hpekit.evaluation.functional import load_mpii_gt, load_mpii_preds, save_mpii_preds
from hpekit.evaluation.metrics.mpii_pckh import PLAIN_MEAN_KEY, MPIIPCKh

PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle')


@pytest.fixture(scope='module')
def mpii(tmp_path_factory):
    """Synthetic MPII (2 val images): the written paths and the GT of the .mat."""
    root = tmp_path_factory.mktemp('mpii')
    written = write_mpii_split(str(root), num_train=0, num_val=3, image_size=(160, 120),
                               progress=False)
    return dict(written, root=root, gt=load_mpii_gt(written['gt_mat']))


def _noisy(gt, seed=0, scale=8.0):
    """1-based predictions: the GT plus noise (some joints right, some wrong)."""
    rng = np.random.default_rng(seed)
    return gt['pos_gt_src'] + rng.normal(0.0, scale, gt['pos_gt_src'].shape)


def _run_tool(argv, capsys):
    code = load_tool('eval_keypoints').main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------ preds.mat format
def test_preds_mat_round_trip_official_layout(tmp_path):
    preds = np.random.default_rng(1).uniform(1, 100, (5, 16, 2))
    preds[2] = np.nan
    path = tmp_path / 'sub' / 'preds.mat'
    save_mpii_preds(path, preds)
    raw = scipy.io.loadmat(path)['preds']
    assert raw.shape == (5, 16, 2)                      # [N, K, 2] as HRNet's pred.mat
    np.testing.assert_array_equal(load_mpii_preds(path), preds)
    assert not list(tmp_path.joinpath('sub').glob('.*.tmp'))


def test_preds_mat_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.mat'):
        load_mpii_preds(tmp_path / 'absent.mat')
    scipy.io.savemat(tmp_path / 'other.mat', dict(pos=np.zeros((3, 16, 2))))
    with pytest.raises(ValueError, match="key 'preds' is missing"):
        load_mpii_preds(tmp_path / 'other.mat')
    scipy.io.savemat(tmp_path / 'matlab.mat', dict(preds=np.zeros((16, 2, 7))))
    with pytest.raises(ValueError, match=r'MATLAB layout \[K, 2, N\]'):
        load_mpii_preds(tmp_path / 'matlab.mat')
    scipy.io.savemat(tmp_path / 'k15.mat', dict(preds=np.zeros((7, 15, 2))))
    with pytest.raises(ValueError, match=r'\[N, 16, 2\]'):
        load_mpii_preds(tmp_path / 'k15.mat', num_joints=16)


# ------------------------------------------------------ eval_keypoints.py mpii
def test_mpii_tool_scores_a_preds_mat_with_both_means(mpii, tmp_path, capsys):
    gt = mpii['gt']
    preds = _noisy(gt)
    save_mpii_preds(tmp_path / 'preds.mat', preds)
    out_json = tmp_path / 'scores.json'
    code, out, _ = _run_tool(['mpii', '--preds', str(tmp_path / 'preds.mat'), '--gt',
                              mpii['gt_mat'], '--json', str(out_json)], capsys)
    assert code == 0
    assert 'PCKh (plain mean)' in out and 'Ankle' in out
    metrics = json.loads(out_json.read_text())['metrics']
    # by hand: per-joint PCKh, the weighted (official) and the plain (bearpaw) Means
    err = np.linalg.norm(preds - gt['pos_gt_src'], axis=-1) / gt['head_size'][:, None]
    vis = gt['jnt_visible']
    ok, count = ((err <= 0.5) & vis).sum(0), vis.sum(0)
    keep = np.ones(16, bool)
    keep[[6, 7]] = False                                # pelvis, thorax
    assert metrics['PCKh'] == pytest.approx(100 * ok[keep].sum() / count[keep].sum())
    per_joint = 100 * ok / np.maximum(count, 1)
    parts = [per_joint[9]] + [(per_joint[a] + per_joint[b]) / 2 for a, b in
                              ((12, 13), (11, 14), (10, 15), (2, 3), (1, 4), (0, 5))]
    assert [metrics[p] for p in PARTS] == pytest.approx(parts)
    assert metrics[PLAIN_MEAN_KEY] == pytest.approx(np.mean(parts))
    assert metrics[PLAIN_MEAN_KEY] != pytest.approx(metrics['PCKh'])


def test_mpii_tool_perfect_and_mismatched_files(mpii, tmp_path, capsys):
    gt = mpii['gt']
    save_mpii_preds(tmp_path / 'perfect.mat', gt['pos_gt_src'])
    code, out, _ = _run_tool(['mpii', '--preds', str(tmp_path / 'perfect.mat'),
                              '--gt', mpii['gt_mat']], capsys)
    assert code == 0 and '100.00' in out
    save_mpii_preds(tmp_path / 'short.mat', gt['pos_gt_src'][:-1])
    code, _, err = _run_tool(['mpii', '--preds', str(tmp_path / 'short.mat'),
                              '--gt', mpii['gt_mat']], capsys)
    assert code == 1 and 'one row per person' in err and 'short.mat' in err


# -------------------------------------------------- MPIIPCKh: outfile_prefix
def _samples(preds0, ids, gt_keypoints=None):
    out = []
    for k, (p, i) in enumerate(zip(preds0, ids)):
        sample = dict(pred_keypoints=torch.as_tensor(p, dtype=torch.float32),
                      metainfo=dict(sample_idx=int(i)))
        if gt_keypoints is not None:
            sample['gt_keypoints'] = torch.as_tensor(gt_keypoints[k], dtype=torch.float32)
        out.append(sample)
    return out


def test_metric_writes_official_preds_mat_that_the_tool_scores_alike(mpii, tmp_path,
                                                                       capsys):
    gt = mpii['gt']
    n = len(gt['head_size'])
    preds0 = _noisy(gt, seed=3) - 1.0                    # hpekit's 0-based predictions
    order = np.random.default_rng(0).permutation(n)      # any order of process()
    metric = MPIIPCKh(gt_file=mpii['gt_mat'], outfile_prefix=str(tmp_path / 'out' / 'run'))
    metric.process(None, _samples(preds0[order], order, gt['pos_gt_src'][order] - 1.0))
    metrics = metric.evaluate(n)
    written = load_mpii_preds(tmp_path / 'out' / 'run_preds.mat')
    np.testing.assert_allclose(written, preds0 + 1.0, atol=1e-4)   # 1-based, .mat order
    code, _, _ = _run_tool(['mpii', '--preds', str(tmp_path / 'out' / 'run_preds.mat'),
                            '--gt', mpii['gt_mat'], '--json', str(tmp_path / 's.json')],
                           capsys)
    assert code == 0
    scored = json.loads((tmp_path / 's.json').read_text())['metrics']
    for key in ('PCKh', PLAIN_MEAN_KEY, 'PCKh@0.1') + PARTS:
        assert scored[key] == pytest.approx(metrics[key], abs=1e-6), key


def test_metric_preds_mat_has_nan_rows_for_people_not_predicted(mpii, tmp_path):
    gt = mpii['gt']
    metric = MPIIPCKh(gt_file=mpii['gt_mat'], outfile_prefix=str(tmp_path / 'part'))
    metric.process(None, _samples(gt['pos_gt_src'][[1]] - 1.0, [1]))
    metric.evaluate(1)
    written = load_mpii_preds(tmp_path / 'part_preds.mat')
    assert len(written) == len(gt['head_size'])
    assert np.isnan(written[0]).all() and np.allclose(written[1], gt['pos_gt_src'][1])


# ------------------------------------------ MPIIPCKh: the JSON's people = .mat's
def _dataset_samples(root, ann_file):
    """PoseDataSamples of the val JSON through the test pipeline (gt_keypoints packed
    by PackPoseInputs), with 'predictions' = the packed GT."""
    from hpekit.datasets import MPIIDataset
    dataset = MPIIDataset(data_root=str(root), ann_file=ann_file, test_mode=True,
                          pipeline=[dict(type='LoadImage', input_size=(32, 32)),
                                    dict(type='TopdownAffine', input_size=(32, 32),
                                         augment=False),
                                    dict(type='PackPoseInputs')])
    samples = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        sample.pred_keypoints = sample.gt_keypoints.numpy()
        samples.append(sample.to_dict())   # as mmengine's Evaluator hands them over
    return samples


def test_metric_accepts_the_matching_json(mpii):
    samples = _dataset_samples(mpii['root'], 'annotations/mpii_val.json')
    metric = MPIIPCKh(gt_file=mpii['gt_mat'])
    metric.process(None, samples)
    assert metric.evaluate(len(samples))['PCKh'] == pytest.approx(100.0)


def test_metric_refuses_a_shuffled_json_naming_both_files(mpii):
    records = json.loads(open(mpii['val_json']).read())
    assert len(records) >= 3
    shuffled = records[1:] + records[:1]                 # same people, another order
    path = mpii['root'] / 'annotations' / 'mpii_val_shuffled.json'
    path.write_text(json.dumps(shuffled))
    samples = _dataset_samples(mpii['root'], str(path))
    metric = MPIIPCKh(gt_file=mpii['gt_mat'], ann_file=str(path))
    metric.process(None, samples)
    with pytest.raises(ValueError) as err:
        metric.evaluate(len(samples))
    message = str(err.value)
    assert 'mpii_gt_val.mat' in message and 'mpii_val_shuffled.json' in message
    assert 'sample 0 ' in message                        # the first mismatching sample


def test_sub_pixel_differences_pass_and_a_two_pixel_shift_fails(mpii):
    gt = mpii['gt']
    n = len(gt['head_size'])
    json0 = gt['pos_gt_src'] - 1.0 + 0.6                  # rounding in the JSON: < 1 px
    metric = MPIIPCKh(gt_file=mpii['gt_mat'])
    metric.process(None, _samples(gt['pos_gt_src'] - 1.0, range(n), json0))
    assert metric.evaluate(n)['PCKh'] == pytest.approx(100.0)
    moved = gt['pos_gt_src'] - 1.0
    last = n - 1
    joint = int(np.flatnonzero(gt['jnt_visible'][last])[0])
    moved[last, joint] += 2.0
    metric = MPIIPCKh(gt_file=mpii['gt_mat'])
    metric.process(None, _samples(gt['pos_gt_src'] - 1.0, range(n), moved))
    with pytest.raises(ValueError, match=f'sample {last} .*joint {joint} '):
        metric.evaluate(n)


# ------------------------------------------------------ eval_keypoints.py coco
def _coco_files(tmp_path, shift=0.0):
    """A two-image COCO annotation file and results = its people (+ shift px)."""
    rng = np.random.default_rng(0)
    images, anns, results = [], [], []
    for image_id in (1, 2):
        images.append(dict(id=image_id, file_name=f'{image_id}.jpg', width=200,
                           height=200))
        for k in range(2):
            xy = rng.uniform(40, 160, (17, 2))
            x0, y0 = xy.min(0)
            w, h = xy.max(0) - xy.min(0)
            kpts = np.concatenate([xy, np.full((17, 1), 2.0)], 1)
            anns.append(dict(id=len(anns) + 1, image_id=image_id, category_id=1,
                             bbox=[x0, y0, w, h], area=float(w * h), iscrowd=0,
                             num_keypoints=17, keypoints=kpts.reshape(-1).tolist()))
            res = np.concatenate([xy + shift, np.ones((17, 1))], 1)
            results.append(dict(image_id=image_id, category_id=1, score=1.0,
                                keypoints=res.reshape(-1).tolist()))
    ann = tmp_path / f'ann{shift}.json'
    ann.write_text(json.dumps(dict(images=images, annotations=anns, categories=[
        dict(id=1, name='person', supercategory='person')])))
    res = tmp_path / f'res{shift}.json'
    res.write_text(json.dumps(results))
    return ann, res


def test_coco_tool_scores_a_results_file(tmp_path, capsys):
    pytest.importorskip('pycocotools')
    pytest.importorskip('hpekit.evaluation.metrics.coco_metric')
    ann, res = _coco_files(tmp_path)
    code, out, _ = _run_tool(['coco', '--results', str(res), '--ann', str(ann),
                              '--json', str(tmp_path / 'coco.json')], capsys)
    assert code == 0 and 'Average Precision' in out
    metrics = json.loads((tmp_path / 'coco.json').read_text())['metrics']
    assert metrics['AP'] == pytest.approx(1.0) and metrics['AR'] == pytest.approx(1.0)
    ann, res = _coco_files(tmp_path, shift=6.0)
    _run_tool(['coco', '--results', str(res), '--ann', str(ann),
               '--json', str(tmp_path / 'coco6.json')], capsys)
    assert json.loads((tmp_path / 'coco6.json').read_text())['metrics']['AP'] < 1.0


def test_the_runner_dataset_meta_names_the_json(mpii):
    """MPIIDataset's metainfo carries its ann_file, so the runner's metric names it."""
    from hpekit.datasets import MPIIDataset
    records = json.loads(open(mpii['val_json']).read())
    path = mpii['root'] / 'annotations' / 'mpii_val_reversed.json'
    path.write_text(json.dumps(records[::-1]))
    dataset = MPIIDataset(data_root=str(mpii['root']), ann_file=str(path), test_mode=True)
    metric = MPIIPCKh(gt_file=mpii['gt_mat'])
    metric.dataset_meta = dataset.metainfo
    gt = mpii['gt']
    n = len(gt['head_size'])
    json0 = np.stack([np.asarray(r['joints'], float) - 1.0 for r in records[::-1]])
    metric.process(None, _samples(json0, range(n), json0))
    with pytest.raises(ValueError, match='mpii_val_reversed.json'):
        metric.evaluate(n)
