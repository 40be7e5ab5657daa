"""Human3.6M in MMPose's layout end to end: the synthetic twin's CLI writes the data,
tools/train.py trains a tiny model on 4-frame clips, tools/test.py prints the
per-action table and writes it to test_metrics.json."""
import json
import os
import subprocess
import sys
from pathlib import Path

from tool_loader import load_tool

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'h36m_full_tiny.py'


def run_tool(tool, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / f'{tool}.py'), *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f'{tool} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


def test_train_and_test_report_per_action_tables(tmp_path):
    data = tmp_path / 'data'
    load_tool('make_synthetic_data').main([
        'h36m-full', '--out', str(data), '--subjects', 'S1', 'S9', '--actions', 'Walking',
        'Eating', '--subactions', '1', '--cameras', '2', '--frames', '8', '--size', '64',
        '--no-progress'])
    assert (data / 'images' / 'S9' / 'S9_Eating.55011271' /
            'S9_Eating.55011271_000008.jpg').is_file()
    options = ['--cfg-options'] + [f'{loader}.dataset.data_root={data}' for loader in
                                   ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'work'
    run_tool('train', CONFIG, '--work-dir', work, *options, 'train_cfg.val_interval=2')
    out = run_tool('test', CONFIG, work / 'epoch_1.pth', '--work-dir', work, *options)
    assert 'Human3.6M per action, protocol 1 (MPJPE) and 2 (PA-MPJPE), mm, 32 frames' in out
    table = out[out.index('Human3.6M per action'):]
    assert 'Eating' in table and 'Walking' in table and 'Avg (actions)' in table
    metrics = json.loads((work / 'test_metrics.json').read_text())['metrics']
    for key in ('mpjpe', 'pa_mpjpe', 'n_mpjpe', 'MPJPE/Eating', 'PA-MPJPE/Walking',
                'MPJPE/Avg', 'PA-MPJPE/Avg'):
        assert key in metrics, key
    assert metrics['MPJPE/Avg'] == \
        (metrics['MPJPE/Eating'] + metrics['MPJPE/Walking']) / 2
