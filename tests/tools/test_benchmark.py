"""tools/benchmark.py: every mode runs on a tiny config and reports consistent figures
(no timing thresholds: speed targets are measured by the tool, not asserted here)."""
import json
import os.path as osp
import re
import time
import types

import numpy as np
import pytest
import torch
from tool_loader import load_tool

from tools.benchmarking.harness import PeakMemory, summarize

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
tool = load_tool('benchmark')

MPII_TINY = 'tests/configs/mpii_tiny.py'
VIDEO_TINY = 'tests/configs/video_tiny.py'


@pytest.fixture(scope='module')
def video_root(tmp_path_factory):
    from hpekit.datasets.synthetic.h36m import write_h36m_split
    root = str(tmp_path_factory.mktemp('h36m'))
    write_h36m_split(root, num_train=6, num_valid=4, size=32, seed=0, progress=False)
    return root


def _run(capsys, tmp_path, *argv):
    """Run the tool; check the --json file holds the result and the table on stdout
    shows its figures; return the result."""
    out = tmp_path / 'result.json'
    result = tool.main(list(argv) + ['--json', str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    _check_table(capsys.readouterr().out, saved)
    return saved


def _table_rows(text):
    """The arm table of the printed text: {arm: {column header: cell}}."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith('arm  '))
    headers = re.split(r'\s{2,}', lines[start].strip())
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = re.split(r'\s{2,}', line.strip())
        assert len(cells) == len(headers), line
        rows[cells[0]] = dict(zip(headers, cells))
    return rows


def _check_table(text, result):
    """The printed table shows the JSON's figures, rounded as printed (2 decimals; ratios 3,
    MB 1), one row per arm, named as in the JSON."""
    mode = result['mode']
    assert not text.strip().splitlines()[-1].startswith('{')   # a table, not JSON
    assert f'\n{mode}  {result["config"]}  ' in '\n' + text   # the title line
    rows = _table_rows(text)
    ratios, ratio_key = {}, 'wall_paired'
    if mode == 'allocator':
        arms, ratios = result['allocators'], result['ratios']
    elif 'interleaved' in result:
        arms, ratios = result['interleaved']['arms'], result['interleaved']['ratios']
        ratio_key = 'wall_paired_per_sample' if mode == 'inference' else 'wall_paired'
    elif mode == 'train-step':
        arms = {k: result[k] for k in ('hpekit', 'plain') if k in result}
        if 'plain' in result:
            ratios = {'hpekit': {ratio_key: result['overhead_paired']}}
    else:
        arms = {mode: result}
    assert list(rows)[:len(arms)] == list(arms)
    for name, arm in arms.items():
        steps, row = arm.get('step_ms') or arm['wall_ms'], rows[name]
        assert row['median ms/step'] == f'{steps["median"]:.2f}'
        assert row['p10–p90 ms/step'] == f'{steps["p10"]:.2f}–{steps["p90"]:.2f}'
        if 'samples_per_s' in arm:
            assert row['samples/s'] == f'{arm["samples_per_s"]:.2f}'
        if name in ratios:
            assert row['× ref (paired)'] == f'{ratios[name][ratio_key]:.3f}'
    assert next(iter(rows.values()))['samples/s'] == f'{result["samples_per_s"]:.2f}'
    if 'plain_baseline' in result:
        base = rows[f'plain_baseline ({result["plain_baseline"]["allocator"]})']
        assert base['samples/s'] == f'{result["plain_baseline"]["samples_per_s"]:.2f}'
    for key in ('overhead', 'overhead_paired', 'legacy_overhead', 'speedup_vs_baseline',
                'speedup_vs_baseline_paired'):
        if key in result:
            assert f' {key} {result[key]:.3f}' in text
    if result['peak_rss_mb'] is not None:
        assert f'RSS {result["peak_rss_mb"]:.1f} MB' in text


def _check_common(result, mode, batch_size, iters):
    assert result['mode'] == mode and result['device'] == 'cpu'
    assert result['batch_size'] == batch_size and result['iters'] == iters
    assert result['samples_per_s'] > 0 and result['peak_rss_mb'] > 10
    assert result['peak_gpu_mb'] is None
    steps = result['step_ms']
    assert 0 < steps['min'] <= steps['p10'] <= steps['median'] <= steps['p90'] <= steps['max']


def test_summarize_hand_computed():
    figures = summarize([0.010, 0.020, 0.030, 0.040], samples_per_step=4)
    assert figures['step_ms']['median'] == pytest.approx(25.0)
    assert figures['step_ms']['min'] == pytest.approx(10.0)
    assert figures['step_ms']['max'] == pytest.approx(40.0)
    assert figures['samples_per_s'] == pytest.approx(4 / 0.025)
    with pytest.raises(ValueError, match='no timed steps'):
        summarize([], 1)


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(interval_s=0.01) as small:
        pass
    with PeakMemory(interval_s=0.01) as big:
        block = np.ones(200 * 2**20 // 8)   # 200 MiB, touched
        block += 1
    assert big.peak_mb >= 200 and big.peak_mb > small.peak_mb - 1
    del block


def test_pipeline_mode_breaks_the_time_down_per_transform(capsys, tmp_path, mpii_root):
    result = _run(capsys, tmp_path, 'pipeline', MPII_TINY, '--iters', '6', '--warmup', '1',
                  '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}')
    _check_common(result, 'pipeline', 1, 6)
    names = list(result['transforms_ms'])
    assert names == ['get_data_info', '0:RandomHalfBody', '1:LoadImage', '2:TopdownAffine',
                     '3:GenerateTarget', '4:PackPoseInputs']
    assert all(v > 0 for v in result['transforms_ms'].values())
    assert sum(result['transforms_share'].values()) == pytest.approx(1.0)
    total_ms = sum(result['transforms_ms'].values())
    assert result['samples_per_s'] == pytest.approx(1e3 / total_ms, rel=1e-6)
    assert result['cpu_samples_per_s'] > 0


def test_loader_mode(capsys, tmp_path, mpii_root):
    result = _run(capsys, tmp_path, 'loader', MPII_TINY, '--iters', '3', '--warmup', '1',
                  '--batch-size', '2', '--num-workers', '0',
                  '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}')
    _check_common(result, 'loader', 2, 3)
    assert result['num_workers'] == 0 and result['peak_pss_mb'] > 0


def test_loader_mode_on_a_synthetic_memmap_file(capsys, tmp_path):
    result = _run(capsys, tmp_path, 'loader', VIDEO_TINY, '--synthetic-gb', '0.01',
                  '--tmp-dir', str(tmp_path), '--warmup', '0', '--num-workers', '0',
                  '--batch-size', '2')
    assert result['num_clips'] == int(0.01 * 2**30 // (8 * 224 * 224 * 3)) == 8
    assert result['file_gb'] == pytest.approx(0.01, rel=0.2)
    _check_common(result, 'loader', 2, 4)       # one epoch: 8 clips / batch 2
    assert list(tmp_path.glob('**/*.npy')) == []  # the temporary files are gone


@pytest.mark.parametrize('config, root_key', [(MPII_TINY, 'mpii'), (VIDEO_TINY, 'video')])
def test_train_step_mode_compares_runner_and_plain_loop(capsys, tmp_path, config, root_key,
                                                        request):
    root = request.getfixturevalue(f'{root_key}_root')
    result = _run(capsys, tmp_path, 'train-step', config, '--iters', '3', '--warmup', '1',
                  '--batch-size', '2',
                  '--cfg-options', f'train_dataloader.dataset.data_root={root}')
    _check_common(result, 'train-step', 2, 3)
    for side in ('hpekit', 'plain'):
        assert result[side]['samples_per_s'] > 0
    assert result['overhead'] == pytest.approx(
        result['hpekit']['step_ms']['median'] / result['plain']['step_ms']['median'])
    assert result['samples_per_s'] == result['hpekit']['samples_per_s']
    assert result['compile'] is False


def test_train_step_baseline_runs_the_plain_loop_in_a_glibc_process(capsys, tmp_path,
                                                                      mpii_root):
    result = _run(capsys, tmp_path, 'train-step', MPII_TINY, '--iters', '2', '--warmup', '1',
                  '--batch-size', '1', '--baseline-allocator', 'glibc',
                  '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}')
    baseline = result['plain_baseline']
    assert baseline['allocator'] == 'glibc'
    assert baseline['env'] == {'ld_preload': None, 'malloc_conf': None,
                               'glibc_tunables': None}
    assert baseline['samples_per_s'] > 0 and baseline['step_ms']['median'] > 0
    assert result['speedup_vs_baseline'] == pytest.approx(
        baseline['step_ms']['median'] / result['hpekit']['step_ms']['median'])
    assert result['speedup_vs_baseline_paired'] > 0


def test_inference_mode_reports_flip_test(capsys, tmp_path, mpii_root):
    result = _run(capsys, tmp_path, 'inference', MPII_TINY, '--iters', '2', '--warmup', '1',
                  '--batch-size', '2', '--channels-last',
                  '--cfg-options', f'val_dataloader.dataset.data_root={mpii_root}')
    _check_common(result, 'inference', 2, 2)
    assert result['flip_test'] is True


def test_gpu_path_options_reach_the_config():
    args = tool.parse_args(['train-step', MPII_TINY, '--amp', '--channels-last',
                            '--cudnn-benchmark'])
    cfg = tool.prepare_config(args)
    assert cfg.env_cfg['cudnn_benchmark'] is True
    assert {'type': 'ChannelsLastHook'} in [dict(h) for h in cfg.custom_hooks]
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'AutocastOptimWrapper'
    assert cfg.optim_wrapper['type'] == expected


def test_synthetic_gb_needs_loader_mode():
    with pytest.raises(SystemExit):
        tool.main(['pipeline', MPII_TINY, '--synthetic-gb', '1'])


def test_channels_last_hook_keeps_outputs():
    from hpekit.engine.hooks import ChannelsLastHook
    from hpekit.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(type='StackedHourglass', num_stacks=2, channels=16, depth=2,
                              num_joints=4, block=dict(type='PreActBottleneck'))).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        ChannelsLastHook().before_run(types.SimpleNamespace(model=model))
        after = model(x)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert not convs[1].weight.is_contiguous() or convs[1].weight.shape[-1] == 1
    for a, b in zip(before, after):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_sampler_mode_times_with_and_without_the_sampler(capsys, tmp_path, mpii_root):
    result = _run(capsys, tmp_path, 'sampler', MPII_TINY, '--iters', '2', '--warmup', '0',
                  '--batch-size', '2',
                  '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}')
    compared = result['interleaved']
    assert compared['order'] == ['off', 'sampler', 'legacy'] and compared['rounds'] == 2
    assert set(compared['ratios']) == {'sampler', 'legacy'}
    assert result['overhead'] == compared['ratios']['sampler']['wall_paired'] > 0
    assert result['peak_rss_mb'] > 10 and result['peak_pss_mb'] > 10
    # The new sampler reads smaps_rollup on entry and exit (and rarely between);
    # the legacy one at every sample.
    assert result['reads']['sampler']['smaps_rollup'] <= \
        result['reads']['sampler']['statm']
    assert result['reads']['legacy']['smaps_rollup'] == result['reads']['legacy']['statm']
    assert len(result['loadavg']) == 3 and len(result['loadavg_start']) == 3


def test_peak_memory_reads_pss_rarely():
    with PeakMemory(interval_s=0.005, pss_interval_s=60) as memory:
        time.sleep(0.2)
    assert memory.samples > 10
    assert memory.pss_samples <= 3      # entry, exit, at most one RSS growth
    assert memory.peak_pss_mb > 10


def test_inference_mode_compares_backends_and_batch_sizes(capsys, tmp_path, mpii_root):
    pytest.importorskip('onnxruntime')
    # OpenVINO (an optional extra) is one more arm where it is installed.
    backends = ['pytorch', 'onnxruntime'] + (['openvino'] if _installed('openvino') else [])
    result = _run(capsys, tmp_path, 'inference', MPII_TINY, '--iters', '1', '--warmup', '0',
                  '--batch-size', '1,2', '--backend', ','.join(backends),
                  '--cfg-options', f'val_dataloader.dataset.data_root={mpii_root}')
    arms = [f'{backend}@{size}' for backend in backends for size in (1, 2)]
    assert list(result['per_sample_ms']) == arms
    assert list(result['per_sample_ratio']) == arms[1:]
    assert result['backend'] == backends and result['flip_test'] is True
    assert all(v > 0 for v in result['per_sample_ms'].values())


def _installed(module):
    """Whether ``module`` can be imported (an optional dependency)."""
    import importlib.util
    return importlib.util.find_spec(module) is not None


def test_allocator_mode_steps_one_worker_per_allocator(capsys, tmp_path, mpii_root):
    # Two workers (each imports torch and builds the model): the smallest comparison.
    result = _run(capsys, tmp_path, 'allocator', MPII_TINY, '--iters', '1', '--warmup', '0',
                  '--batch-size', '1', '--allocators', 'glibc,glibc-tuned',
                  '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}')
    assert list(result['allocators']) == ['glibc', 'glibc-tuned']
    tuned = result['allocators']['glibc-tuned']
    assert tuned['env']['glibc_tunables'] and not tuned['env']['ld_preload']
    assert result['allocators']['glibc']['env'] == {'ld_preload': None, 'malloc_conf': None,
                                                    'glibc_tunables': None}
    for stats in result['allocators'].values():
        assert stats['wall_ms']['median'] > 0 and stats['minflt']['median'] >= 0
    assert set(result['ratios']['glibc-tuned']) == {'wall_paired', 'cpu_paired',
                                                    'sys_ms_median', 'minflt_median'}


def test_gpu_suite_runs_on_cpu_with_tiny_sizes(capsys, tmp_path):
    report = tool.main(['suite', '--device', 'cpu', '--tiny', '--out', str(tmp_path)])
    saved = json.loads((tmp_path / 'suite.json').read_text())
    assert saved['tiny'] is True and saved['machine']['device'] == 'cpu'
    results = report['results']
    sections = [(r['section'], r['model']) for r in results]
    for key in ('hg2', 'simplebaseline', 'video'):
        assert ('train', key) in sections
    assert ('loader', 'hg2') in sections and ('loader', 'video') in sections
    assert sections[-1] == ('inference', 'hg2')
    errors = [(r['model'], r['variant'], r['error']) for r in results if 'error' in r]
    assert not errors, errors
    for r in results:
        if 'compile' in r['variant']:
            assert 'skipped' in r
        elif r['section'] == 'train':
            assert r['samples_per_s'] > 0 and r['plain']['samples_per_s'] > 0
    assert any('course_epoch_s' in r for r in results)
    assert all('feeds' in r for r in results if r['section'] == 'loader')
    assert set(results[-1]['per_sample_ms']) >= {'pytorch@1', 'pytorch@16'}
    table = (tmp_path / 'suite.md').read_text()
    assert table.count('\n| train |') == sum(r['section'] == 'train' for r in results)
    assert 'tiny sizes' in table
