"""CocoMetric equals pycocotools' COCOeval on the same files; PCKAccuracy by hand."""
import contextlib
import io
import json

import numpy as np
import pytest
import torch
from metainfo_values import metainfo

from hpekit.datasets.synthetic.coco import write_coco_split
from hpekit.evaluation.metrics import CocoMetric, PCKAccuracy
from hpekit.evaluation.metrics.coco_metric import STATS_NAMES, exact_sigmas
from hpekit.structures import PoseDataSample

COCO_META = metainfo('coco')
K = COCO_META['num_keypoints']


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco_metric')
    written = write_coco_split(str(root), num_train=0, num_val=6, image_size=(320, 240),
                               seed=5, progress=False)
    return written['val_json']


def _gt(ann_file):
    with open(ann_file) as f:
        return json.load(f)


def _predictions(ann_file, seed=0):
    """Noisy predictions of every labelled person, one repeat and one false person."""
    rng = np.random.default_rng(seed)
    data, samples = _gt(ann_file), []
    for ann in data['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        kpts = np.reshape(ann['keypoints'], (K, 3))[:, :2]
        samples.append(dict(id=ann['id'], img_id=ann['image_id'], category_id=1,
                            bbox_score=float(rng.uniform(0.5, 1.0)),
                            pred_keypoints=kpts + rng.normal(0, 3, (K, 2)),
                            keypoint_scores=rng.uniform(0, 1, K)))
    samples.append(dict(samples[0]))   # a repeat (distributed padding): dropped
    samples.append(dict(id=10_000, img_id=data['images'][0]['id'], category_id=1,
                        bbox_score=0.3, pred_keypoints=rng.uniform(0, 200, (K, 2)),
                        keypoint_scores=rng.uniform(0, 1, K)))
    return samples


def _cocoeval(ann_file, res_file):
    """COCOeval's stats, run directly as its documentation shows (default sigmas)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        evaluator = COCOeval(gt, gt.loadRes(res_file), 'keypoints')
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return [float(v) for v in evaluator.stats]


def _hand_results(samples, thr=0.2):
    """COCO results written independently of CocoMetric (MMPose's score rule)."""
    seen, records = set(), []
    for s in samples:
        if s['id'] in seen:
            continue
        seen.add(s['id'])
        scores = s['keypoint_scores']
        score = s['bbox_score'] * np.mean(scores[scores > thr])
        kpts = np.concatenate([s['pred_keypoints'], scores[:, None]], axis=1)
        records.append(dict(image_id=s['img_id'], category_id=1,
                            keypoints=kpts.reshape(-1).tolist(), score=float(score)))
    return records


def test_coco_metric_equals_cocoeval_on_the_same_files(ann_file, tmp_path):
    samples = _predictions(ann_file)
    metric = CocoMetric(ann_file=ann_file, outfile_prefix=str(tmp_path / 'preds'))
    metric.dataset_meta = COCO_META
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    stats = {k: v for k, v in result.items() if '/KS' not in k}   # per-keypoint KS aside
    assert list(stats) == [f'coco/{name}' for name in STATS_NAMES]
    res_file = tmp_path / 'preds.keypoints.json'
    assert list(stats.values()) == _cocoeval(ann_file, str(res_file))   # exact
    hand_file = tmp_path / 'hand.keypoints.json'
    hand_file.write_text(json.dumps(_hand_results(samples)))
    assert list(stats.values()) == _cocoeval(ann_file, str(hand_file))  # exact
    written = json.loads(res_file.read_text())
    assert len(written) == len(samples) - 1
    assert 0.3 < result['coco/AP'] < 1.0


def test_metainfo_sigmas_are_cocoevals_defaults():
    from pycocotools.cocoeval import Params
    sigmas = exact_sigmas(COCO_META['sigmas'])
    assert sigmas[0] == 0.026   # the decimal of the metainfo file, not float32's
    # pycocotools computes its defaults as tenths (.26 / 10): equal up to one ulp.
    np.testing.assert_allclose(sigmas, Params(iouType='keypoints').kpt_oks_sigmas,
                               rtol=1e-15, atol=0)


def test_perfect_predictions_from_data_samples_give_ap_one(ann_file):
    data, samples = _gt(ann_file), []
    for ann in data['annotations']:
        if ann['num_keypoints']:
            sample = PoseDataSample(metainfo=dict(id=ann['id'], img_id=ann['image_id'],
                                                  category_id=1, bbox_score=1.0))
            sample.pred_keypoints = np.reshape(ann['keypoints'], (K, 3))[:, :2]
            sample.keypoint_scores = torch.ones(K)
            samples.append(sample)
    metric = CocoMetric(ann_file=ann_file, prefix='val')
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    assert result['val/AP'] == 1.0 and result['val/AR'] == 1.0


@pytest.mark.parametrize('mode, expect', [('bbox', 0.5), ('keypoint', 0.4),
                                          ('bbox_keypoint', 0.5 * 0.7)])
def test_score_modes(mode, expect):
    from hpekit.evaluation.metrics.coco_metric import instance_score
    scores = np.array([0.1, 0.6, 0.8, 0.1])
    assert instance_score(0.5, scores, mode, 0.2) == pytest.approx(expect)


def test_coco_metric_errors(ann_file):
    with pytest.raises(ValueError, match="nms_mode must be one of"):
        CocoMetric(ann_file=ann_file, nms_mode='soft_oks_nms')
    with pytest.raises(ValueError, match='format_only=True needs outfile_prefix'):
        CocoMetric(ann_file=ann_file, format_only=True)
    metric = CocoMetric(ann_file=ann_file)
    with pytest.raises(KeyError, match="no 'img_id'.*PackPoseInputs meta_keys"):
        metric.process({}, [dict(id=1, pred_keypoints=np.zeros((K, 2)),
                                 keypoint_scores=np.ones(K))])
    with pytest.raises(ValueError, match=r'pred_keypoints must have shape \[17, 2\]'):
        metric.process({}, [dict(id=1, img_id=1, pred_keypoints=np.zeros((16, 2)),
                                 keypoint_scores=np.ones(K))])


def test_format_only_writes_results(ann_file, tmp_path):
    samples = _predictions(ann_file)
    metric = CocoMetric(ann_file=ann_file, format_only=True,
                        outfile_prefix=str(tmp_path / 'out' / 'r'))
    metric.process({}, samples)
    assert metric.evaluate(len(samples)) == {}
    assert json.loads((tmp_path / 'out' / 'r.keypoints.json').read_text())


# ------------------------------------------------------------------ PCKAccuracy
def _pck_samples():
    """Two samples, 3 keypoints: box longer sides 100 and 60, head sizes 10 and 20."""
    gt = np.array([[[10, 10], [20, 20], [30, 30]], [[40, 40], [50, 50], [60, 60]]], float)
    off = np.array([[[4, 0], [0, 6], [50, 50]],          # 0.04 ✓, 0.06 ✗, not labelled
                    [[0, 2.9], [3, 0], [0.6, 0.8]]])     # 0.048 ✓, 0.05 ✗ (strict), ✓
    visible = np.array([[1, 1, 0], [1, 1, 1]], float)
    boxes = [np.array([0, 0, 100, 50.0]), np.array([10, 10, 30, 70.0])]
    return [dict(pred_keypoints=torch.tensor(gt[i] + off[i]), gt_keypoints=gt[i],
                 keypoints_visible=visible[i], metainfo=dict(bbox=boxes[i],
                                                             head_size=[10.0, 20.0][i]))
            for i in range(2)]


def test_pck_accuracy_by_hand():
    metric = PCKAccuracy(thr=0.05, norm_item=['bbox', 'head'])
    metric.dataset_meta = dict(num_keypoints=3, keypoint_id2name={0: 'a', 1: 'b', 2: 'c'})
    metric.process({}, _pck_samples())
    result = metric.compute_metrics(metric.results)
    # bbox: per keypoint 2/2, 0/2, 1/1 → mean 2/3.
    assert result['PCK/a'] == 1.0 and result['PCK/b'] == 0.0 and result['PCK/c'] == 1.0
    assert result['PCK'] == pytest.approx(2 / 3)
    # head (thr 0.05 of 10 and 20 px): only the 1 px error (sample 2, c) is below 1 px.
    assert (result['PCKh/a'], result['PCKh/b'], result['PCKh/c']) == (0.0, 0.0, 1.0)
    assert result['PCKh'] == pytest.approx(1 / 3)


def test_pck_accuracy_keypoint_never_labelled_is_nan_and_left_out():
    samples = _pck_samples()
    for s in samples:
        s['keypoints_visible'] = np.array([1.0, 1.0, 0.0])
    metric = PCKAccuracy(thr=0.05)
    metric.process({}, samples)
    result = metric.compute_metrics(metric.results)
    assert np.isnan(result['PCK/2']) and result['PCK'] == pytest.approx(0.5)


def test_pck_accuracy_errors():
    with pytest.raises(ValueError, match='norm_item'):
        PCKAccuracy(norm_item='torso')
    sample = _pck_samples()[0]
    del sample['metainfo']['head_size']
    with pytest.raises(KeyError, match="no 'head_size'.*head size"):
        PCKAccuracy(norm_item='head').process({}, [sample])


def test_oks_nms_drops_a_near_duplicate_and_keeps_the_rest(ann_file):
    """With nms_mode='oks_nms' a second, lower-scored copy of a person (a detector's
    duplicate box) is removed before COCOeval; with 'none' it counts as a false
    positive."""
    samples = _predictions(ann_file)[:-2]
    duplicate = dict(samples[0], id=20_000, bbox_score=0.1,
                     pred_keypoints=samples[0]['pred_keypoints'] + 0.5)
    records = {}
    for mode in ('none', 'oks_nms'):
        metric = CocoMetric(ann_file=ann_file, nms_mode=mode)
        metric.dataset_meta = COCO_META
        metric.process({}, samples + [duplicate])
        records[mode] = metric.results_to_coco(metric.results)
    assert len(records['none']) == len(samples) + 1
    removed = [r for r in records['none'] if r not in records['oks_nms']]
    assert len(removed) == 1 and len(records['oks_nms']) == len(samples)
    same_image = [r['score'] for r in records['none'] if r['image_id'] == samples[0]['img_id']]
    assert removed[0]['score'] == min(same_image)      # the duplicate, scored 0.1 × …
