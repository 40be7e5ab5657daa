"""tools/benchmark.py train-step --nproc N: hpekit's Runner in N real gloo processes,
paced step by step against the plain loop in a separate baseline process
(tools/benchmarking/ddp.py). No timing thresholds: the figures are checked for
consistency, the ranks for having trained one model together."""
import json

import pytest
from tool_loader import load_tool

tool = load_tool('benchmark')
MPII_TINY = 'tests/configs/mpii_tiny.py'


def test_two_processes_train_one_model_paced_against_the_baseline(capsys, tmp_path,
                                                                  mpii_root):
    out = tmp_path / 'result.json'
    result = tool.main(['train-step', MPII_TINY, '--nproc', '2', '--batch-size', '2',
                        '--iters', '3', '--warmup', '1', '--baseline-allocator', 'glibc',
                        '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}',
                        '--json', str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    printed = capsys.readouterr().out                 # the table; the JSON is in the file
    assert '\ntrain-step  ' in '\n' + printed and '  nproc 2  ' in printed
    assert '\n  hpekit ' in printed and '\n  plain_baseline (glibc) ' in printed
    assert (result['nproc'], result['threads_per_proc'], result['per_process_batch'],
            result['batch_size'], result['iters']) == (2, 1, 1, 2, 3)
    # Each rank trained on its own sample: only DDP's averaged gradients keep them equal.
    assert result['params_changed'] is True
    assert result['params_equal_across_ranks'] is True
    steps = result['hpekit']['step_ms']
    assert 0 < steps['min'] <= steps['median'] <= steps['max']
    assert result['samples_per_s'] == pytest.approx(2 / (steps['median'] / 1e3))
    baseline = result['plain_baseline']
    assert baseline['allocator'] == 'glibc' and baseline['env']['ld_preload'] is None
    assert result['speedup_vs_baseline'] == pytest.approx(
        baseline['step_ms']['median'] / steps['median'])
    assert result['speedup_vs_baseline_paired'] > 0
    assert result['peak_rss_mb'] > 10 and result['peak_gpu_mb'] is None


def test_global_batch_must_split_evenly(mpii_root):
    with pytest.raises(ValueError, match='--batch-size 3 .* must divide evenly'):
        tool.main(['train-step', MPII_TINY, '--nproc', '2', '--batch-size', '3',
                   '--cfg-options', f'train_dataloader.dataset.data_root={mpii_root}'])
