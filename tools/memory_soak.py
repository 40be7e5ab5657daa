"""Measure memory over a long training run: does the resident set stay flat?

Runs ``tools/train.py CONFIG`` in a child process and samples, every ``--interval``
seconds, the resident set size (RSS, from ``/proc``; Linux only) of the trainer (main
process) and of all its descendants (DataLoader workers). Writes
``<work_dir>/memory_soak.json`` (every sample plus a summary) and
``<work_dir>/memory_soak.png`` (RSS over time), and prints one line per sample::

    python tools/memory_soak.py configs/h36m_video/r18-lstm_synthetic-quick.py \\
        --work-dir work_dirs/soak --cfg-options train_cfg.max_epochs=30 ...

The summary compares the median memory over the first 10 % of the run after warm-up
(``--warmup`` seconds, by default 10 % of the run) with the median over the last
10 %, both from samples with the usual number of workers; a leak shows as end ≫ start.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _proc_kb(path, key):
    """The ``key:`` value (kB) of a /proc file, as MiB; 0.0 if the process has gone."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0.0


def rss_mb(pid):
    """Resident set size of process ``pid`` in MiB (pages shared with others count fully)."""
    return _proc_kb(f'/proc/{pid}/status', 'VmRSS')


def pss_mb(pid):
    """Proportional set size of ``pid`` in MiB: shared pages split among their users,
    so the PSS of a process tree adds up to the memory it really holds."""
    return _proc_kb(f'/proc/{pid}/smaps_rollup', 'Pss')


def descendants(pid):
    """Process ids of every descendant of ``pid`` (children, grandchildren, …)."""
    parents = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.extend(children)
        todo.extend(children)
    return found


def sample(pid, start):
    """One measurement: seconds since start; RSS of main and workers and the PSS
    total of the tree (main + workers), in MiB."""
    workers = descendants(pid)
    main = rss_mb(pid)
    worker_mb = sum(rss_mb(p) for p in workers)
    pss = pss_mb(pid) + sum(pss_mb(p) for p in workers)
    return {'t_s': round(time.time() - start, 1), 'main_mb': round(main, 1),
            'workers': len(workers), 'workers_mb': round(worker_mb, 1),
            'total_mb': round(main + worker_mb, 1), 'pss_total_mb': round(pss, 1)}


def _median(samples, key):
    values = sorted(s[key] for s in samples)
    return values[len(values) // 2]


def summarise(samples, warmup_s, window=0.1):
    """Start vs end memory: medians (MiB) over the first and the last ``window`` of the
    run after warm-up, taken only from samples with the usual number of workers (so a
    validation or the end of training, with other workers, is not compared with
    training)."""
    running = [s for s in samples if s['main_mb'] > 0 and s['t_s'] >= warmup_s]
    if not running:
        raise RuntimeError('no memory sample was taken after warm-up: did training start?')
    counts = [s['workers'] for s in running]
    usual = max(set(counts), key=counts.count)
    phase = [s for s in running if s['workers'] == usual]
    n = max(1, int(len(phase) * window))
    result = {'workers': usual, 'samples_per_window': n,
              'start_t_s': phase[0]['t_s'], 'end_t_s': phase[-1]['t_s']}
    for key in ('main_mb', 'workers_mb', 'total_mb', 'pss_total_mb'):
        start, end = _median(phase[:n], key), _median(phase[-n:], key)
        result[key] = {'start': start, 'end': end, 'growth': round(end - start, 1)}
    result['max_total_mb'] = max(s['total_mb'] for s in running)
    return result


def plot(samples, out):
    """RSS (main, workers, total) over time to ``out`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t = [s['t_s'] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ('main_mb', 'workers_mb', 'total_mb', 'pss_total_mb'):
        ax.plot(t, [s[key] for s in samples], label=key.replace('_mb', ''))
    ax.set_xlabel('minutes')
    ax.set_ylabel('RSS / PSS (MiB)')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train and record RSS over time.')
    parser.add_argument('config')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--interval', type=float, default=5.0, help='seconds between samples')
    parser.add_argument('--warmup', type=float, default=None,
                        help='seconds before the "start" sample (default: 10%% of the run)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), args.config,
           '--work-dir', args.work_dir]
    if args.cfg_options:
        cmd += ['--cfg-options', *args.cfg_options]
    log_path = osp.join(args.work_dir, 'memory_soak_train.log')
    start, samples = time.time(), []
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        while proc.poll() is None:
            samples.append(sample(proc.pid, start))
            s = samples[-1]
            print(f"[{s['t_s']:7.1f} s] main {s['main_mb']:7.1f} MiB, {s['workers']} "
                  f"workers {s['workers_mb']:7.1f} MiB, total {s['total_mb']:7.1f} MiB, "
                  f"PSS total {s['pss_total_mb']:7.1f} MiB",
                  flush=True)
            time.sleep(args.interval)
    if proc.returncode != 0:
        raise SystemExit(f'training failed (exit {proc.returncode}); see {log_path}')
    warmup = args.warmup if args.warmup is not None else 0.1 * samples[-1]['t_s']
    result = {'command': cmd, 'interval_s': args.interval, 'warmup_s': warmup,
              'summary': summarise(samples, warmup), 'samples': samples}
    out = osp.join(args.work_dir, 'memory_soak.json')
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    plot(samples, osp.join(args.work_dir, 'memory_soak.png'))
    print(json.dumps(result['summary'], indent=2))
    print(f'written: {out} and memory_soak.png')


if __name__ == '__main__':
    main()
