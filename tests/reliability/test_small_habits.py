"""Small habits (docs/reliability.md, issue 25): the tools behave well in the corners
people hit every day — ``--show`` on a machine without a display, two runs started in
the same second."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from hpekit.config.cli_options import (NoDisplayError, check_show_display, display_available,
                                       enable_show)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs' / 'h36m_video' / 'r18-lstm_synthetic-quick.py')


def _no_display_env():
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    return env


def test_display_detection():
    assert not display_available({}, 'linux')
    assert display_available({'DISPLAY': ':0'}, 'linux')
    assert display_available({'WAYLAND_DISPLAY': 'wayland-0'}, 'linux')
    assert display_available({}, 'darwin') and display_available({}, 'win32')
    with pytest.raises(NoDisplayError, match='--show-dir DIR'):
        check_show_display({'DISPLAY': ''}, 'linux')


def test_enable_show_without_display_refuses(monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    monkeypatch.setattr(sys, 'platform', 'linux')
    cfg = Config(dict(custom_hooks=[]))
    with pytest.raises(NoDisplayError, match='no display'):
        enable_show(cfg)
    assert cfg.custom_hooks == []   # nothing changed


def test_test_show_without_display_exits_at_once(tmp_path):
    """``tools/test.py --show`` without $DISPLAY: status 2 before any work (the
    checkpoint does not even exist), naming the cause and ``--show-dir``; no hang."""
    missing = tmp_path / 'no_such.pth'
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'test.py'), CONFIG, str(missing), '--show',
         '--work-dir', str(tmp_path / 'wd')],
        env=_no_display_env(), cwd=str(tmp_path), capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert 'no display is available' in result.stderr
    assert '--show-dir DIR' in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'wd').exists()   # nothing ran


def _runner(work_dir):
    from hpekit.engine.runner import HpekitRunner
    from hpekit.utils import register_all_modules
    register_all_modules()
    import torch.nn as nn
    return HpekitRunner(model=nn.Linear(1, 1), work_dir=str(work_dir),
                        default_scope='hpekit')


def test_two_runs_in_the_same_second_get_their_own_log_dirs(tmp_path, monkeypatch):
    """mmengine names the log dir after the second the run started; two runs in one
    second (a sweep, a retried job) used to share it and append to one log file."""
    import time
    monkeypatch.setattr(time, 'time', lambda: 1_700_000_000.25)   # the same second
    first, second = _runner(tmp_path), _runner(tmp_path)
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime(1_700_000_000.25))
    assert first.timestamp == stamp and second.timestamp == f'{stamp}_1'
    assert first.log_dir != second.log_dir
    assert second.log_dir == str(tmp_path / f'{stamp}_1')
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [stamp, f'{stamp}_1']


def test_claim_log_dir_counts_up(tmp_path):
    from hpekit.engine.runner import claim_log_dir
    assert [claim_log_dir(str(tmp_path), 'T') for _ in range(3)] == ['T', 'T_1', 'T_2']


def test_test_show_with_a_display_asks_the_hook_for_windows(monkeypatch):
    """With a display, ``--show`` makes PoseVisualizationHook draw in a window."""
    from hpekit.engine.hooks import PoseVisualizationHook
    monkeypatch.setenv('DISPLAY', ':0')
    monkeypatch.setattr(sys, 'platform', 'linux')
    cfg = enable_show(Config(dict(custom_hooks=[])), wait_time=0.5, interval=2)
    hook = dict(cfg.custom_hooks[0])
    assert hook == dict(type='PoseVisualizationHook', show=True, wait_time=0.5, interval=2)
    built = PoseVisualizationHook(**{k: v for k, v in hook.items() if k != 'type'})
    assert built.show and built.wait_time == 0.5 and built.show_dir is None
