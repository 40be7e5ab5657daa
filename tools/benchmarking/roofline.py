"""The roofline of ``tools/benchmark.py``: this machine's peak, and how close each arm
of the ``inference`` and ``train-step`` modes comes to it.

``calibrate`` times the two kernels that carry a pose network — a square matrix
product and a 3×3 convolution of ``channels`` channels (contiguous and channels-last)
— in float32 and bfloat16 (CUDA: float16 too), with one torch thread and with the
threads this process uses, and keeps the fastest figure of each dtype and thread
count as its peak. Sizes grow (matmul 256² … ``matmul_size``², convolution maps
16² … ``conv_size``²) while the next size would still take at most ``max_call_s`` per
call, so a dtype the CPU only emulates (bfloat16 without ``avx512_bf16``/AMX) stays
at small sizes and the whole calibration takes a few seconds. It is cached per
process.

``annotate`` adds the achieved GFLOP/s and the fraction of the matching peak to
every arm of a result (float32 arms against the float32 peak, bfloat16 arms against
the bfloat16 peak, with the threads the arm used).

FLOP convention (the same for the model counts and the peaks): one multiply-
accumulate is one FLOP, as mmengine's ``FlopAnalyzer`` and ``tools/get_flops.py``
count (``hpekit.models.complexity``); vendor peaks that count 2 FLOPs per
multiply-accumulate are twice these numbers, the fractions are the same. A sample's
work: one forward pass of one crop or clip, ×2 with the flip test (inference), ×3 for
a training step (forward + backward ≈ 2 forwards; element-wise operators are not
counted on either side).
"""
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

from hpekit.apis import init_model
from hpekit.models.complexity import model_complexity

CONVENTION = ('1 FLOP = 1 multiply-accumulate (mmengine FlopAnalyzer, tools/get_flops.py), '
              'for the model counts and the peaks alike')
TRAIN_STEP_FACTOR = 3   # a training step ≈ forward + backward (2 forwards)
MATMUL_SIZES = (256, 512, 1024, 2048)
CONV_SIZES = (16, 32, 64, 128)
_CACHE: Dict[tuple, dict] = {}


def default_dtypes(device: str) -> tuple:
    """The dtypes calibrated on ``device``: float32 and bfloat16; float16 on CUDA too."""
    dtypes = ('float32', 'bfloat16')
    return dtypes + ('float16', ) if torch.device(device).type == 'cuda' else dtypes


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _seconds(fn: Callable[[], object], device: torch.device) -> float:
    """Wall seconds of one call (GPU work included)."""
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def best_seconds(fn: Callable[[], object], device: torch.device,
                 min_time_s: float = 0.1, max_reps: int = 20) -> float:
    """Fastest of repeated calls of ``fn`` (one untimed call first): at least 2, more
    until ``min_time_s`` has passed or ``max_reps`` were made. Seconds."""
    fn()
    _sync(device)
    times, start = [], time.perf_counter()
    while len(times) < 2 or (time.perf_counter() - start < min_time_s and
                             len(times) < max_reps):
        times.append(_seconds(fn, device))
    return min(times)


def _matmul(size: int, dtype: torch.dtype, device: torch.device):
    """(call, multiply-accumulates, shape text) of a size × size matrix product."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    return (lambda: torch.mm(a, b)), size ** 3, f'{size}x{size} @ {size}x{size}'


def _conv(size: int, dtype: torch.dtype, device: torch.device, channels: int,
          channels_last: bool):
    """(call, multiply-accumulates, shape text) of a 3×3 convolution, padding 1,
    [1, channels, size, size] → same shape."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(1, channels, size, size, device=device).to(dtype)
    w = torch.randn(channels, channels, 3, 3, device=device).to(dtype)
    x, w = x.contiguous(memory_format=layout), w.contiguous(memory_format=layout)
    macs = size * size * channels * channels * 9
    return (lambda: F.conv2d(x, w, padding=1)), macs, \
        f'1x{channels}x{size}x{size} 3x3{" channels-last" if channels_last else ""}'


def measure_kernel(make: Callable[[int], tuple], sizes: List[int], power: int,
                   device: torch.device, max_call_s: float, min_time_s: float) -> dict:
    """Grow through ``sizes`` while the next size's call (the last call's time ×
    (next / size) ** ``power``) would take at most ``max_call_s``; time the last size
    reached with ``best_seconds``. The decision takes the faster of two calls, so
    one call slowed by another process does not stop the growth early.

    Args:
        make: size → (call, multiply-accumulates, shape text).
        power: how a call's time grows with the size (3: matrix side, 2: map side).

    Returns:
        dict: ``shape``, ``macs``, ``seconds`` (best call), ``gflops`` (GMAC/s).
    """
    for size, next_size in zip(sizes, list(sizes[1:]) + [None]):
        call, macs, shape = make(size)
        _seconds(call, device)   # warm-up
        if next_size is None:
            break
        seconds = min(_seconds(call, device), _seconds(call, device))
        if seconds * (next_size / size) ** power > max_call_s:
            break
    seconds = best_seconds(call, device, min_time_s)
    return {'shape': shape, 'macs': macs, 'seconds': seconds, 'gflops': macs / seconds / 1e9}


def _kernels(device: torch.device, dtype: torch.dtype, matmul_size: int, conv_size: int,
             channels: int) -> Dict[str, tuple]:
    """name → (make(size), sizes, power) of the calibration kernels."""
    mm_sizes = [s for s in MATMUL_SIZES if s < matmul_size] + [matmul_size]
    conv_sizes = [s for s in CONV_SIZES if s < conv_size] + [conv_size]
    return {
        'matmul': (lambda s: _matmul(s, dtype, device), mm_sizes, 3),
        'conv3x3': (lambda s: _conv(s, dtype, device, channels, False), conv_sizes, 2),
        'conv3x3_channels_last': (lambda s: _conv(s, dtype, device, channels, True),
                                  conv_sizes, 2)}


def _measure_all(device, dtypes, threads, matmul_size, conv_size, channels, max_call_s,
                 min_time_s):
    """Every kernel × dtype at ``threads`` torch threads (None: as set); records."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    records = []
    try:
        for dtype in dtypes:
            kernels = _kernels(device, getattr(torch, dtype), matmul_size, conv_size,
                               channels)
            with torch.no_grad():
                for name, (make, sizes, power) in kernels.items():
                    record = measure_kernel(make, sizes, power, device, max_call_s,
                                            min_time_s)
                    records.append(dict(kernel=name, dtype=dtype, threads=threads,
                                        **record))
    finally:
        torch.set_num_threads(before)
    return records


def calibrate(device: str = 'cpu', dtypes: Optional[tuple] = None, matmul_size: int = 2048,
              conv_size: int = 64, channels: int = 128, max_call_s: float = 0.2,
              min_time_s: float = 0.1) -> dict:
    """This machine's peak GFLOP/s per dtype, with one thread and with all the threads
    this process uses (cached per process for the same arguments and thread count).

    Args:
        device: 'cpu' or a CUDA device (one figure per dtype: the device's).
        dtypes: dtype names (default ``default_dtypes(device)``).
        matmul_size: the largest matrix side; conv_size: the largest map side;
            channels: the convolution's input and output channels.
        max_call_s: no size is tried whose one call would take longer (estimated).
        min_time_s: the final size repeats for at least this long (best call kept).

    Returns:
        dict: ``device``, ``threads`` (this process's torch threads), ``dtypes``,
        ``convention``, ``measurements`` (per kernel, dtype and thread count:
        ``kernel``, ``dtype``, ``threads`` (None on CUDA), ``shape``, ``macs``,
        ``seconds``, ``gflops``), ``peak_gflops`` (dtype → ``one_thread`` (None on
        CUDA) and ``all_threads``: the best kernel's GFLOP/s), ``seconds`` (the
        calibration's own time).
    """
    dev = torch.device(device)
    dtypes = tuple(dtypes or default_dtypes(device))
    threads = torch.get_num_threads()
    key = (str(dev), dtypes, matmul_size, conv_size, channels, max_call_s, min_time_s,
           threads)
    if key in _CACHE:
        return _CACHE[key]
    start = time.perf_counter()
    counts = [None] if dev.type == 'cuda' else sorted({1, threads})
    records = []
    for count in counts:
        records += _measure_all(dev, dtypes, count, matmul_size, conv_size, channels,
                                max_call_s, min_time_s)
    peaks = {}
    for dtype in dtypes:
        def best(count, dtype=dtype):
            return max(r['gflops'] for r in records
                       if r['dtype'] == dtype and r['threads'] == count)
        peaks[dtype] = {'one_thread': None if dev.type == 'cuda' else best(1),
                        'all_threads': best(counts[-1])}
    result = {'device': str(dev), 'threads': None if dev.type == 'cuda' else threads,
              'dtypes': list(dtypes), 'convention': CONVENTION, 'measurements': records,
              'peak_gflops': peaks, 'seconds': time.perf_counter() - start}
    _CACHE[key] = result
    return result


def peak_for(roofline: dict, dtype: str, threads: Optional[int]) -> tuple:
    """(peak GFLOP/s, basis text) of ``dtype`` for an arm using ``threads`` CPU
    threads in all (None: the calibrated thread count, or the GPU): the measured
    one-thread or all-thread peak ('1-thread', 'N-thread'), else ``threads`` × the
    one-thread peak ('N × 1-thread': ``--nproc`` processes of one thread each)."""
    peaks = roofline['peak_gflops'].get(dtype)
    if peaks is None:
        raise ValueError(f'roofline: no {dtype} peak was calibrated (calibrated: '
                         f'{", ".join(roofline["peak_gflops"])})')
    calibrated = roofline['threads']
    if calibrated is None:
        return peaks['all_threads'], 'device'
    threads = calibrated if threads is None else threads
    if threads == calibrated:
        return peaks['all_threads'], _threads_text(threads)
    if threads == 1:
        return peaks['one_thread'], _threads_text(1)
    return threads * peaks['one_thread'], f'{threads} × 1-thread'


def _threads_text(count: int) -> str:
    return '1-thread' if count == 1 else f'{count}-thread'


def forward_flops(cfg) -> int:
    """FLOPs (multiply-accumulates) of one forward pass of one sample (a crop or a
    clip, the model spec's input shape with batch 1) of ``cfg``'s model, as
    ``tools/get_flops.py`` counts them (random weights; nothing is loaded)."""
    model = init_model(cfg)
    return model_complexity(model, model.spec.input_shape(1))['flops']


def train_dtype(cfg) -> str:
    """The autocast dtype of ``cfg``'s optimizer wrapper ('float32' without one):
    hpekit's ``AutocastOptimWrapper`` (default bfloat16) or mmengine's
    ``AmpOptimWrapper`` (default float16)."""
    wrapper = cfg.get('optim_wrapper') or {}
    kind = wrapper.get('type', 'OptimWrapper')
    if kind == 'AutocastOptimWrapper':
        return str(wrapper.get('dtype') or 'bfloat16')
    if kind == 'AmpOptimWrapper':
        return str(wrapper.get('dtype') or 'float16')
    return 'float32'


def arms_of(result: dict, train_precision: str = 'float32') -> Dict[str, dict]:
    """The arms of an ``inference``/``train-step`` result: name (as the table shows
    it, and ``result['roofline']['arms']`` keys it) → ``samples_per_s``, ``dtype``,
    ``threads`` (None: the calibrated count)."""
    if result['mode'] == 'inference':
        if 'interleaved' in result:
            precisions = result['arm_precision']
            return {name: dict(samples_per_s=arm['samples_per_step'] * 1e3 /
                               arm['wall_ms']['median'], dtype=precisions[name],
                               threads=None)
                    for name, arm in result['interleaved']['arms'].items()}
        return {'inference': dict(samples_per_s=result['samples_per_s'],
                                  dtype=result['precision'], threads=None)}
    threads = result['nproc'] * result['threads_per_proc'] if 'nproc' in result else None
    arms = {'hpekit': dict(samples_per_s=result['hpekit']['samples_per_s'],
                           dtype=train_precision, threads=threads)}
    if 'plain' in result:
        arms['plain'] = dict(samples_per_s=result['plain']['samples_per_s'],
                             dtype=train_precision, threads=None)
    if 'plain_baseline' in result:   # tools.benchmarking.worker: no autocast
        arms['plain_baseline'] = dict(samples_per_s=result['plain_baseline']['samples_per_s'],
                                      dtype='float32', threads=None)
    return arms


def annotate(result: dict, roofline: dict, flops: int,
             train_precision: str = 'float32') -> dict:
    """Add ``result['roofline']``: the calibration, the work per sample and, per arm,
    achieved GFLOP/s and the fraction of the matching peak.

    Args:
        result: an ``inference`` or ``train-step`` result of the harness.
        roofline: ``calibrate``'s dict (same device as the result).
        flops: ``forward_flops`` of the result's config.
        train_precision: the training arms' autocast dtype (``train_dtype``).

    Returns:
        ``result`` with ``roofline``: ``peaks`` (the calibration), ``forward_flops``,
        ``passes_per_sample`` (forward-pass equivalents per sample: 2 with flip test,
        1 without; 3 for a training step), ``flops_per_sample``, ``convention`` and
        ``arms`` (name → ``dtype``, ``gflops``, ``peak_gflops``, ``peak_basis``,
        ``peak_fraction``).
    """
    if result['mode'] == 'inference':
        passes = 2 if result.get('flip_test') else 1
    elif result['mode'] == 'train-step':
        passes = TRAIN_STEP_FACTOR
    else:
        raise ValueError(f"roofline: only the inference and train-step modes, got "
                         f"{result['mode']!r}")
    per_sample = flops * passes
    arms = {}
    for name, arm in arms_of(result, train_precision).items():
        peak, basis = peak_for(roofline, arm['dtype'], arm['threads'])
        gflops = per_sample * arm['samples_per_s'] / 1e9
        arms[name] = dict(dtype=arm['dtype'], gflops=gflops, peak_gflops=peak,
                          peak_basis=basis, peak_fraction=gflops / peak)
    result['roofline'] = dict(peaks=roofline, forward_flops=int(flops),
                              passes_per_sample=passes, flops_per_sample=int(per_sample),
                              convention=CONVENTION, arms=arms)
    return result
