"""The plugin example package (docs/plugins.md): every kind of part lives outside
hpekit, passes hpekit's sweep, and the page's commands and code run exactly as
printed — train, test, demo, ONNX export and FLOPs on a 14-keypoint COCO-format
dataset with its own metainfo and a plugin estimator, with no edit inside hpekit."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import test_sweep as sweep
import torch

from hpekit.registry import BLOCKS, DATASETS, KEYPOINT_CODECS, METRICS, MODELS, TRANSFORMS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / 'examples'
PAGE = ROOT / 'docs' / 'plugins.md'
PACKAGE_PARTS = [(BLOCKS, 'SEBottleneck'), (MODELS, 'TinyConvNet'),
                 (MODELS, 'TemporalSmoothingNeck'), (MODELS, 'ConvHeatmapHead'),
                 (MODELS, 'RegressionPoseEstimator'), (KEYPOINT_CODECS, 'CentroidHeatmap'),
                 (TRANSFORMS, 'RandomGrayscale'), (METRICS, 'MeanPixelError'),
                 (DATASETS, 'Toy14Dataset')]


def code_blocks(language):
    """The ```language blocks of docs/plugins.md that are not files: a block under a
    line naming its path (`path`:) is one (tests/test_docs_plugins.py checks those)."""
    text = re.sub(r'^`[^`\n]+`:\n\n```\w*\n.*?```', '', PAGE.read_text(), flags=re.S | re.M)
    return re.findall(rf'```{language}\n(.*?)```', text, re.S)


@pytest.fixture(scope='module')
def package():
    sys.path.insert(0, str(EXAMPLES))
    import hpekit_plugin_example
    yield hpekit_plugin_example
    sys.path.remove(str(EXAMPLES))


def _toy14_data(tmp_path):
    from hpekit_plugin_example.make_data import main
    main(['--out', str(tmp_path), '--train', '1', '--val', '2'])


def _keypoint_samples(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 50, (3, 14, 2))
    return [dict(pred_keypoints=g + 3.0, gt_keypoints=g, keypoints_visible=np.ones(14))
            for g in gt], {}


@pytest.mark.parametrize('registry, name', PACKAGE_PARTS, ids=[n for _, n in PACKAGE_PARTS])
def test_the_package_parts_pass_the_sweep(package, registry, name, tmp_path, monkeypatch):
    cls = registry.get(name)
    example = vars(cls)['sweep_example']
    if registry in (MODELS, BLOCKS):
        sweep._run_module(cls(**example['cfg']).train(), example)
    elif registry is KEYPOINT_CODECS:
        sweep.test_codecs_round_trip(name, cls)
    elif registry is TRANSFORMS:
        sweep.test_transforms_on_a_synthetic_sample(name, cls, tmp_path)
    elif registry is DATASETS:
        monkeypatch.setitem(sweep.DATA, 'toy14', _toy14_data)
        sweep.test_datasets_on_synthetic_files(name, cls, tmp_path)
    else:
        monkeypatch.setitem(sweep.METRIC_SAMPLES, 'keypoints_2d', _keypoint_samples)
        sweep.test_metrics_process_and_compute(name, cls, tmp_path)


def test_the_dataset_reads_its_own_metainfo(package, tmp_path):
    _toy14_data(tmp_path)
    dataset = DATASETS.build(dict(type='Toy14Dataset', data_root=str(tmp_path),
                                  ann_file='annotations/toy14_val.json',
                                  data_prefix=dict(img='images/'), input_size=(64, 64)))
    meta = dataset.metainfo
    assert meta['dataset_name'] == 'toy14' and meta['num_keypoints'] == 14
    assert meta['keypoint_id2name'][meta['flip_indices'][8]] == 'left_wrist'
    info = dataset.get_data_info(0)
    assert info['keypoints'].shape == (14, 2) and info['lower_body_ids'] == list(range(6))


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A folder where the page's commands run as from the repository root."""
    root = tmp_path_factory.mktemp('plugin_docs')
    for name in ('examples', 'tools', 'configs'):
        (root / name).symlink_to(ROOT / name)
    return root


def run(command, cwd, timeout, paths=()):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([*map(str, paths), str(ROOT),
                                           os.environ.get('PYTHONPATH', '')]),
               PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                     os.environ.get('PATH', '')]))
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_the_run_commands_work_as_printed(workspace):
    (commands,) = code_blocks('bash')
    run(['bash', '-euo', 'pipefail', '-c', commands], workspace, timeout=900)
    out = workspace / 'work_dirs' / 'toy14_regression'
    metrics = json.loads((out / 'test_metrics.json').read_text())['metrics']
    assert 0.0 <= metrics['PCK'] <= 1.0 and 'PCK/head_top' in metrics
    assert metrics['toy/mean_px_error'] > 0
    assert (out / 'demo.jpg').is_file()
    export = json.loads((out / 'model.json').read_text())
    assert export['outputs'] == ['keypoints'] and export['check']['passed']
    assert export['input_shape'] == [1, 3, 64, 64]
    assert (workspace / 'work_dirs' / 'toy14_heatmap' / 'epoch_1.pth').is_file()


def test_the_script_snippet_works_as_printed(workspace):
    (script,) = code_blocks('python')
    proc = run([sys.executable, '-c', script], workspace, timeout=300,
               paths=[workspace / 'examples'])
    assert "task='topdown2d'" in proc.stdout and 'num_keypoints=14' in proc.stdout


def test_the_video_config_trains_with_the_plugin_neck(tmp_path):
    config = EXAMPLES / 'hpekit_plugin_example' / 'configs' / 'tiny_video_synthetic.py'
    proc = run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(config),
                '--work-dir', str(tmp_path)], ROOT, timeout=300, paths=[EXAMPLES])
    assert (tmp_path / 'epoch_1.pth').is_file(), proc.stdout[-1000:]
    history = json.loads((tmp_path / 'metrics.json').read_text())
    assert history[-1]['mpjpe'] > 0


def test_a_plugin_part_fails_the_sweep_without_an_example(package):
    @MODELS.register_module(force=True)
    class NoExample(torch.nn.Module):
        pass

    try:
        with pytest.raises(AssertionError, match='no sweep_example'):
            sweep.test_every_part_declares_an_example(MODELS, 'NoExample', NoExample)
    finally:
        MODELS.module_dict.pop('NoExample')
