"""``tools/train.py --nproc N``: N gloo processes of one thread on this machine, started
by the tool itself (torch.distributed.run --standalone), on a tiny video config."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.engine.distributed import strip_option

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'tests' / 'configs' / 'video_tiny.py'


def test_strip_option():
    assert strip_option(['c.py', '--nproc', '2', '--seed', '1'], '--nproc') == \
        ['c.py', '--seed', '1']
    assert strip_option(['c.py', '--nproc=2'], '--nproc') == ['c.py']


def _two_process_run(tmp_path, *options):
    """(command, env, work dir) of ``tools/train.py --nproc 2`` on 8 tiny clips, no
    validation, with ``options`` added to its ``--cfg-options``."""
    data = tmp_path / 'data'
    write_h36m_split(str(data), num_train=8, num_valid=4, size=32, num_frames=4,
                     progress=False)
    work = tmp_path / 'work'
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(CONFIG), '--nproc', '2',
           '--work-dir', str(work), '--no-validate', '--cfg-options',
           f'train_dataloader.dataset.data_root={data}',
           'default_hooks.checkpoint.save_best=None', *options]
    return cmd, dict(os.environ, CUDA_VISIBLE_DEVICES=''), work


def test_two_processes_train_a_few_iterations(tmp_path):
    cmd, env, work = _two_process_run(tmp_path, 'train_dataloader.batch_size=2',
                                      'train_cfg.max_epochs=1')
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    logs = list(work.glob('*/*.log'))
    assert len(logs) == 1, logs                 # rank 0 writes the log
    log = logs[0].read_text()
    # 8 clips over 2 processes × batch 2: 2 iterations per epoch, world size 2.
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log               # mmengine's name for the world size
    assert 'Epoch(train) [1][2/2]' in log
    assert 'Epoch(train) [1][3/' not in log
    assert (work / 'epoch_1.pth').is_file()


def test_the_launcher_gives_each_process_one_thread(monkeypatch):
    from hpekit.engine import distributed
    seen = {}

    class FakePopen:
        def __init__(self, cmd, env):
            seen.update(cmd=cmd, env=env)

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(distributed.subprocess, 'Popen', FakePopen)
    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    assert distributed.launch_local('tools/train.py', ['cfg.py', '--seed', '1'], 3) == 0
    assert seen['env']['OMP_NUM_THREADS'] == '1' == seen['env']['MKL_NUM_THREADS']
    cmd = seen['cmd']
    assert cmd[1:5] == ['-m', 'torch.distributed.run', '--standalone',
                        '--nproc-per-node=3']
    assert cmd[-5:] == ['cfg.py', '--seed', '1', '--launcher', 'pytorch']


def _session_alive(sid):
    """Live (not zombie) processes of session ``sid``."""
    alive = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(') ', 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != 'Z':
            alive.append(int(stat.parent.name))
    return alive


def test_ctrl_c_stops_every_rank_with_status_130(tmp_path):
    """SIGINT to the process group (a terminal's Ctrl-C) of a running ``--nproc 2``
    run: the launcher waits for torchrun and the ranks instead of killing torchrun;
    status 130, rank 0's "interrupted by SIGINT" line, no process left behind."""
    cmd, env, work = _two_process_run(tmp_path, 'train_dataloader.batch_size=1',
                                      'train_cfg.max_epochs=1000',
                                      'default_hooks.logger.interval=1')
    log_file = tmp_path / 'out.txt'
    with open(log_file, 'w') as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 240
    try:
        while not any(re.search(r'Epoch\(train\) +\[2\]\[', p.read_text())
                      for p in work.glob('*/*.log')):
            assert proc.poll() is None and time.time() < deadline, log_file.read_text()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = log_file.read_text()
    assert code == 130, text[-4000:]
    rank0_log = next(work.glob('*/*.log')).read_text()
    assert 'interrupted by SIGINT at epoch' in rank0_log, rank0_log[-2000:]
    deadline = time.time() + 10
    while _session_alive(proc.pid) and time.time() < deadline:
        time.sleep(0.1)
    assert _session_alive(proc.pid) == [], text[-4000:]
