"""``tools/benchmark.py train-step --nproc N``: hpekit's training step in N processes.

The way hpekit trains on several CPU cores is ``tools/train.py --nproc N``: N gloo
processes of one thread each, each with the config's batch per process, DDP averaging
the gradients (``hpekit.engine.distributed.launch_local``). This module times exactly
that: N rank processes (``python -m tools.benchmarking.ddp SPEC``; RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT set as torchrun sets them) each build
mmengine's Runner from the prepared config (as ``bench_train_step`` does: iteration-
based, no validation, checkpoints or schedulers) on a fixed batch of their own, and
train. Rank 0 reports the time of every iteration to the parent and waits for a go;
every rank then meets at a barrier, so the parent can run one step of a baseline
(``StepWorker``: the plain loop in one process with torch's default threads, e.g.
under glibc: PyTorch as it comes) between two iterations while the ranks wait, idle.

The global batch (``batch_size``) is split evenly over the ranks, so both arms train on
the same number of samples per step; as in any data-parallel run, each rank's
BatchNorm normalises over its own share of the batch.
"""
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook

from hpekit.engine.distributed import finish_distributed, init_distributed, worker_env
from hpekit.utils import register_all_modules
from tools.benchmarking import ROOT
from tools.benchmarking import harness as bench
from tools.benchmarking import module_command

REPORT = '@hpekit-benchmark '   # rank 0's report lines start so (mmengine logs to stdout)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rank_env(rank, nproc, port, threads):
    """The environment torchrun would give rank ``rank`` of ``nproc``, with ``ROOT``
    first on ``PYTHONPATH`` (as ``module_env``) for ``module_command``."""
    return worker_env(threads, ROOT, RANK=rank, LOCAL_RANK=rank, WORLD_SIZE=nproc,
                      LOCAL_WORLD_SIZE=nproc, MASTER_ADDR='127.0.0.1', MASTER_PORT=port)


class _Ranks:
    """The N rank processes; rank 0 talks to us through pipes (one JSON line per
    iteration; we answer 'go')."""

    def __init__(self, spec, nproc, threads):
        port = _free_port()
        cmd = module_command('ddp', json.dumps(spec))
        self.procs = [subprocess.Popen(
            cmd, env=_rank_env(rank, nproc, port, threads), text=True, bufsize=1,
            stdin=subprocess.PIPE if rank == 0 else subprocess.DEVNULL,
            stdout=subprocess.PIPE if rank == 0 else subprocess.DEVNULL)
            for rank in range(nproc)]

    def next_report(self):
        """Rank 0's next report (its other output goes on to our stderr);
        RuntimeError naming the ranks' exit codes if it ends first."""
        for line in iter(self.procs[0].stdout.readline, ''):
            if line.startswith(REPORT):
                return json.loads(line[len(REPORT):])
            sys.stderr.write(line)
        codes = [p.wait(timeout=120) for p in self.procs]
        raise RuntimeError(f'train-step --nproc: the rank processes exited with {codes} '
                           'before the end; see their messages above')

    def go(self):
        self.procs[0].stdin.write('go\n')
        self.procs[0].stdin.flush()

    def close(self):
        for proc in self.procs:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        bad = [p.returncode for p in self.procs if p.returncode]
        if bad:
            raise RuntimeError(f'train-step --nproc: rank processes exited with {bad}')


def bench_train_step_nproc(cfg, nproc, iters=20, warmup=3, batch_size=None,
                           baseline_allocator=None, config_path=None, cfg_options=None,
                           threads_per_proc=1):
    """Time hpekit's Runner training in ``nproc`` gloo processes (see the module doc).

    Args:
        cfg (Config): the prepared config (``tools/benchmark.py``'s ``prepare_config``).
        nproc (int): rank processes (>= 2), ``threads_per_proc`` torch threads each.
        iters, warmup (int): timed and untimed iterations.
        batch_size (int): the global batch (default: the config's batch × nproc);
            it must divide evenly over the ranks.
        baseline_allocator (str, optional): also step the plain loop with the global
            batch in one process under this allocator after every iteration.
        config_path, cfg_options: the config file and overrides (for the baseline).

    Returns:
        dict: ``nproc``, ``threads_per_proc``, ``per_process_batch``, ``batch_size``
        (global), ``hpekit`` (``samples_per_s`` = global batch / median iteration
        time, ``step_ms``), ``params_equal_across_ranks`` and ``params_changed`` (a
        check that DDP trained one model), ``peak_rss_mb`` (largest rank); with a
        baseline: ``plain_baseline``, ``speedup_vs_baseline`` (baseline median step /
        hpekit's) and ``speedup_vs_baseline_paired``.
    """
    if nproc < 2:
        raise ValueError(f'train-step --nproc: needs 2 or more processes, got {nproc}')
    batch_size = batch_size or cfg.train_dataloader.batch_size * nproc
    if batch_size % nproc:
        raise ValueError(f'train-step --nproc {nproc}: --batch-size {batch_size} (the '
                         'global batch) must divide evenly over the processes')
    if baseline_allocator and not config_path:
        raise ValueError('train-step: a baseline allocator needs the config file')
    worker = None
    with tempfile.TemporaryDirectory() as tmp:
        cfg_file = os.path.join(tmp, 'benchmark_config.py')
        cfg.dump(cfg_file)
        spec = dict(config=cfg_file, per_process_batch=batch_size // nproc,
                    iters=iters, warmup=warmup, work_dir=os.path.join(tmp, 'work'))
        if baseline_allocator:
            worker = bench.StepWorker(baseline_allocator, dict(
                config=config_path, cfg_options=dict(cfg_options or {}),
                workload='train', batch_size=batch_size), threads=torch.get_num_threads())
        ranks = _Ranks(spec, nproc, threads_per_proc)
        try:
            times, external = _pace(ranks, worker, iters, warmup)
            final = ranks.next_report()
        finally:
            if worker is not None:
                worker.close()
            ranks.close()
    out = bench._base('train-step', cfg, 'cpu', batch_size, iters, warmup)
    out.update(nproc=nproc, threads_per_proc=threads_per_proc,
               per_process_batch=batch_size // nproc, batch_size=batch_size,
               hpekit=bench.summarize(times, batch_size),
               params_equal_across_ranks=final['params_equal_across_ranks'],
               params_changed=final['params_changed'], peak_rss_mb=final['peak_rss_mb'],
               allocator=final['allocator'], peak_pss_mb=None, peak_gpu_mb=None)
    out.update(samples_per_s=out['hpekit']['samples_per_s'], step_ms=out['hpekit']['step_ms'])
    if worker is not None:
        out['plain_baseline'] = dict(bench.summarize(external, batch_size),
                                     allocator=baseline_allocator, env=worker.env)
        out['speedup_vs_baseline'] = (out['plain_baseline']['step_ms']['median'] /
                                      out['hpekit']['step_ms']['median'])
        out['speedup_vs_baseline_paired'] = float(np.median(np.divide(external, times)))
    return out


def _pace(ranks, worker, iters, warmup):
    """Collect rank 0's iteration times, stepping ``worker`` (if any) after each; the
    first ``warmup`` of both are not recorded. Returns (times, worker times) in s."""
    times, external = [], []
    for i in range(warmup + iters):
        report = ranks.next_report()
        record = i >= warmup
        if record:
            times.append(report['step_s'])
        if worker is not None:
            wall = worker.step()['wall_ms'] / 1e3
            if record:
                external.append(wall)
        ranks.go()
    return times, external


# ------------------------------------------------------------------ a rank process


def _report(**fields):
    print(REPORT + json.dumps(fields), flush=True)


def _pacer_hook(rank):
    """A Runner hook (last of all): rank 0 prints each iteration's time — from the end
    of the previous barrier to now — and waits for the parent's go; all ranks then
    meet at a barrier and start the next iteration together."""
    class Pacer(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            dist.barrier()
            self.mark = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if rank == 0:
                _report(step_s=time.perf_counter() - self.mark)
                if sys.stdin.readline().strip() != 'go':
                    raise RuntimeError('benchmark rank 0: the parent went away')
            dist.barrier()
            self.mark = time.perf_counter()

    return Pacer()


def _param_vector(model):
    module = getattr(model, 'module', model)
    return torch.cat([p.detach().reshape(-1).float() for p in module.parameters()])


def _params_equal_everywhere(vector):
    """Whether every rank holds exactly rank 0's parameters."""
    reference = vector.clone()
    dist.broadcast(reference, 0)
    same = torch.tensor([float(torch.equal(reference, vector))])
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same.item() == 1.0)


def rank_main(spec):
    """One rank: join the gloo group, train ``warmup + iters`` iterations of the
    config's Runner on this rank's fixed batch, report on rank 0 (see the module doc)."""
    register_all_modules()
    rank, nproc = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    cfg = Config.fromfile(spec['config'])
    cfg.launcher = 'pytorch'
    init_distributed('pytorch', cfg.get('env_cfg', {}).get('dist_cfg'))
    per = spec['per_process_batch']
    samples = bench.take_samples(bench.build_dataset(cfg.train_dataloader.dataset),
                                 per * nproc)[rank * per:(rank + 1) * per]
    run_cfg = bench.runner_config(cfg, spec['work_dir'], spec['warmup'] + spec['iters'])
    run_cfg.launcher = 'pytorch'
    runner = bench._build_runner(run_cfg, bench.fixed_batch_loader(samples))
    runner.register_hook(_pacer_hook(rank))
    before = _param_vector(runner.model).clone()
    runner.train()
    after = _param_vector(runner.model)
    equal = _params_equal_everywhere(after)
    rss = torch.tensor([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0])
    dist.all_reduce(rss, op=dist.ReduceOp.MAX)
    if rank == 0:
        _report(params_equal_across_ranks=equal,
                params_changed=not torch.equal(before, after),
                peak_rss_mb=float(rss.item()), allocator=bench.current_allocator())
    finish_distributed(runner)


if __name__ == '__main__':
    rank_main(json.loads(sys.argv[1]))
