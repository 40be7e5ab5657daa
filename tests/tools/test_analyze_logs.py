"""tools/analyze_logs.py: curves of several runs in one PNG, plus last/min/max values."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from tool_loader import load_tool

ROOT = Path(__file__).resolve().parents[2]
analyze_logs = load_tool('analyze_logs')


def write_run(work_dir, timestamp, losses, mpjpes):
    """mmengine-style scalars.json: training lines by iteration, validation by epoch."""
    folder = Path(work_dir) / timestamp / 'vis_data'
    folder.mkdir(parents=True)
    lines = []
    for epoch, mpjpe in enumerate(mpjpes, start=1):
        for i, loss in enumerate(losses[epoch - 1]):
            step = (epoch - 1) * len(losses[0]) + i + 1
            lines.append(dict(lr=1e-3, loss=loss, loss_joints=loss, time=0.1,
                              data_time=0.01, epoch=epoch, iter=step, step=step))
        lines.append(dict(mpjpe=mpjpe, mpjpe_pelvis=1.0, time=0.2, data_time=0.02,
                          step=epoch))
    path = folder / 'scalars.json'
    path.write_text('\n'.join(json.dumps(line) for line in lines) + '\n')
    return path


@pytest.fixture
def runs(tmp_path):
    a = tmp_path / 'run_a'
    write_run(a, '20260101_000000', [[9.0, 8.0]], [500.0])           # an older session
    newest = write_run(a, '20260102_000000', [[3.0, 2.0], [1.5, 1.0]], [300.0, 200.0])
    (a / '20260103_000000' / 'vis_data').mkdir(parents=True)         # logged nothing
    b = tmp_path / 'run_b'
    other = write_run(b, '20260105_000000', [[4.0, 3.5], [3.0, 2.5]], [400.0, 350.0])
    return dict(a=a, b=b, newest_a=newest, b_file=other)


def test_a_work_dir_means_its_latest_logged_session(runs):
    assert analyze_logs.find_scalars(str(runs['a'])) == str(runs['newest_a'])
    assert analyze_logs.find_scalars(str(runs['b_file'])) == str(runs['b_file'])
    timestamp_dir = runs['newest_a'].parent.parent
    assert analyze_logs.find_scalars(str(timestamp_dir)) == str(runs['newest_a'])


def test_two_runs_in_one_plot_with_values(tmp_path, runs):
    out = tmp_path / 'plots' / 'curves.png'
    summary_file = tmp_path / 'summary.json'
    summary = analyze_logs.main([str(runs['a']), str(runs['b_file']), '--out', str(out),
                                 '--labels', 'lstm', 'gru', '--summary',
                                 str(summary_file)])
    assert set(summary) == {'lstm', 'gru'}
    assert summary['lstm']['loss'] == dict(last=1.0, min=1.0, max=3.0, last_step=4.0)
    assert summary['lstm']['mpjpe'] == dict(last=200.0, min=200.0, max=300.0,
                                            last_step=2.0)
    assert summary['gru']['mpjpe']['last'] == 350.0
    assert 'mpjpe_pelvis' not in summary['lstm'] and 'lr' not in summary['lstm']
    assert json.loads(summary_file.read_text()) == summary
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[1] > picture.shape[0]  # loss | mpjpe


def test_chosen_keys_and_the_command_line(tmp_path, runs):
    out = tmp_path / 'lr.png'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'analyze_logs.py'),
                           str(runs['a']), str(runs['b']), '--out', str(out), '--keys',
                           'lr', 'loss_joints'], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'loss_joints  last 1' in proc.stdout and 'loss_joints  last 2.5' in proc.stdout
    assert cv2.imread(str(out)) is not None


def test_errors_name_the_problem(tmp_path, runs):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        analyze_logs.main([str(tmp_path / 'nowhere'), '--out', str(tmp_path / 'x.png')])
    with pytest.raises(ValueError, match='available keys'):
        analyze_logs.main([str(runs['a']), '--out', str(tmp_path / 'x.png'), '--keys',
                           'pckh'])
    with pytest.raises(SystemExit):
        analyze_logs.main([str(runs['a']), '--out', str(tmp_path / 'x.png'), '--labels',
                           'one', 'two'])


def test_mmpose_plot_curve_and_cal_train_time(runs, tmp_path, capsys):
    a, b = str(tmp_path / 'run_a'), str(tmp_path / 'run_b')
    png = tmp_path / 'mm.png'
    summary = analyze_logs.main(['plot_curve', a, b, '--keys', 'loss', '--legend', 'A', 'B',
                                 '--out', str(png)])
    assert set(summary) == {'A', 'B'} and summary['A']['loss']['last'] == 1.0
    assert cv2.imread(str(png)) is not None
    timing = analyze_logs.main(['cal_train_time', a])
    (values,) = timing.values()
    assert values['mean_iter_s'] == pytest.approx(0.1) and values['std_iter_s'] == 0
    assert 'average iter time: 0.1000 s/iter' in capsys.readouterr().out
