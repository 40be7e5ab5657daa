"""Per-keypoint tables (rows, columns, text / Markdown / CSV files, MetricsJsonHook's and
tools/test.py's files), CocoMetric's per-keypoint similarity on a toy case, and the
missing-sigma error before the first training step."""
import csv
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.datasets.metainfo import parse_pose_metainfo
from hpekit.engine.hooks.metrics_json import MetricsJsonHook
from hpekit.evaluation.metrics.coco_metric import CocoMetric, MissingSigmasError
from hpekit.evaluation.metrics.per_keypoint import (build_table, format_csv, format_markdown,
                                                    format_text, merged_counts, split_key,
                                                    write_table_files)

ROOT = Path(__file__).resolve().parents[2]
NAMES = ['tip', 'base', 'tail']


def toy_meta(sigmas=(0.05, 0.05, 0.1)):
    return parse_pose_metainfo(dict(
        dataset_name='toy', skeleton_info={}, joint_weights=[1.0] * 3, sigmas=list(sigmas),
        keypoint_info={i: dict(name=n, id=i, color=[0, 0, 255], type='', swap='')
                       for i, n in enumerate(NAMES)}))


METRICS = {'PCK': 0.5, 'PCK/tail': 0.25, 'PCK/tip': 0.75, 'coco/KS/base': 0.5,
           'MPJPE/Walking': 80.0, 'h36m/mpjpe_tip': 41.5, 'AUC': 0.3, 'tip': 9.0}


# ------------------------------------------------------------------ the table
def test_split_key_reads_both_forms_and_nothing_else():
    assert split_key('coco/KS/base', NAMES) == ('coco/KS', 'base')
    assert split_key('PCK/tip', NAMES) == ('PCK', 'tip')
    assert split_key('h36m/mpjpe_tip', NAMES) == ('h36m/mpjpe', 'tip')
    assert split_key('mpjpe_tail', NAMES) == ('mpjpe', 'tail')
    for key in ('PCK', 'MPJPE/Walking', 'tip', 'PCK/left_tip', 'mpjpe_wrist'):
        assert split_key(key, NAMES) is None, key


def test_rows_follow_the_metainfo_and_columns_the_per_keypoint_keys():
    table = build_table(METRICS, NAMES, counts={'labelled': [4, 0, 2]})
    assert table.keypoints == NAMES
    assert table.columns == ['PCK', 'coco/KS', 'h36m/mpjpe']   # first appearance order
    expected = [[0.75, np.nan, 41.5], [np.nan, 0.5, np.nan], [0.25, np.nan, np.nan]]
    np.testing.assert_array_equal(table.values, expected)
    assert table.counts['labelled'].tolist() == [4, 0, 2]
    assert len(build_table({'PCK': 0.5, 'AUC': 0.1}, NAMES)) == 0


def test_bad_values_and_counts_are_named():
    with pytest.raises(ValueError, match=r"per-keypoint metric 'PCK/tip': expected one number"):
        build_table({'PCK/tip': [1.0, 2.0]}, NAMES)
    with pytest.raises(ValueError, match=r"counts 'labelled': expected 3 values"):
        build_table(METRICS, NAMES, counts={'labelled': [1, 2]})


def test_text_markdown_and_csv():
    table = build_table(METRICS, NAMES, counts={'labelled': [4, 0, 2]})
    text = format_text(table).splitlines()
    assert text[0].split() == ['keypoint', 'PCK', 'coco/KS', 'h36m/mpjpe', 'labelled']
    assert text[1].split() == ['tip', '0.7500', 'n/a', '41.50', '4']
    assert len({len(line) for line in text}) == 1   # aligned columns
    md = format_markdown(table, 'Title').splitlines()
    assert md[0] == '# Title'
    assert md[2] == '| keypoint | PCK | coco/KS | h36m/mpjpe | labelled |'
    assert md[3].count('|') == 6 and md[4] == '| tip | 0.7500 | n/a | 41.50 | 4 |'
    rows = list(csv.reader(format_csv(table).splitlines()))
    assert rows[0] == ['keypoint', 'PCK', 'coco/KS', 'h36m/mpjpe', 'labelled']
    assert rows[1:] == [['tip', '0.75', '', '41.5', '4'], ['base', '', '0.5', '', '0'],
                        ['tail', '0.25', '', '', '2']]


def test_files_are_written_whole(tmp_path):
    table = build_table(METRICS, NAMES)
    paths = write_table_files(table, str(tmp_path / 'per_keypoint'), 'T')
    assert paths == [str(tmp_path / 'per_keypoint.md'), str(tmp_path / 'per_keypoint.csv')]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['per_keypoint.csv',
                                                          'per_keypoint.md']   # no temp files
    assert (tmp_path / 'per_keypoint.md').read_text().startswith('# T\n')


def test_counts_of_several_metrics_merge():
    same = SimpleNamespace(keypoint_counts={'labelled': np.array([1, 2, 3])})
    other = SimpleNamespace(keypoint_counts={'labelled': np.array([1, 1, 1])})
    merged = merged_counts([same, same, other, SimpleNamespace()])
    assert list(merged) == ['labelled', 'labelled (SimpleNamespace)']
    assert merged['labelled (SimpleNamespace)'].tolist() == [1, 1, 1]


# ------------------------------------------------------------- MetricsJsonHook
def _fake_runner(work_dir, meta, metrics=()):
    evaluator = SimpleNamespace(dataset_meta=meta, metrics=list(metrics))
    return SimpleNamespace(work_dir=str(work_dir), epoch=3, iter=30, val_evaluator=evaluator)


def test_metrics_json_hook_writes_the_latest_table(tmp_path):
    hook = MetricsJsonHook()
    counted = SimpleNamespace(keypoint_counts={'labelled': np.array([5, 4, 3])})
    runner = _fake_runner(tmp_path, toy_meta(), [counted])
    hook.after_val_epoch(runner, METRICS)
    runner.epoch, runner.iter = 4, 40
    hook.after_val_epoch(runner, {**METRICS, 'PCK/tip': 0.125})
    assert len(json.loads((tmp_path / 'metrics.json').read_text())) == 2
    md = (tmp_path / 'per_keypoint.md').read_text()
    assert md.startswith('# Per-keypoint validation metrics, epoch 4, iteration 40')
    assert '| tip | 0.1250 | n/a | 41.50 | 5 |' in md
    rows = list(csv.DictReader((tmp_path / 'per_keypoint.csv').read_text().splitlines()))
    assert [r['keypoint'] for r in rows] == NAMES
    assert rows[0]['PCK'] == '0.125' and rows[2]['labelled'] == '3'


def test_metrics_json_hook_writes_no_table_without_per_keypoint_values(tmp_path):
    MetricsJsonHook().after_val_epoch(_fake_runner(tmp_path, toy_meta()), {'AP': 0.5})
    assert sorted(p.name for p in tmp_path.iterdir()) == ['metrics.json']


# ------------------------------------------------------------------- CocoMetric
def _person(ann_id, img_id, kpts, area, iscrowd=0):
    flat = [v for x, y, vis in kpts for v in (x, y, vis)]
    return dict(id=ann_id, image_id=img_id, category_id=1, keypoints=flat, area=area,
                iscrowd=iscrowd, num_keypoints=sum(v > 0 for *_, v in kpts),
                bbox=[0, 0, 10, 10])


def toy_coco(tmp_path):
    """Image 1: people 1 (area 100) and 2 (area 400, tail unlabelled) and a crowd;
    image 2: person 3, who gets no prediction."""
    p1 = [(10, 10, 2), (20, 10, 2), (30, 10, 2)]
    p2 = [(100, 100, 2), (110, 100, 2), (0, 0, 0)]
    anns = [_person(1, 1, p1, 100.0), _person(2, 1, p2, 400.0),
            _person(3, 2, p1, 100.0), _person(4, 1, p1, 100.0, iscrowd=1)]
    data = dict(images=[dict(id=i, file_name=f'{i}.jpg', width=200, height=200)
                        for i in (1, 2)],
                annotations=anns, categories=[dict(id=1, name='thing')])
    path = tmp_path / 'toy.json'
    path.write_text(json.dumps(data))
    # predictions on image 1: person 1 off by 1, 0, 2 px; person 2 off by 2, 4 px
    preds = {1: np.array([[11., 10.], [20., 10.], [30., 12.]]),
             2: np.array([[100., 102.], [114., 100.], [50., 50.]])}
    samples = [dict(pred_keypoints=p, keypoint_scores=np.ones(3),
                    metainfo=dict(id=i, img_id=1)) for i, p in preds.items()]
    return str(path), samples


def test_coco_metric_per_keypoint_similarity(tmp_path):
    ann_file, samples = toy_coco(tmp_path)
    metric = CocoMetric(ann_file=ann_file)
    metric.dataset_meta = toy_meta()
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    # ks = exp(-d² / (2·area·(2σ)²)); person 1 (area 100): tip σ .05, d 1 → exp(-1/2);
    # base d 0 → 1; tail σ .1, d 2 → exp(-4/8). Person 2 (area 400): tip d 2 →
    # exp(-4/8); base d 4 → exp(-16/8). Person 3 has no prediction, person 4 is a crowd.
    assert result['coco/KS/tip'] == pytest.approx(math.exp(-0.5))
    assert result['coco/KS/base'] == pytest.approx((1 + math.exp(-2)) / 2)
    assert result['coco/KS/tail'] == pytest.approx(math.exp(-0.5))
    assert result['coco/KS@0.5/tip'] == 1.0
    assert result['coco/KS@0.5/base'] == 0.5   # exp(-2) = 0.135 < 0.5
    assert metric.keypoint_counts['labelled (matched people)'].tolist() == [2, 2, 1]
    assert 0 < result['coco/AP'] <= 1


def test_coco_metric_matches_each_person_to_its_best_prediction(tmp_path):
    ann_file, samples = toy_coco(tmp_path)
    metric = CocoMetric(ann_file=ann_file)
    metric.dataset_meta = toy_meta()
    # both predictions sit on person 2: person 1's best is then a far one (ks ≈ 0)
    samples[0]['pred_keypoints'] = samples[1]['pred_keypoints'] + 1.0
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    assert result['coco/KS/tip'] == pytest.approx(math.exp(-0.5) / 2, abs=1e-6)


# --------------------------------------------------------------- missing sigmas
@pytest.mark.parametrize('sigmas', [(), (0.05, 0.05)])
def test_coco_metric_refuses_metainfo_without_sigmas(sigmas):
    meta = toy_meta(())
    meta['sigmas'] = np.asarray(sigmas)
    with pytest.raises(MissingSigmasError) as error:
        CocoMetric(ann_file='unused.json').dataset_meta = meta
    message = str(error.value)
    for part in ("metainfo 'toy'", '3: tip, base, tail', 'sigmas=[s_0, ..., s_2]',
                 'one value per keypoint', 'from_file', '0.05', 'PCKAccuracy'):
        assert part in message, part
    del meta['sigmas']
    with pytest.raises(MissingSigmasError, match="has no 'sigmas'"):
        CocoMetric(ann_file='unused.json').dataset_meta = meta
    # writing results only (no OKS anywhere) needs no sigmas
    CocoMetric(ann_file='x.json', format_only=True, outfile_prefix='x').dataset_meta = meta


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    from hpekit.datasets.synthetic.coco import write_coco_split
    root = tmp_path_factory.mktemp('coco')
    write_coco_split(str(root), num_train=2, num_val=1, image_size=(96, 72), seed=1,
                     progress=False)
    return root


TINY = [str(ROOT / 'tests' / 'configs' / 'coco_tiny.py'), '--cfg-options',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=16']


def test_missing_sigmas_stop_training_before_the_first_step(tmp_path, tiny_coco,
                                                            monkeypatch):
    text = (ROOT / 'configs' / '_base_' / 'datasets' / 'coco.py').read_text()
    no_sigmas, count = re.subn(r'sigmas=\[[^\]]*\]', 'sigmas=[]', text)
    assert count == 1
    meta_file = tmp_path / 'coco_no_sigmas.py'
    meta_file.write_text(no_sigmas)
    from hpekit.registry import MODELS
    steps = []
    estimator = MODELS.get('TopDownPoseEstimator')
    monkeypatch.setattr(estimator, 'train_step',
                        lambda self, *a, **k: steps.append(1) or {}, raising=True)
    train = load_tool('train')
    with pytest.raises(MissingSigmasError, match="no OKS|empty 'sigmas'"):
        train.main([*TINY, f'train_dataloader.dataset.metainfo.from_file={meta_file}',
                    f'val_dataloader.dataset.metainfo.from_file={meta_file}',
                    '--data-root', str(tiny_coco), '--work-dir', str(tmp_path / 'work')])
    assert steps == []
    assert not list((tmp_path / 'work').glob('*.pth'))


# ---------------------------------------------------- train and test write tables
def test_train_and_test_write_per_keypoint_files(tmp_path, tiny_coco):
    work = tmp_path / 'work'
    load_tool('train').main([*TINY, '--data-root', str(tiny_coco), '--work-dir', str(work)])
    rows = list(csv.DictReader((work / 'per_keypoint.csv').read_text().splitlines()))
    assert [r['keypoint'] for r in rows][:2] == ['nose', 'left_eye'] and len(rows) == 17
    assert {'coco/KS', 'coco/KS@0.5', 'labelled (matched people)'} <= set(rows[0])
    history = json.loads((work / 'metrics.json').read_text())
    assert float(rows[0]['coco/KS']) == pytest.approx(history[-1]['coco/KS/nose'])
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    test_dir = tmp_path / 'test'
    load_tool('test').main([str(ROOT / 'tests' / 'configs' / 'coco_tiny.py'), checkpoint,
                            '--data-root', str(tiny_coco), '--work-dir', str(test_dir)])
    md = (test_dir / 'test_per_keypoint.md').read_text()
    assert md.startswith(f'# Per-keypoint test metrics of {checkpoint}')
    assert '| nose |' in md and (test_dir / 'test_per_keypoint.csv').is_file()
