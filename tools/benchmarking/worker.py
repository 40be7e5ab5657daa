"""One side of ``tools/benchmark.py allocator``: a process that builds a workload and
times one step of it per line read on stdin (``python -m tools.benchmarking.worker
JSON``). Each allocator runs in its own worker (an allocator is chosen when a process
starts); the parent alternates between them step by step.

JSON keys: ``config``, ``cfg_options``, ``workload`` ('train': the plain PyTorch
training step of ``tools.benchmarking.harness.plain_step``; 'eval': ``model.val_step``
with the config's flip test), ``batch_size``, ``threads``. Prints one JSON line when
ready, then one per step: ``wall_ms``, ``cpu_ms`` (this thread), ``sys_ms`` and
``user_ms`` (process), ``minflt``/``majflt`` (process), ``rss_mb`` after the step.
"""
import json
import os
import resource
import sys
import time

import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from hpekit.apis import init_model
from hpekit.config.setup import load_config
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules
from tools.benchmarking import harness as bench


def build_step(spec):
    register_all_modules()
    torch.manual_seed(0)
    cfg = load_config(spec['config'], spec.get('cfg_options') or {})
    size = spec.get('batch_size')
    if spec['workload'] == 'train':
        size = size or cfg.train_dataloader.batch_size
        batch = pseudo_collate(bench.take_samples(
            bench.build_dataset(cfg.train_dataloader.dataset), size))
        model = MODELS.build(cfg.model).train()
        optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
        return lambda: bench.plain_step(model, optimizer, batch, 'cpu')
    if spec['workload'] == 'eval':
        size = size or 1
        model = init_model(cfg)
        batch = pseudo_collate(bench.take_samples(
            bench.build_dataset(cfg.val_dataloader.dataset), size))

        def step():
            with torch.no_grad():
                model.val_step(batch)
        return step
    raise ValueError(f"workload must be 'train' or 'eval', got {spec['workload']!r}")


def main(argv=None):
    spec = json.loads((argv or sys.argv[1:])[0])
    torch.set_num_threads(int(spec.get('threads') or 1))
    step = build_step(spec)
    page = os.sysconf('SC_PAGE_SIZE')
    print(json.dumps({'ready': True, 'pid': os.getpid(),
                      'ld_preload': os.environ.get('LD_PRELOAD'),
                      'malloc_conf': os.environ.get('MALLOC_CONF'),
                      'glibc_tunables': os.environ.get('GLIBC_TUNABLES')}), flush=True)
    for line in sys.stdin:
        if line.strip() != 'step':
            break
        r0, c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time(), \
            time.perf_counter()
        step()
        t1, c1, r1 = time.perf_counter(), time.thread_time(), \
            resource.getrusage(resource.RUSAGE_SELF)
        with open('/proc/self/statm') as f:
            rss = int(f.read().split()[1]) * page
        print(json.dumps({'wall_ms': 1e3 * (t1 - t0), 'cpu_ms': 1e3 * (c1 - c0),
                          'user_ms': 1e3 * (r1.ru_utime - r0.ru_utime),
                          'sys_ms': 1e3 * (r1.ru_stime - r0.ru_stime),
                          'minflt': r1.ru_minflt - r0.ru_minflt,
                          'majflt': r1.ru_majflt - r0.ru_majflt,
                          'rss_mb': rss / 2**20}), flush=True)


if __name__ == '__main__':
    main()
