"""tools/analysis/smoothing_eval.py on a tiny --dump file: smoothing a jittery sequence
lowers the acceleration error and keeps the MPJPE."""
import json

import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.fileio import save_predictions


def write_dump(path, seed=0):
    """Two clips of 16 frames of one sequence (frame rows 100-131) plus a clip of
    another: slow motion (metres) with 5 mm of noise in the predictions."""
    rng = np.random.default_rng(seed)
    t = np.arange(32)[:, None, None] / 50.0
    gt = 0.1 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6, (1, 17, 3)))
    pred = gt + rng.normal(0, 0.005, gt.shape)
    samples = [dict(pred_joints_3d=pred[s], gt_joints_3d=gt[s], frame_ids=100 + np.arange(32)[s],
                    seq_name='S9_Walking_1.54138969', action='Walking')
               for s in (slice(0, 16), slice(16, 32))]
    samples.append(dict(samples[0], seq_name='S9_Walking_1.55011271',
                        frame_ids=np.arange(500, 516)))
    save_predictions(str(path), samples)


def test_smoothing_lowers_jitter_and_writes_json(tmp_path, capsys):
    write_dump(tmp_path / 'preds.npz')
    tool = load_tool('analysis/smoothing_eval')
    rows = tool.main([str(tmp_path / 'preds.npz'), '--filters', 'one_euro',
                      'savgol:window=7,polyorder=2', 'gaussian', '--json',
                      str(tmp_path / 'out.json')])
    raw = rows['raw']
    for name in ('one_euro', 'savgol:window=7,polyorder=2', 'gaussian'):
        assert rows[name]['accel_error'] < 0.5 * raw['accel_error']
        assert rows[name]['mpjpe'] < raw['mpjpe'] * 1.01
    assert rows['savgol:window=7,polyorder=2']['latency_frames'] == 3
    assert '48 frames, 2 runs' in capsys.readouterr().out    # 2 sequences, 1 run each
    written = json.loads((tmp_path / 'out.json').read_text())
    assert written['results']['gaussian']['cfg']['type'] == 'GaussianFilter'


def test_bad_input_is_named(tmp_path):
    tool = load_tool('analysis/smoothing_eval')
    save_predictions(str(tmp_path / 'p2d.npz'), [dict(keypoints=np.zeros((17, 2)))])
    with pytest.raises(ValueError, match='sample 0 has no pred_joints_3d'):
        tool.main([str(tmp_path / 'p2d.npz')])
    write_dump(tmp_path / 'preds.npz')
    with pytest.raises(ValueError, match='expected key=value'):
        tool.main([str(tmp_path / 'preds.npz'), '--filters', 'savgol:window'])
