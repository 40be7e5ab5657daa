"""tools/benchmark.py's roofline (tools/benchmarking/roofline.py) and bfloat16 arms:
the calibration measures positive peaks and grows its sizes as it says, every arm gets
achieved GFLOP/s and the fraction of its dtype's peak (JSON and table agree), and
--precision makes interleaved arms. Small shapes; no timing assertions."""
import functools
import json
import re
import time

import pytest
import torch
from tool_loader import load_tool

from tools.benchmarking import roofline

tool = load_tool('benchmark')
MPII_TINY = 'tests/configs/mpii_tiny.py'
SMALL = dict(matmul_size=64, conv_size=8, channels=8, min_time_s=0.005)


@pytest.fixture
def small_calibration(monkeypatch):
    """The tool's calibration at small shapes (seconds → milliseconds)."""
    monkeypatch.setattr(roofline, 'calibrate', functools.partial(roofline.calibrate, **SMALL))


def test_calibration_measures_every_kernel_dtype_and_thread_count():
    before = torch.get_num_threads()
    peaks = roofline.calibrate('cpu', **SMALL)
    assert torch.get_num_threads() == before
    counts = sorted({1, before})
    kernels = ('matmul', 'conv3x3', 'conv3x3_channels_last')
    got = {(m['kernel'], m['dtype'], m['threads']) for m in peaks['measurements']}
    assert got == {(k, d, t) for k in kernels for d in ('float32', 'bfloat16')
                   for t in counts}
    for m in peaks['measurements']:
        assert m['seconds'] > 0 and m['macs'] > 0
        assert m['gflops'] == pytest.approx(m['macs'] / m['seconds'] / 1e9)
    for dtype, peak in peaks['peak_gflops'].items():
        for key, count in (('one_thread', 1), ('all_threads', counts[-1])):
            assert peak[key] == max(m['gflops'] for m in peaks['measurements']
                                    if m['dtype'] == dtype and m['threads'] == count) > 0
    assert roofline.calibrate('cpu', **SMALL) is peaks          # cached per process
    assert peaks['threads'] == before and 'multiply-accumulate' in peaks['convention']


def test_sizes_grow_while_the_next_call_stays_short():
    calls = []

    def make(size):   # a call that takes size × 20 ms
        return (lambda: (calls.append(size), time.sleep(0.02 * size))), size * 100, str(size)

    cpu = torch.device('cpu')
    # 20 ms × 2 = 40 ms and 40 ms × 2 = 80 ms ≤ 200 ms: grows to the last size
    record = roofline.measure_kernel(make, [1, 2, 4], 1, cpu, max_call_s=0.2, min_time_s=0)
    assert record['shape'] == '4' and record['macs'] == 400
    assert record['gflops'] == pytest.approx(400 / record['seconds'] / 1e9)
    assert record['seconds'] >= 0.08
    calls.clear()
    # 40 ms ≤ 60 ms: grows to 2; 40 ms × 2 = 80 ms > 60 ms: stops there, 4 never runs
    record = roofline.measure_kernel(make, [1, 2, 4], 1, cpu, max_call_s=0.06, min_time_s=0)
    assert record['shape'] == '2' and max(calls) == 2


def _result(mode, **extra):
    return dict(mode=mode, device='cpu', **extra)


PEAKS = {'device': 'cpu', 'threads': 2, 'convention': roofline.CONVENTION,
         'measurements': [], 'seconds': 0.1,
         'peak_gflops': {'float32': {'one_thread': 10.0, 'all_threads': 16.0},
                         'bfloat16': {'one_thread': 2.0, 'all_threads': 3.0}}}


def test_annotate_inference_arms_against_their_dtypes_peak():
    arms = {'pytorch/float32@2': {'samples_per_step': 2, 'wall_ms': {'median': 100.0}},
            'pytorch/bfloat16@2': {'samples_per_step': 2, 'wall_ms': {'median': 400.0}}}
    result = _result('inference', flip_test=True, interleaved={'arms': arms},
                     arm_precision={'pytorch/float32@2': 'float32',
                                    'pytorch/bfloat16@2': 'bfloat16'})
    roofline.annotate(result, PEAKS, flops=10**9)
    roof = result['roofline']
    assert roof['passes_per_sample'] == 2 and roof['flops_per_sample'] == 2 * 10**9
    fp32, bf16 = roof['arms']['pytorch/float32@2'], roof['arms']['pytorch/bfloat16@2']
    assert fp32['gflops'] == pytest.approx(2e9 * 20 / 1e9)    # 20 samples/s
    assert fp32['peak_fraction'] == pytest.approx(40 / 16.0)
    assert bf16['gflops'] == pytest.approx(2e9 * 5 / 1e9)
    assert bf16['peak_fraction'] == pytest.approx(10 / 3.0)
    assert (fp32['peak_basis'], bf16['dtype']) == ('2-thread', 'bfloat16')


def test_annotate_train_steps_count_three_forwards_and_nproc_threads():
    result = _result('train-step', hpekit={'samples_per_s': 4.0}, plain={'samples_per_s': 5.0},
                     plain_baseline={'samples_per_s': 2.0})
    roofline.annotate(result, PEAKS, flops=10**8, train_precision='bfloat16')
    arms = result['roofline']['arms']
    assert result['roofline']['passes_per_sample'] == 3
    assert arms['hpekit']['gflops'] == pytest.approx(3e8 * 4 / 1e9)
    assert arms['hpekit']['peak_fraction'] == pytest.approx(1.2 / 3.0)
    assert arms['plain']['dtype'] == 'bfloat16'
    assert arms['plain_baseline']['dtype'] == 'float32'      # its worker runs no autocast
    assert arms['plain_baseline']['peak_fraction'] == pytest.approx(0.6 / 16.0)
    ddp = _result('train-step', nproc=3, threads_per_proc=1, hpekit={'samples_per_s': 4.0})
    arm = roofline.annotate(ddp, PEAKS, flops=10**8)['roofline']['arms']['hpekit']
    assert (arm['peak_gflops'], arm['peak_basis']) == (30.0, '3 × 1-thread')
    with pytest.raises(ValueError, match='no float16 peak'):
        roofline.peak_for(PEAKS, 'float16', None)


def test_train_dtype_follows_the_optim_wrapper():
    assert roofline.train_dtype({'optim_wrapper': {'type': 'OptimWrapper'}}) == 'float32'
    assert roofline.train_dtype({'optim_wrapper': {'type': 'AutocastOptimWrapper'}}) == \
        'bfloat16'
    assert roofline.train_dtype({'optim_wrapper': {'type': 'AmpOptimWrapper'}}) == 'float16'


def _table_cells(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith('arm  '))
    headers = re.split(r'\s{2,}', lines[start].strip())
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = re.split(r'\s{2,}', line.strip())
        rows[cells[0]] = dict(zip(headers, cells))
    return rows


def test_inference_precision_arms_get_roofline_columns(capsys, tmp_path, mpii_root,
                                                       small_calibration):
    out = tmp_path / 'r.json'
    result = tool.main(['inference', MPII_TINY, '--iters', '1', '--warmup', '0',
                        '--batch-size', '1', '--precision', 'float32,bfloat16',
                        '--cfg-options', f'val_dataloader.dataset.data_root={mpii_root}',
                        '--json', str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    arms = ['pytorch/float32@1', 'pytorch/bfloat16@1']
    assert list(saved['per_sample_ms']) == arms and list(saved['per_sample_ratio']) == arms[1:]
    assert saved['arm_precision'] == dict(zip(arms, ('float32', 'bfloat16')))
    roof = saved['roofline']
    assert roof['forward_flops'] > 0 and roof['passes_per_sample'] == 2   # flip test
    rows = _table_cells(capsys.readouterr().out)
    for name in arms:
        arm = roof['arms'][name]
        assert arm['gflops'] > 0 and arm['peak_gflops'] > 0
        assert arm['peak_gflops'] == roof['peaks']['peak_gflops'][arm['dtype']]['all_threads']
        assert arm['peak_fraction'] == pytest.approx(arm['gflops'] / arm['peak_gflops'])
        assert rows[name]['GFLOP/s'] == f"{arm['gflops']:.2f}"
        assert rows[name]['% peak'] == f"{100 * arm['peak_fraction']:.1f}"


def test_no_roofline_and_roofline_only(capsys, tmp_path, mpii_root, small_calibration):
    result = tool.main(['inference', MPII_TINY, '--iters', '1', '--warmup', '0',
                        '--batch-size', '1', '--no-roofline',
                        '--cfg-options', f'val_dataloader.dataset.data_root={mpii_root}'])
    assert 'roofline' not in result and result['precision'] == 'float32'
    assert 'GFLOP/s' not in capsys.readouterr().out
    out = tmp_path / 'peaks.json'
    peaks = tool.main(['--roofline-only', '--device', 'cpu', '--json', str(out)])
    printed = capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads(json.dumps(peaks))
    assert printed.startswith('roofline  device cpu')
    for m in peaks['measurements']:
        assert f"{m['gflops']:.2f}" in printed
    assert 'peak GFLOP/s: float32 ' in printed and '; bfloat16 ' in printed


@pytest.mark.parametrize('argv, message', [
    (['inference', MPII_TINY, '--precision', 'float16'], None),
    (['train-step', MPII_TINY, '--precision', 'bfloat16'], 'inference option'),
    ([], 'a mode is required'),
])
def test_bad_precision_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        tool.main(argv)
    if message:
        assert message in str(err.value)
    else:
        assert 'precisions are float32, bfloat16' in capsys.readouterr().err
