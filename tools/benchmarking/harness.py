"""Throughput measurements behind ``tools/benchmark.py``: timing, memory, every mode.

Every mode returns a JSON-ready dict with at least ``mode``, ``config``, ``device``,
``batch_size``, ``iters``, ``warmup``, ``samples_per_s``, ``step_ms`` (``median``,
``p10``, ``p90``, ``min``, ``max`` of the timed steps, milliseconds), ``peak_rss_mb``
(peak resident memory of this process and its children, MiB) and ``peak_gpu_mb``
(``torch.cuda.max_memory_allocated``, MiB; None on CPU) and ``loadavg`` (the machine's
1/5/15-minute load averages when the measurement ended). Mode-specific fields are
described by each ``bench_*`` function.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import cv2
import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.device import get_device
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

from hpekit.apis import init_model
from hpekit.apis.model import check_precision
from hpekit.apis.onnxruntime_backend import onnxruntime_model
from hpekit.apis.openvino_backend import openvino_model
from hpekit.registry import DATASETS, MODELS, TRANSFORMS
from hpekit.runtime.allocator import APPLIED, allocator_env, allocator_names, available
from tools.benchmarking import module_command, module_env

# ------------------------------------------------------------------- measurements


def summarize(step_times, samples_per_step):
    """Step times in seconds → ``{'samples_per_s', 'step_ms': {median, p10, p90, min,
    max}}``; samples/s = samples_per_step / median step time."""
    ms = np.asarray(step_times, np.float64) * 1e3
    if ms.size == 0:
        raise ValueError('summarize: no timed steps (iters must be >= 1)')
    median = float(np.median(ms))
    return {'samples_per_s': samples_per_step * 1e3 / median,
            'step_ms': {'median': median, 'p10': float(np.percentile(ms, 10)),
                        'p90': float(np.percentile(ms, 90)), 'min': float(ms.min()),
                        'max': float(ms.max())}}


class _PauseSwitch:
    """``set()`` pauses the sampler process, ``clear()`` resumes it (one byte each on
    its stdin); ``is_set()`` as a ``threading.Event``."""

    def __init__(self):
        self._set, self._pipe = False, None

    def _send(self, byte):
        if self._pipe is not None:
            try:
                self._pipe.write(byte)
                self._pipe.flush()
            except (OSError, ValueError):
                pass

    def set(self):
        self._set = True
        self._send(b'p')

    def clear(self):
        self._set = False
        self._send(b'r')

    def is_set(self):
        return self._set


class PeakMemory:
    """Sample the memory of this process plus its children (DataLoader workers) from a
    separate process (``tools.benchmarking.memory_sampler``), so that nothing in the
    timed process is disturbed.

    Use as a context manager. ``peak_mb``: the largest sampled sum of RSS (MiB; without
    /proc: this process's lifetime peak ``ru_maxrss``): pages shared by the processes
    (forked workers, a memory-mapped file) count once per process, as the kernel
    reports RSS. ``peak_pss_mb`` sums the proportional set sizes instead (shared pages
    split between their users): the memory the process tree really occupies.

    Two rates, because the two reads cost very different amounts: RSS comes from
    ``/proc/PID/statm`` (a few counters) every ``interval_s``; PSS needs
    ``/proc/PID/smaps_rollup``, a walk of every page table of the process, holding the
    process's memory-map lock (an allocation that maps or unmaps memory in the timed
    thread waits for it). PSS is therefore read on entry, on exit, whenever the RSS
    sum exceeds by more than 2 % the largest RSS sum seen at a PSS read (at most once
    per ``pss_min_gap_s``: a new peak is followed while memory grows; an RSS that
    falls and rises again each step, as glibc's malloc makes it, does not trigger) and
    otherwise every ``pss_interval_s``. ``pss_interval_s=0`` reads PSS at every sample
    (the old behaviour; ``tools/benchmark.py sampler`` compares them). The costs of
    both, and of a sampling thread inside the process instead of a separate one, are
    measured in docs/benchmarks.md ("The memory sampler does not disturb the timing").

    ``paused``: ``set()`` stops the sampling, ``clear()`` resumes it; the
    sampler-overhead benchmark uses it to time steps with and without sampling in one
    process. ``samples`` / ``pss_samples`` count the reads.
    """

    def __init__(self, interval_s=0.05, pss_interval_s=5.0, pss_min_gap_s=1.0):
        self.interval_s, self.peak, self.peak_pss = interval_s, 0, 0
        self.pss_interval_s, self.pss_min_gap_s = pss_interval_s, pss_min_gap_s
        self.samples = self.pss_samples = 0
        self.paused = _PauseSwitch()
        self._proc = None

    def __enter__(self):
        if not os.path.isdir('/proc/self'):
            return self
        self._proc = subprocess.Popen(
            module_command('memory_sampler', os.getpid(), self.interval_s,
                           self.pss_interval_s, self.pss_min_gap_s),
            env=module_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.paused._pipe = self._proc.stdin
        if self.paused.is_set():
            self.paused.set()
        if self._proc.stdout.readline().strip() != b'ready':
            raise RuntimeError('the memory sampler process did not start')
        return self

    def __exit__(self, *exc):
        if self._proc is None:   # no /proc: the process's lifetime peak (KiB on Linux)
            self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            return
        try:
            self._proc.stdin.write(b'q')
            self._proc.stdin.close()
        except (OSError, ValueError):
            pass
        line = self._proc.stdout.readline()
        self._proc.wait(timeout=60)
        self.paused._pipe = None
        result = json.loads(line)
        self.peak, self.peak_pss = result['peak'], result['peak_pss']
        self.samples, self.pss_samples = result['samples'], result['pss_samples']

    @property
    def peak_mb(self):
        return self.peak / 2**20

    @property
    def peak_pss_mb(self):
        return self.peak_pss / 2**20


def load_average():
    """``os.getloadavg()`` rounded (1, 5, 15 min), or None where unavailable: recorded
    beside every figure, because on a shared machine a figure means little without it."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _thread_minflt():
    """Minor page faults of the calling thread so far (RUSAGE_THREAD where available)."""
    who = getattr(resource, 'RUSAGE_THREAD', resource.RUSAGE_SELF)
    return resource.getrusage(who).ru_minflt


def _stats(values):
    values = np.asarray(values, np.float64)
    return {'median': float(np.median(values)), 'p10': float(np.percentile(values, 10)),
            'p90': float(np.percentile(values, 90)), 'min': float(values.min()),
            'max': float(values.max())}


def interleaved(arms, rounds, warmup=1, device='cpu', samples=None):
    """Time several ways of doing one step against each other in one process, step by
    step: round r runs every arm once, in an order rotated by r, so a change of the
    machine's load hits all arms alike (the only fair comparison on a shared machine).

    Args:
        arms (dict): name → callable running one step (the first arm is the reference).
        rounds (int): timed rounds; ``warmup`` untimed rounds come first.
        samples (dict, optional): name → samples per step, for arms of different
            batch sizes: adds per-sample statistics (``wall_ms_per_sample``,
            ``cpu_ms_per_sample``) and ratios (``wall_paired_per_sample``).

    Returns:
        dict: ``arms`` (per arm: ``wall_ms`` and ``cpu_ms`` statistics — cpu is the
        calling thread's CPU time, which waiting for a busy core does not inflate —
        and ``minflt`` median minor page faults of the thread per step), ``ratios``
        (per arm against the reference: ``wall`` = ratio of the median wall times,
        ``wall_paired`` = median over rounds of the per-round ratio, ``cpu_paired``
        the same for CPU time), ``rounds``, ``order``, ``loadavg`` (before, after)
        and ``raw_wall_ms`` (name → every timed step, ms).
    """
    names = list(arms)
    if not names or rounds < 1:
        raise ValueError('interleaved: needs at least one arm and one round')
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    faults = {n: [] for n in names}
    load_before = load_average()
    for r in range(warmup + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            flt, c0, t0 = _thread_minflt(), time.thread_time(), time.perf_counter()
            arms[name]()
            sync(device)
            t1, c1, flt1 = time.perf_counter(), time.thread_time(), _thread_minflt()
            if r >= warmup:
                wall[name].append(1e3 * (t1 - t0))
                cpu[name].append(1e3 * (c1 - c0))
                faults[name].append(flt1 - flt)
    ref = names[0]
    out = {'arms': {n: {'wall_ms': _stats(wall[n]), 'cpu_ms': _stats(cpu[n]),
                        'minflt': float(np.median(faults[n]))} for n in names},
           'ratios': {}, 'rounds': rounds, 'warmup': warmup, 'order': names,
           'loadavg': [load_before, load_average()]}
    for n in names[1:]:
        out['ratios'][n] = {
            'wall': float(np.median(wall[n]) / np.median(wall[ref])),
            'wall_paired': float(np.median(np.divide(wall[n], wall[ref]))),
            'cpu_paired': float(np.median(np.divide(cpu[n], np.maximum(cpu[ref], 1e-9))))}
    if samples:
        for n in names:
            arm = out['arms'][n]
            arm['samples_per_step'] = samples[n]
            arm['wall_ms_per_sample'] = _stats(np.divide(wall[n], samples[n]))
            arm['cpu_ms_per_sample'] = _stats(np.divide(cpu[n], samples[n]))
        for n in names[1:]:
            scale = samples[ref] / samples[n]
            ratio = out['ratios'][n]
            ratio['wall_paired_per_sample'] = ratio['wall_paired'] * scale
            ratio['cpu_paired_per_sample'] = ratio['cpu_paired'] * scale
    out['raw_wall_ms'] = wall
    return out


def sync(device):
    """Wait for queued GPU work (no-op on CPU) so that wall-clock times are complete."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def peak_gpu_mb(device):
    """``torch.cuda.max_memory_allocated`` in MiB on a CUDA device, else None."""
    if torch.device(device).type != 'cuda':
        return None
    return torch.cuda.max_memory_allocated() / 2**20


@contextmanager
def measured(device):
    """Yield a dict that gets 'peak_rss_mb' and 'peak_gpu_mb' when the block ends."""
    if torch.device(device).type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    figures = {}
    with PeakMemory() as memory:
        yield figures
    figures.update(peak_rss_mb=memory.peak_mb, peak_pss_mb=memory.peak_pss_mb,
                   peak_gpu_mb=peak_gpu_mb(device))


# ------------------------------------------------------------------------ helpers


class RepeatSampler(torch.utils.data.Sampler):
    """Yields 0 … n-1 over and over, forever: an endless stream of one fixed batch."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        while True:
            yield from range(self.n)

    def __len__(self):   # nominal (the logger asks for the loader's length)
        return self.n * 10**6


def fixed_batch_loader(samples):
    """A DataLoader yielding the list ``samples`` as one pseudo-collated batch, forever."""
    return torch.utils.data.DataLoader(samples, batch_size=len(samples),
                                       sampler=RepeatSampler(len(samples)),
                                       collate_fn=pseudo_collate, num_workers=0)


def take_samples(dataset, n):
    """n transformed samples of a dataset (cycling through it when it is smaller)."""
    if len(dataset) == 0:
        raise ValueError('the dataset is empty: nothing to benchmark')
    return [dataset[i % len(dataset)] for i in range(n)]


def build_dataset(dataset_cfg):
    """Build a dataset config in hpekit's scope."""
    return DATASETS.build(dataset_cfg)


def timed_steps(step, warmup, iters, device):
    """Run ``step()`` warmup + iters times; the iters step times in seconds."""
    times = []
    for i in range(warmup + iters):
        start = time.perf_counter()
        step()
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def _base(mode, cfg, device, batch_size, iters, warmup):
    return {'mode': mode, 'config': cfg.filename, 'device': str(device),
            'batch_size': batch_size, 'iters': iters, 'warmup': warmup,
            'torch_threads': torch.get_num_threads(), 'loadavg': load_average(),
            'allocator': current_allocator()}


def current_allocator():
    """The allocator this process runs under: ``hpekit.runtime.allocator``'s name when
    a tool applied it, else a description of ``LD_PRELOAD`` / ``GLIBC_TUNABLES``, else
    'glibc'."""
    if os.environ.get(APPLIED):
        return os.environ[APPLIED]
    if os.environ.get('LD_PRELOAD'):
        return f"LD_PRELOAD={os.environ['LD_PRELOAD']} MALLOC_CONF={os.environ.get('MALLOC_CONF', '')}"
    if os.environ.get('GLIBC_TUNABLES'):
        return f"GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}"
    return 'glibc'


# ----------------------------------------------------------------------- pipeline


def bench_pipeline(cfg, iters=200, warmup=10, seed=0, **_):
    """The config's training transforms on its training dataset, in this process.

    Samples are taken in a seeded random order. OpenCV uses the config's
    ``env_cfg.mp_cfg.opencv_num_threads`` threads, as mmengine's Runner sets it.
    Extra fields: ``transforms_ms`` (mean ms per sample of ``get_data_info`` and of
    each transform, in pipeline order, keyed ``'<i>:<name>'``), ``transforms_share``
    (each one's share of the total), ``cpu_samples_per_s`` (samples per second of
    this process's CPU time: what one unshared core would do when other processes
    compete for the CPU) and ``cv2_threads``. ``samples_per_s`` = samples / total
    wall time (not from the median).
    """
    threads = (cfg.get('env_cfg') or {}).get('mp_cfg', {}).get('opencv_num_threads')
    if threads is not None:
        cv2.setNumThreads(threads)
    dataset_cfg = dict(cfg.train_dataloader.dataset)
    transforms = dataset_cfg.pop('pipeline', [])
    dataset = build_dataset(dict(dataset_cfg, pipeline=[]))
    stages = [('get_data_info', dataset.get_data_info)]
    stages += [(f'{i}:{t["type"]}', TRANSFORMS.build(t)) for i, t in enumerate(transforms)]
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    order = rng.permutation(np.resize(np.arange(len(dataset)), warmup + iters))
    totals, step_times = np.zeros(len(stages)), []
    with measured('cpu') as memory:
        for k, idx in enumerate(order):
            if k == warmup:
                cpu_start = time.process_time()
            spent, results = _run_stages(stages, int(idx))
            if k >= warmup:
                totals += spent
                step_times.append(spent.sum())
        cpu_time = time.process_time() - cpu_start
    out = _base('pipeline', cfg, 'cpu', 1, iters, warmup)
    out.update(summarize(step_times, 1), **memory)
    out['samples_per_s'] = iters / float(np.sum(step_times))
    out['transforms_ms'] = {name: 1e3 * t / iters for (name, _), t in zip(stages, totals)}
    out['transforms_share'] = {name: float(t / totals.sum())
                               for (name, _), t in zip(stages, totals)}
    out['cpu_samples_per_s'] = iters / cpu_time
    out['cv2_threads'] = cv2.getNumThreads()
    return out


def _run_stages(stages, idx):
    """Seconds spent in each stage for one sample; (float array, final results)."""
    spent = np.zeros(len(stages))
    start = time.perf_counter()
    results = stages[0][1](idx)
    spent[0] = time.perf_counter() - start
    for i, (name, transform) in enumerate(stages[1:], 1):
        start = time.perf_counter()
        results = transform(results)
        spent[i] = time.perf_counter() - start
        if results is None:
            raise RuntimeError(f'pipeline: transform {name} returned None for sample {idx}')
    return spent, results


# ------------------------------------------------------------------------- loader


def bench_loader(cfg, iters=50, warmup=5, batch_size=None, num_workers=None, **_):
    """The config's whole training DataLoader (workers, sampler, collate) as built by
    mmengine's Runner. Extra fields: ``num_workers``; ``peak_rss_mb`` and
    ``peak_pss_mb`` count the workers too. Step = one batch (the wait for it);
    samples/s = all samples / total time (the waits are bimodal with workers: a
    prefetched batch comes at once)."""
    loader_cfg = dict(cfg.train_dataloader)
    if batch_size:
        loader_cfg['batch_size'] = batch_size
    if num_workers is not None:
        loader_cfg['num_workers'] = num_workers
        if num_workers == 0:
            loader_cfg['persistent_workers'] = False
    with measured('cpu') as memory:
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        batches = iter(_forever(loader))
        times = []
        for i in range(warmup + iters):
            start = time.perf_counter()
            next(batches)
            if i >= warmup:
                times.append(time.perf_counter() - start)
        del batches
    out = _base('loader', cfg, 'cpu', loader_cfg['batch_size'], iters, warmup)
    out.update(summarize(times, loader_cfg['batch_size']), **memory)
    out['samples_per_s'] = iters * loader_cfg['batch_size'] / float(np.sum(times))
    out['num_workers'] = loader_cfg.get('num_workers', 0)
    return out


def _forever(loader):
    epoch = 0
    while True:
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


# ---------------------------------------------------------------------- inference


def bench_inference(cfg, iters=20, warmup=3, batch_size=4, device='cpu',
                    channels_last=False, backends=('pytorch',), batch_sizes=None,
                    precisions=('float32',), **_):
    """``model.val_step`` (preprocess + predict, with flip test when the config's
    ``model.test_cfg`` has it) in eval mode under ``torch.no_grad`` on a fixed batch of
    the validation dataset.

    ``backends``: 'pytorch', 'onnxruntime' and/or 'openvino' (the same weights exported
    once to a temporary folder, run by ``hpekit.apis.OnnxRuntimeEstimator`` or
    ``OpenVinoEstimator``: graph on the crops and their mirrors, the PyTorch head's
    decoding). ``precisions``: 'float32' and/or 'bfloat16' (``init_model(...,
    precision=)``: PyTorch autocast, channels-last, float32 decoding, a second model
    with the same weights; OpenVINO's bf16 inference precision); ONNX Runtime runs
    float32 only, so its bfloat16 pairs are not run; nor is an arm this machine cannot
    run (OpenVINO bfloat16 on a CPU without native bfloat16): ``not_run`` maps each such
    arm to the reason, and the table prints it. A backend that is not installed, or no
    arm left to run, raises ``ArmError`` before anything is timed.
    ``batch_sizes``: several batch sizes. With one arm the steps run one after the
    other; with more, every (backend, precision, batch size) is an arm of
    ``interleaved`` (one step of each per round, rotated order), named
    ``backend@size``, or ``backend/precision@size`` when a precision other than
    float32 is asked for, and ``per_sample_ms`` (median ms per crop or clip of each
    arm) and ``per_sample_ratio`` (each arm's per-sample time / the first arm's, from
    the paired per-round ratios) compare them.

    Extra fields: ``flip_test`` (bool or None), ``backend``, ``precision`` (one, or
    the list), ``arm_precision`` (arm → precision, with several arms).
    """
    backends, precisions = list(backends), list(precisions)
    batch_sizes = list(batch_sizes or [batch_size])
    reasons = {(b, p): _why_not(b, p) for b in backends for p in precisions}
    pairs = [pair for pair, reason in reasons.items() if reason is None]
    not_run = {f'{b}/{p}': reason for (b, p), reason in reasons.items() if reason}
    if not pairs:
        raise ValueError(f'inference: nothing to run: {not_run}')
    model = init_model(cfg, device=device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    dataset = build_dataset(cfg.val_dataloader.dataset)
    batches = {size: pseudo_collate(take_samples(dataset, size)) for size in batch_sizes}
    with tempfile.TemporaryDirectory() as onnx_dir, measured(device) as memory, \
            torch.no_grad():
        models = _arm_models(model, cfg, pairs, device, onnx_dir, not_run)
        pairs = list(models)
        named = precisions != ['float32']
        arms, sizes, arm_precision = {}, {}, {}
        for (b, p), size in ((pair, s) for pair in pairs for s in batch_sizes):
            name = f'{b}/{p}@{size}' if named else f'{b}@{size}'
            arms[name] = (lambda m=models[(b, p)], x=batches[size]: m.val_step(x))
            sizes[name], arm_precision[name] = size, p
        if len(arms) == 1:
            times = timed_steps(next(iter(arms.values())), warmup, iters, device)
            compared = None
        else:
            compared = interleaved(arms, rounds=iters, warmup=warmup, device=device,
                                   samples=sizes)
            times = np.asarray(compared['raw_wall_ms'][next(iter(arms))]) / 1e3
    out = _base('inference', cfg, device, batch_sizes[0], iters, warmup)
    out.update(summarize(times, batch_sizes[0]), **memory)
    out['flip_test'] = getattr(model, 'test_cfg', {}).get('flip_test')
    out['backend'] = backends[0] if len(backends) == 1 else backends
    out['precision'] = precisions[0] if len(precisions) == 1 else precisions
    if not_run:
        out['not_run'] = not_run
    if compared is not None:
        compared.pop('raw_wall_ms')
        out['batch_sizes'] = batch_sizes
        out['arm_precision'] = arm_precision
        out['interleaved'] = compared
        out['per_sample_ms'] = {name: arm['wall_ms_per_sample']['median']
                                for name, arm in compared['arms'].items()}
        out['per_sample_cpu_ms'] = {name: arm['cpu_ms_per_sample']['median']
                                    for name, arm in compared['arms'].items()}
        out['per_sample_ratio'] = {name: r['wall_paired_per_sample']
                                   for name, r in compared['ratios'].items()}
    return out


class ArmError(RuntimeError):
    """An inference arm that cannot be built on this machine; the message says which
    arm and why."""


def _why_not(backend, precision):
    """None where ``backend`` runs ``precision`` at all, else why not
    (``check_precision``'s message)."""
    try:
        check_precision(precision, backend)
    except ValueError as err:
        return str(err)
    return None


def _arm_models(model, cfg, pairs, device, onnx_dir, not_run):
    """{(backend, precision): its model} for the ``pairs`` this machine can run; each
    one it cannot (a ``ValueError`` at build, e.g. OpenVINO bfloat16 without native
    bfloat16) is added to ``not_run`` with the reason. ``ArmError``: a backend that is
    not installed, or no pair left."""
    models, errors = {}, []
    for pair in pairs:
        try:
            models[pair] = _arm_model(model, cfg, *pair, device, onnx_dir)
        except ArmError as err:
            if isinstance(err.__cause__, ImportError):
                raise
            errors.append(err)
            not_run['/'.join(pair)] = str(err.__cause__)
    if not models:
        raise errors[0]
    return models


def _arm_model(model, cfg, backend, precision, device, onnx_dir):
    """``_inference_model``, its ``ValueError``/``ImportError`` (e.g. OpenVINO asked for
    bfloat16 on a CPU without native bfloat16) raised as ``ArmError`` naming the arm."""
    try:
        return _inference_model(model, cfg, backend, precision, device, onnx_dir)
    except (ValueError, ImportError) as err:
        raise ArmError(f'inference arm {backend}/{precision} cannot run here: {err}') \
            from err


def _inference_model(model, cfg, backend, precision, device, onnx_dir):
    """The model of one inference arm: ``model`` itself (pytorch, float32), its ONNX
    export run by ONNX Runtime or OpenVINO (in ``precision``; the export is cached in
    ``onnx_dir`` and shared), or a second model from ``init_model(cfg, precision=...)``
    holding ``model``'s weights (memory format included)."""
    if backend == 'onnxruntime':
        return onnxruntime_model(model, device=device, cache_dir=onnx_dir)
    if backend == 'openvino':
        return openvino_model(model, device=device, cache_dir=onnx_dir,
                              precision=precision)
    if precision == 'float32':
        return model
    other = init_model(cfg, device=device, precision=precision)
    other.load_state_dict(model.state_dict())
    return other


# --------------------------------------------------------------------- train-step


def plain_step(model, optimizer, batch, device, autocast_dtype=None, scaler=None):
    """One hand-written PyTorch training step on a pseudo-collated batch.

    Stacks the uint8 inputs, copies them to ``device``, normalises with the model's
    preprocessor mean/std, computes the losses (``mode='loss'``), backward, step.
    No mmengine wrapper is involved beyond the model's own forward.
    """
    preprocessor = model.data_preprocessor
    inputs = torch.stack(batch['inputs']).to(device, non_blocking=True)
    inputs = (inputs.float() - preprocessor.mean) / preprocessor.std
    samples = [sample.to(device) for sample in batch['data_samples']]
    with torch.autocast(torch.device(device).type, dtype=autocast_dtype,
                        enabled=autocast_dtype is not None):
        losses = model(inputs, samples, mode='loss')
    loss = sum(value for key, value in losses.items() if 'loss' in key)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()


def _autocast_of(optim_wrapper):
    """(dtype or None, GradScaler or None) matching an mmengine optimizer wrapper."""
    dtype = getattr(optim_wrapper, 'cast_dtype', None)
    scaler = None
    if type(optim_wrapper).__name__ == 'AmpOptimWrapper':
        scaler = torch.amp.GradScaler('cuda')
    return dtype, scaler


def _interleaved_hook(loader, device, warmup, external=None):
    """A Runner hook that interleaves the plain loop with the Runner's iterations.

    ``warmup`` plain steps run before training. After every Runner iteration (this
    hook's ``after_train_iter`` comes last: priority LOWEST) it records the Runner's
    step time — from the end of the previous plain step (or the start) to now: data
    fetch, hooks and ``model.train_step`` — and then times one plain step on the
    Runner's own model, optimizer and the same fixed batch. The first ``warmup``
    iterations of both are not recorded. ``external`` (optional: a ``StepWorker``)
    runs one step of its own after each plain step (and ``warmup`` before training);
    its wall times go to ``external_times`` (seconds).
    """
    class Interleaved(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.hpekit_times, self.plain_times, self.external_times = [], [], []
            self.batches, self.iteration, self.mark = iter(loader), 0, None

        def _plain(self, runner):
            model = runner.model
            model.train()
            dtype, scaler = _autocast_of(runner.optim_wrapper)
            plain_step(model, runner.optim_wrapper.optimizer, next(self.batches), device,
                       dtype, scaler)
            sync(device)

        def before_train(self, runner):
            for _ in range(warmup):
                self._plain(runner)
                if external is not None:
                    external.step()
            sync(device)
            self.mark = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            sync(device)
            now = time.perf_counter()
            record = self.iteration >= warmup
            if record:
                self.hpekit_times.append(now - self.mark)
                start = time.perf_counter()
                self._plain(runner)
                self.plain_times.append(time.perf_counter() - start)
                if external is not None:
                    self.external_times.append(external.step()['wall_ms'] / 1e3)
            self.iteration += 1
            sync(device)
            self.mark = time.perf_counter()

    return Interleaved()


def runner_config(cfg, work_dir, iters, compile_model=False):
    """A copy of cfg for a benchmark Runner: iteration-based, no validation, no
    checkpoints, no schedulers, quiet logs, its own work dir and visualizer name."""
    cfg = cfg.copy()
    cfg.work_dir = work_dir
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=10**9)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader',
                'test_cfg', 'test_evaluator', 'param_scheduler', 'load_from'):
        cfg[key] = None
    cfg.resume = False
    cfg.default_hooks = dict(cfg.get('default_hooks') or {}, checkpoint=None)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks') or []
                        if h.get('type') != 'CurvePlotHook']
    cfg.log_level = 'WARNING'
    cfg.visualizer = dict(cfg.get('visualizer') or dict(type='Visualizer'),
                          name=f'benchmark_{os.getpid()}_{time.perf_counter_ns()}')
    if compile_model:
        cfg.compile = True
    return cfg


def bench_train_step(cfg, iters=20, warmup=3, batch_size=None, device='cpu',
                     compile_model=False, baseline_allocator=None, config_path=None,
                     cfg_options=None, **_):
    """hpekit's Runner step vs a plain PyTorch loop on the same model/batch/optimizer.

    A Runner (mmengine's, built from the config as ``tools/train.py`` builds it, but
    iteration-based with checkpoints, validation and schedulers switched off) trains
    on a fixed batch of the training dataset; its step time covers data fetch, hooks
    and ``model.train_step`` with the optimizer wrapper. A plain loop
    (``plain_step``) on the Runner's own model and optimizer and the same batch is
    interleaved with it: one plain step after every Runner iteration
    (``_interleaved_hook``), so a change of the machine's load hits both alike.

    With ``baseline_allocator`` (e.g. 'glibc': PyTorch's default settings), a third
    arm: the plain loop of the same architecture and batch size in a separate process
    under that allocator (``StepWorker``; needs ``config_path``/``cfg_options``),
    stepped after every plain step — what a plain PyTorch script gets without the
    allocator hpekit's tools apply to their own process.

    Extra fields: ``hpekit`` and ``plain`` (each ``samples_per_s`` and ``step_ms``),
    ``overhead`` = hpekit median step time / plain median step time,
    ``overhead_paired`` = median over iterations of hpekit step / the plain step after;
    with a baseline: ``plain_baseline`` (``samples_per_s``, ``step_ms``, ``allocator``)
    and ``speedup_vs_baseline`` / ``speedup_vs_baseline_paired`` (baseline step time /
    hpekit step time: > 1 means hpekit is faster).
    """
    if torch.device(device).type != torch.device(get_device()).type:
        raise ValueError(f'train-step: --device {device}, but mmengine\'s Runner trains on '
                         f'{get_device()} here (hide GPUs with CUDA_VISIBLE_DEVICES= for '
                         'a CPU run)')
    if baseline_allocator and (torch.device(device).type != 'cpu' or not config_path):
        raise ValueError('train-step: a baseline allocator needs --device cpu and the '
                         'config file')
    batch_size = batch_size or cfg.train_dataloader.batch_size
    samples = take_samples(build_dataset(cfg.train_dataloader.dataset), batch_size)
    loader = fixed_batch_loader(samples)
    worker = None
    if baseline_allocator:
        worker = StepWorker(baseline_allocator, dict(
            config=config_path, cfg_options=dict(cfg_options or {}), workload='train',
            batch_size=batch_size), threads=torch.get_num_threads())
    try:
        steps = _interleaved_hook(loader, device, warmup, external=worker)
        with tempfile.TemporaryDirectory() as work_dir, measured(device) as memory:
            run_cfg = runner_config(cfg, work_dir, warmup + iters, compile_model)
            runner = _build_runner(run_cfg, loader)
            runner.register_hook(steps)
            runner.train()
    finally:
        if worker is not None:
            worker.close()
    out = _base('train-step', cfg, device, batch_size, iters, warmup)
    out['hpekit'] = summarize(steps.hpekit_times, batch_size)
    out['plain'] = summarize(steps.plain_times, batch_size)
    out['overhead_paired'] = float(np.median(np.divide(steps.hpekit_times,
                                                       steps.plain_times)))
    out.update(samples_per_s=out['hpekit']['samples_per_s'],
               step_ms=out['hpekit']['step_ms'], **memory)
    out['overhead'] = out['hpekit']['step_ms']['median'] / out['plain']['step_ms']['median']
    if worker is not None:
        out['plain_baseline'] = dict(summarize(steps.external_times, batch_size),
                                     allocator=baseline_allocator, env=worker.env)
        out['speedup_vs_baseline'] = (out['plain_baseline']['step_ms']['median'] /
                                      out['hpekit']['step_ms']['median'])
        out['speedup_vs_baseline_paired'] = float(np.median(np.divide(
            steps.external_times, steps.hpekit_times)))
    out['compile'] = bool(compile_model)
    out['optim_wrapper'] = cfg.optim_wrapper.get('type', 'OptimWrapper')
    return out


def _build_runner(cfg, loader):
    """mmengine's Runner from cfg as ``Runner.from_cfg`` builds it, with ``loader`` as
    the training DataLoader (a DataLoader object cannot travel inside a config)."""
    keys = ('model', 'work_dir', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
            'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
            'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
            'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
            'default_scope', 'randomness', 'experiment_name')
    kwargs = {k: cfg.get(k) for k in keys if cfg.get(k) is not None}
    return Runner(train_dataloader=loader, val_dataloader=None, test_dataloader=None,
                  cfg=cfg, **kwargs)


# ------------------------------------------------------------------ sampler check


def bench_sampler(cfg, iters=10, warmup=1, batch_size=None, device='cpu', **_):
    """Does the memory sampler slow down what it measures? The plain PyTorch training
    step (``plain_step``: the config's model, its optimizer, a fixed batch) timed in one
    process with three arms interleaved step by step (``interleaved``):

    - ``off``: no sampling during the step (the sampler threads are paused);
    - ``sampler``: ``PeakMemory`` as every mode uses it (statm every 50 ms, PSS rarely);
    - ``legacy``: the sampler before this check existed (smaps_rollup every 50 ms).

    ``iters`` rounds of the three. Extra fields: ``interleaved`` (see there),
    ``overhead`` = the sampler arm's paired wall ratio to ``off`` (target ≤ 1.02),
    ``legacy_overhead``, and the samplers' read counts.
    """
    batch_size = batch_size or cfg.train_dataloader.batch_size
    batch = pseudo_collate(take_samples(build_dataset(cfg.train_dataloader.dataset),
                                        batch_size))
    model = MODELS.build(cfg.model).to(device).train()
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    samplers = {'sampler': PeakMemory(), 'legacy': PeakMemory(pss_interval_s=0)}
    for sampler in samplers.values():
        sampler.paused.set()

    def step():
        plain_step(model, optimizer, batch, device)

    def sampled(sampler):
        def run():
            sampler.paused.clear()
            try:
                step()
            finally:
                sampler.paused.set()
        return run

    with samplers['sampler'], samplers['legacy']:
        result = interleaved({'off': step, 'sampler': sampled(samplers['sampler']),
                              'legacy': sampled(samplers['legacy'])},
                             rounds=iters, warmup=warmup, device=device)
    result.pop('raw_wall_ms')
    out = _base('sampler', cfg, device, batch_size, iters, warmup)
    off = result['arms']['off']['wall_ms']
    out.update(summarize(np.asarray([off['median']]) / 1e3, batch_size))
    out.update(peak_rss_mb=samplers['sampler'].peak_mb,
               peak_pss_mb=samplers['sampler'].peak_pss_mb, peak_gpu_mb=peak_gpu_mb(device))
    out['step_ms'] = off
    out['interleaved'] = result
    out['overhead'] = result['ratios']['sampler']['wall_paired']
    out['legacy_overhead'] = result['ratios']['legacy']['wall_paired']
    out['reads'] = {name: {'statm': s.samples, 'smaps_rollup': s.pss_samples}
                    for name, s in samplers.items()}
    return out


# ---------------------------------------------------------------------- allocator


def bench_allocator(cfg, config_path, cfg_options=None, allocators=None, workload='train',
                    iters=10, warmup=1, batch_size=None, threads=1, **_):
    """Allocators against each other on one workload: one worker process per allocator
    (``tools.benchmarking.worker``, started with
    ``hpekit.runtime.allocator.allocator_env``), stepped alternately — round r runs one step in each worker, in an order rotated
    by r, one worker at a time — so changes of the machine's load hit all alike.

    Per step each worker reports wall and thread-CPU time, the process's user and
    system (kernel) time and its minor/major page faults. Extra fields: ``allocators``
    (per name: the statistics and the worker's allocator variables), ``ratios`` (each
    against the first: ``wall_paired``, ``cpu_paired`` — medians of per-round
    ratios —, ``sys_ms_median``, ``minflt_median`` — ratios of the medians, kernel time
    being counted in scheduler ticks), ``workload``, ``unavailable`` (names skipped:
    no jemalloc).
    """
    names = list(allocators or allocator_names())
    unavailable = [n for n in names if not available(n)]
    names = [n for n in names if n not in unavailable]
    if not names:
        raise ValueError(f'no allocator available of {allocators}')
    spec = {'config': config_path, 'cfg_options': dict(cfg_options or {}),
            'workload': workload, 'batch_size': batch_size}
    workers = {}
    try:
        for name in names:
            workers[name] = StepWorker(name, spec, threads)
        records = {n: [] for n in names}
        load_before = load_average()
        for r in range(warmup + iters):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                record = workers[name].step()
                if r >= warmup:
                    records[name].append(record)
        load_after = load_average()
    finally:
        for worker in workers.values():
            worker.close()
    size = batch_size or (cfg.train_dataloader.batch_size if workload == 'train' else 1)
    out = _base('allocator', cfg, 'cpu', size, iters, warmup)
    out['workload'], out['unavailable'] = workload, unavailable
    out['loadavg_during'] = [load_before, load_after]
    keys = ('wall_ms', 'cpu_ms', 'user_ms', 'sys_ms', 'minflt', 'majflt', 'rss_mb')
    out['allocators'] = {}
    for name in names:
        stats = {k: _stats([rec[k] for rec in records[name]]) for k in keys}
        stats['env'] = workers[name].env
        stats['samples_per_s'] = size * 1e3 / stats['wall_ms']['median']
        out['allocators'][name] = stats
    ref = names[0]
    out['ratios'] = {}
    for name in names[1:]:
        out['ratios'][name] = {
            f'{k}_paired': float(np.median([a[f'{k}_ms'] / max(b[f'{k}_ms'], 1e-9)
                                            for a, b in zip(records[name], records[ref])]))
            for k in ('wall', 'cpu')}
        # Kernel time is counted in scheduler ticks: compare medians, not step pairs.
        for key in ('sys_ms', 'minflt'):
            out['ratios'][name][f'{key}_median'] = float(
                out['allocators'][name][key]['median'] /
                max(out['allocators'][ref][key]['median'], 1.0))
    first = out['allocators'][ref]
    out.update(summarize(np.asarray([first['wall_ms']['median']]) / 1e3, size))
    out['step_ms'] = first['wall_ms']
    out.update(peak_rss_mb=max(a['rss_mb']['max'] for a in out['allocators'].values()),
               peak_pss_mb=None, peak_gpu_mb=None)
    return out


class StepWorker:
    """One ``tools.benchmarking.worker`` process under allocator ``name``: it builds
    the workload of ``spec`` (a dict: ``config``, ``cfg_options``, ``workload``,
    ``batch_size``) with ``threads`` torch threads; ``step()`` runs one step there and
    returns its record (``wall_ms``, ``cpu_ms``, ``user_ms``, ``sys_ms``, ``minflt``,
    ``majflt``, ``rss_mb``); ``close()`` ends it. ``env``: the worker's allocator
    variables as it reported them.
    """

    def __init__(self, name: str, spec: dict, threads: int = 1):
        env = module_env(allocator_env(name))
        env.update(OMP_NUM_THREADS=str(threads), HPEKIT_NO_ALLOCATOR_TUNING='1')
        self.name = name
        self.proc = subprocess.Popen(
            module_command('worker', json.dumps(dict(spec, threads=threads))), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = self._line()
        self.env = {k: ready[k] for k in ('ld_preload', 'malloc_conf', 'glibc_tunables')}

    def step(self) -> dict:
        self.proc.stdin.write('step\n')
        self.proc.stdin.flush()
        return self._line()

    def _line(self):
        """The worker's next JSON line; RuntimeError if it died."""
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=60)
            raise RuntimeError(f'benchmark worker ({self.name} allocator) exited ({code}) '
                               'without an answer; see its messages above')
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write('quit\n')
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------- large synthetic memmap


def write_synthetic_clips(out_dir, gigabytes, frames=8, size=224, progress=True):
    """Write a course-format train split of about ``gigabytes`` GiB of video to out_dir.

    ``videoframes_clips_train.npy`` uint8 [N, frames, size, size, 3] (a cheap moving
    pattern, not rendered people) and ``joint_3d_clips_train.npy`` float32
    [N, frames, 17, 3] (small random values), N = gigabytes · 2**30 / clip bytes.
    The header comes from ``np.lib.format.open_memmap``; the data is written in chunks
    with plain file writes, so this process's memory stays small. Returns N.
    """
    clip_bytes = frames * size * size * 3
    num = max(1, int(gigabytes * 2**30 // clip_bytes))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, 'videoframes_clips_train.npy')
    header = np.lib.format.open_memmap(path, mode='w+', dtype=np.uint8,
                                       shape=(num, frames, size, size, 3))
    offset = header.offset
    del header
    base = np.random.default_rng(0).integers(0, 256, (frames, size, size, 3), np.uint8)
    chunk = 64
    bar = ProgressBar((num + chunk - 1) // chunk, file=sys.stderr) if progress else None
    with open(path, 'r+b') as f:
        f.seek(offset)
        for start in range(0, num, chunk):
            shift = (np.arange(start, min(num, start + chunk)) % 256).astype(np.uint8)
            f.write((base + shift[:, None, None, None, None]).tobytes())
            if bar:
                bar.update()
    joints = np.random.default_rng(1).normal(0, 0.3, (num, frames, 17, 3)).astype(np.float32)
    np.save(os.path.join(out_dir, 'joint_3d_clips_train.npy'), joints)
    if bar:
        sys.stderr.write('\n')
    return num


def bench_loader_synthetic(cfg, gigabytes, tmp_dir=None, iters=None, warmup=3,
                           batch_size=None, num_workers=None, **_):
    """``bench_loader`` on a synthetic ``gigabytes`` GiB course-format file (video
    configs: the training dataset's data_root is replaced). Without ``iters`` the
    loader runs one full epoch, so every clip of the file is read once. Extra fields:
    ``file_gb`` and ``num_clips``. The files are deleted afterwards."""
    with tempfile.TemporaryDirectory(dir=tmp_dir) as root:
        num = write_synthetic_clips(root, gigabytes)
        cfg = cfg.copy()
        cfg.train_dataloader.dataset.update(data_root=root, split='train')
        size = batch_size or cfg.train_dataloader.batch_size
        iters = iters or max(1, num // size - warmup)
        out = bench_loader(cfg, iters=iters, warmup=warmup, batch_size=batch_size,
                           num_workers=num_workers)
        out.update(file_gb=os.path.getsize(
            os.path.join(root, 'videoframes_clips_train.npy')) / 2**30, num_clips=num)
    return out
