"""Measure hpekit's throughput: ``python tools/benchmark.py MODE CONFIG [options]``.

Modes (see ``tools.benchmarking.harness`` for exactly what each one times):

- ``train-step``: one optimisation step through mmengine's Runner and hpekit's model
  wrapper vs a hand-written PyTorch loop on the same model, batch and optimizer;
  prints both and ``overhead`` (ratio of the median step times);
- ``pipeline``: the config's training transforms on its training dataset in this
  process, samples/s and the time of each transform;
- ``loader``: the config's whole training DataLoader (workers as configured or
  ``--num-workers``), samples/s and peak RSS of the process and its workers;
- ``inference``: ``model.val_step`` in eval mode (flip test where the config has it),
  ``--backend pytorch|onnxruntime|openvino`` (several, comma-separated, and several
  batch sizes, ``--batch-size 1,16``: every pair timed interleaved, per-crop ratios
  reported),
  ``--precision float32,bfloat16`` (``init_model(..., precision=)``: bfloat16 autocast
  arms, and OpenVINO's bf16 where the CPU has native bfloat16, timed interleaved the
  same way; an arm that cannot run here stops the run with a message, before timing);
- ``sampler``: the plain training step timed with the memory sampler off, on, and as
  it was before (PSS every 50 ms), interleaved step by step in one process: proves
  that the sampler does not slow down what the other modes time;
- ``allocator``: the plain training step (``--workload train``) or ``val_step``
  (``eval``) in one worker process per allocator (``--allocators glibc,jemalloc-retain``),
  stepped alternately; time, kernel time and page faults per step;
- ``video``: the whole video pipeline (detector, 2D per person, tracking, smoothing,
  lifting with ``--pose3d``) on synthetic videos of ``--people 1,3`` people with the
  detector every ``--det-interval 1,5`` frames: frames/s per arm
  (``tools.benchmarking.video_pipeline``);
- ``suite`` (no config): ``--device cuda --out DIR`` measures everything a GPU run
  should report (training of hg2, SimpleBaseline and ResNet-50 + LSTM in fp32, bf16,
  channels_last, torch.compile; loaders with N workers; inference latency) and writes
  DIR/suite.json and DIR/suite.md (``tools.benchmarking.suite``); ``--tiny`` runs
  it on the test configs in seconds.

Each run prints a table on stdout (``tools.benchmarking.table``: one row per arm with
samples/s, the median step time and its p10–p90 spread, the ratios to the reference
arm, peak RSS, PSS and GPU memory where measured); ``--json OUT`` writes every figure
as one JSON object to a file, which is what scripts should read.

The roofline (``tools.benchmarking.roofline``; inference and train-step modes): a
calibration of a few seconds measures this machine's peak (matmul and 3×3
convolution, float32 and bfloat16, one thread and the threads used; once per
process), and every arm gets two more columns, achieved GFLOP/s (the model's FLOPs
as ``tools/get_flops.py`` counts them, one multiply-accumulate = one FLOP; ×2 with
flip test, ×3 for a training step) and ``% peak`` of the peak of its dtype; the JSON
has them under ``roofline``. ``--no-roofline`` skips it; ``--roofline-only`` (no mode
or config needed) prints just the peaks.
``--synthetic-gb N`` (loader mode, video configs) first writes an N GB synthetic file in
the course's memmap format to a temporary folder and benchmarks the loader on it.

Examples::

    OMP_NUM_THREADS=1 python tools/benchmark.py pipeline \\
        configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py \\
        --cfg-options train_dataloader.dataset.data_root=data/mpii_synthetic/
    python tools/benchmark.py train-step configs/mpii_hourglass/hg2_synthetic-quick.py \\
        --batch-size 4 --iters 10
    python tools/benchmark.py suite --device cuda --out work_dirs/gpu_suite
    python tools/benchmark.py inference configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py \
        --batch-size 16 --precision float32,bfloat16
    python tools/benchmark.py --roofline-only
"""
if __name__ == '__main__':   # first: re-run once under the tuned allocator (hpekit.runtime.allocator)
    from hpekit.runtime.allocator import tune_allocator
    tune_allocator()

import argparse
import json
import os
import sys
import tempfile

import torch
from mmengine.config import DictAction

from hpekit.apis.exported import BACKENDS
from hpekit.config.setup import load_config, setup_train_config
from hpekit.utils import register_all_modules

# Run as a script, sys.path[0] is tools/: add the folder above it (the checkout, or
# hpekit/.mim in a wheel), where the harness imports as tools.benchmarking.
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.benchmarking import ddp, roofline, suite, table, video_pipeline  # noqa: E402
from tools.benchmarking import harness as bench  # noqa: E402

MODES = ('train-step', 'pipeline', 'loader', 'inference', 'sampler', 'allocator', 'suite',
         'video')


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def _positive_list(text):
    """'4' or '1,16' → [4] / [1, 16] (each >= 1)."""
    try:
        values = [int(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected N or N,M,..., got {text!r}') from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f'batch sizes must be >= 1, got {text!r}')
    return values


def _backends(text):
    values = [v.strip() for v in text.split(',') if v.strip()]
    bad = [v for v in values if v not in BACKENDS]
    if not values or bad:
        raise argparse.ArgumentTypeError(f'backends are {", ".join(BACKENDS)} (comma-'
                                         f'separated), got {text!r}')
    return values


PRECISIONS = ('float32', 'bfloat16')


def _precisions(text):
    values = [v.strip() for v in text.split(',') if v.strip()]
    bad = [v for v in values if v not in PRECISIONS]
    if not values or bad or len(set(values)) < len(values):
        raise argparse.ArgumentTypeError(f'precisions are {", ".join(PRECISIONS)} (comma-'
                                         f'separated, each once), got {text!r}')
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark an hpekit config.')
    parser.add_argument('mode', nargs='?', choices=MODES,
                        help='what to time (not needed with --roofline-only)')
    parser.add_argument('config', nargs='?', help='config file path (not for suite)')
    parser.add_argument('--batch-size', type=_positive_list, default=None,
                        help='batch size (default: the config\'s; inference: 4); '
                        'inference takes several, e.g. 1,16, timed interleaved')
    parser.add_argument('--backend', type=_backends, default=['pytorch'],
                        help='inference: pytorch, onnxruntime, openvino, or several '
                        '(pytorch,onnxruntime,openvino: timed interleaved, step by step)')
    parser.add_argument('--precision', type=_precisions, default=['float32'],
                        help='inference: float32, bfloat16, or both (float32,bfloat16: '
                        'timed interleaved, step by step; bfloat16 runs on the pytorch '
                        'backend, and on openvino where the CPU has native bfloat16)')
    parser.add_argument('--no-roofline', action='store_true',
                        help='inference/train-step: skip the peak calibration and the '
                        'GFLOP/s and %% peak columns')
    parser.add_argument('--roofline-only', action='store_true',
                        help='print only this machine\'s peaks (the calibration) and exit')
    parser.add_argument('--iters', type=_positive, default=None,
                        help='timed steps (default: pipeline 200, loader 50, sampler 10 '
                        'rounds of its 3 arms, others 20)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed steps first (default: pipeline 10, others 3)')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda when '
                        'available)')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='loader: DataLoader workers (default: the config\'s)')
    parser.add_argument('--compile', action='store_true',
                        help='train-step: torch.compile through the Runner\'s compile option')
    parser.add_argument('--amp', action='store_true', help='train-step: mixed precision as '
                        'tools/train.py --amp (bfloat16 on CPU, float16 on GPU)')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels_last memory format for the model (ChannelsLastHook)')
    parser.add_argument('--cudnn-benchmark', action='store_true',
                        help='env_cfg.cudnn_benchmark=True (GPU)')
    parser.add_argument('--allocators', type=lambda t: [v for v in t.split(',') if v],
                        default=None, help='allocator mode: comma-separated names of '
                        'glibc, glibc-tuned, jemalloc, jemalloc-retain (default: all '
                        'available here; the first is the reference)')
    parser.add_argument('--baseline-allocator', default=None,
                        help='train-step: also time the plain loop in a separate process '
                        'under this allocator (glibc: PyTorch as it comes) and report '
                        'speedup_vs_baseline')
    parser.add_argument('--nproc', type=_positive, default=1,
                        help='train-step: train as tools/train.py --nproc N does (N gloo '
                        'processes of one thread on CPU; --batch-size is the global batch, '
                        'split over them)')
    parser.add_argument('--workload', choices=['train', 'eval'], default='train',
                        help='allocator mode: the plain training step or val_step')
    parser.add_argument('--synthetic-gb', type=float, default=None,
                        help='loader: write a synthetic course-format clip file of this '
                        'size to a temp dir and benchmark the loader on it')
    parser.add_argument('--tmp-dir', default=None, help='where --synthetic-gb writes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.dataset.data_root=X')
    parser.add_argument('--json', dest='json_out', help='write the full result as one '
                        'JSON object here (stdout gets a table)')
    parser.add_argument('--out', help='suite: the folder for data, suite.json and suite.md')
    parser.add_argument('--tiny', action='store_true',
                        help='suite: test configs, 1-2 steps each, no torch.compile')
    parser.add_argument('--budget-s', type=float, default=280.0,
                        help='suite: entries left after this many seconds are skipped')
    video = parser.add_argument_group('video mode (tools.benchmarking.video_pipeline)')
    video.add_argument('--det', help='video: an RTMDet config (MMDetection 3.x or hpekit)')
    video.add_argument('--det-weights', help='video: its checkpoint (default: random weights)')
    video.add_argument('--pose3d', help='video: a lifting config (random weights)')
    video.add_argument('--people', type=_positive_list, default=[1, 3],
                       help='video: people in the picture, one arm each (default 1,3)')
    video.add_argument('--det-interval', type=_positive_list, default=[1, 5],
                       help='video: run the detector every N frames (default 1,5)')
    video.add_argument('--frames', type=_positive, default=40,
                       help='video: frames per timed pass (default 40)')
    video.add_argument('--size', type=_positive_list, default=[640, 480],
                       help='video: frame W,H (default 640,480)')
    return parser.parse_args(argv)


DEFAULT_ITERS = {'pipeline': (200, 10), 'loader': (50, 3), 'train-step': (20, 3),
                 'inference': (20, 3), 'sampler': (10, 1), 'allocator': (10, 1)}


def prepare_config(args):
    """The loaded config with the command line's GPU-path options applied."""
    cfg = load_config(args.config, args.cfg_options)
    # The same set-up as tools/train.py (the work dir is replaced by a temporary one).
    setup_train_config(cfg, args.config, work_dir=tempfile.gettempdir(), amp=args.amp)
    if args.channels_last:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + \
            [dict(type='ChannelsLastHook')]
    if args.cudnn_benchmark:
        cfg.setdefault('env_cfg', {})['cudnn_benchmark'] = True
    return cfg


def run_suite(args):
    """The GPU suite (``tools.benchmarking.suite``): writes suite.json/suite.md."""
    if not args.out:
        sys.exit('suite: --out DIR is required')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    report = suite.run_suite(args.out, device=device, tiny=args.tiny,
                             budget_s=args.budget_s)
    print(suite.markdown(report))
    return report


def run_video_mode(args):
    """The whole video pipeline (``tools.benchmarking.video_pipeline``): a table of
    frames/s per number of people and detector interval."""
    if len(args.size) != 2:
        sys.exit(f'--size: expected W,H, got {args.size}')
    register_all_modules()
    result = video_pipeline.run_video(args.config, args.det, args.det_weights, args.pose3d,
                                      args.people, args.det_interval, args.frames,
                                      tuple(args.size), args.backend[0])
    result['loadavg'] = bench.load_average()
    print(video_pipeline.format_video(result))
    if args.json_out:
        write_json(args.json_out, result)
    return result


def run(args):
    """Run one benchmark; returns the result dict."""
    register_all_modules()
    cfg = prepare_config(args)
    if args.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    iters, warmup = DEFAULT_ITERS[args.mode]
    sizes = args.batch_size or [None]
    if len(sizes) > 1 and args.mode != 'inference':
        raise SystemExit(f'{args.mode}: one --batch-size only (several: inference mode)')
    if args.precision != ['float32'] and args.mode != 'inference':
        raise SystemExit(f'{args.mode}: --precision is an inference option (training: '
                         '--amp)')
    kwargs = dict(iters=args.iters or iters,
                  warmup=warmup if args.warmup is None else args.warmup,
                  batch_size=sizes[0], device=device)
    if args.mode == 'train-step' and args.nproc > 1:
        if device != 'cpu' or args.compile:
            raise SystemExit('train-step --nproc: CPU processes only, without --compile '
                             '(GPUs: tools/dist_train.sh)')
        kwargs.pop('device')
        return with_roofline(args, cfg, ddp.bench_train_step_nproc(
            cfg, args.nproc, baseline_allocator=args.baseline_allocator,
            config_path=args.config, cfg_options=args.cfg_options, **kwargs))
    if args.mode == 'train-step':
        return with_roofline(args, cfg, bench.bench_train_step(
            cfg, compile_model=args.compile, baseline_allocator=args.baseline_allocator,
            config_path=args.config, cfg_options=args.cfg_options, **kwargs))
    if args.mode == 'pipeline':
        return bench.bench_pipeline(cfg, **kwargs)
    if args.mode == 'sampler':
        return bench.bench_sampler(cfg, **kwargs)
    if args.mode == 'allocator':
        return bench.bench_allocator(cfg, args.config, args.cfg_options,
                                     allocators=args.allocators, workload=args.workload,
                                     threads=torch.get_num_threads(), **kwargs)
    if args.mode == 'inference':
        kwargs['batch_size'] = sizes[0] or 4
        return with_roofline(args, cfg, bench.bench_inference(
            cfg, channels_last=args.channels_last, backends=args.backend,
            batch_sizes=args.batch_size, precisions=args.precision, **kwargs))
    if args.synthetic_gb:
        kwargs['iters'] = args.iters   # default: one full epoch over the file
        return bench.bench_loader_synthetic(cfg, args.synthetic_gb, tmp_dir=args.tmp_dir,
                                            num_workers=args.num_workers, **kwargs)
    return bench.bench_loader(cfg, num_workers=args.num_workers, **kwargs)


def with_roofline(args, cfg, result):
    """``result`` with the roofline columns (``tools.benchmarking.roofline.annotate``)
    unless ``--no-roofline``: the calibration (cached per process) on the result's
    device, the FLOPs of the config's model, the training arms' autocast dtype."""
    if args.no_roofline:
        return result
    peaks = roofline.calibrate(result['device'])
    return roofline.annotate(result, peaks, roofline.forward_flops(cfg),
                             train_precision=roofline.train_dtype(cfg))


def run_roofline_only(args):
    """``--roofline-only``: the calibration alone (printed; ``--json`` writes it)."""
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    peaks = roofline.calibrate(device)
    print(table.format_roofline(peaks))
    if args.json_out:
        write_json(args.json_out, peaks)
    return peaks


def write_json(path, result):
    """``result`` as indented JSON at ``path``, written atomically (folders made)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=folder, suffix='.part')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(json.dumps(result, indent=2) + '\n')
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)


def main(argv=None):
    args = parse_args(argv)
    if args.roofline_only:
        return run_roofline_only(args)
    if args.mode is None:
        sys.exit('a mode is required (or --roofline-only)')
    if args.mode == 'suite':
        return run_suite(args)
    if not args.config:
        sys.exit(f'{args.mode}: a config is required')
    if args.mode == 'video':
        return run_video_mode(args)
    if args.synthetic_gb is not None and args.mode != 'loader':
        sys.exit('--synthetic-gb works with the loader mode only')
    loadavg_start = bench.load_average()
    try:
        result = run(args)
    except bench.ArmError as err:
        sys.exit(f'{args.mode}: {err}')
    result['loadavg_start'] = loadavg_start
    print(table.format_result(result, args.json_out))
    if args.json_out:
        write_json(args.json_out, result)
    return result


if __name__ == '__main__':
    main()
