"""``tools/benchmark.py suite``: every figure a GPU run should produce, in one command.

``run_suite(out_dir, device)`` writes synthetic data (MPII-format 1280×720 JPEGs and
course-format 224 px clips) under ``out_dir/data``, then measures, each entry with the
functions of ``tools.benchmarking.harness``:

- training steps (hpekit's Runner beside the plain PyTorch loop on the same model,
  ``bench_train_step``) of the 2-stack hourglass and SimpleBaseline ResNet-50: fp32,
  bf16 autocast, bf16 + channels_last, bf16 + channels_last + ``torch.compile``, and
  the hourglass at 4× its batch; the ResNet-50 + LSTM video model in fp32 and bf16
  (with the time of an epoch of the 5,964-clip course split at that rate);
- the training loaders' samples/s with N workers (``bench_loader``), beside the
  fastest training rate of their model (the model's appetite);
- inference latency per crop of the hourglass with flip test at batch 1 and 16,
  PyTorch and ONNX Runtime interleaved (``bench_inference``).

It writes ``suite.json`` (every result) and ``suite.md`` (one Markdown table) to
``out_dir``. An entry that fails is recorded with its error and the suite goes on;
entries left when ``budget_s`` is spent are recorded as skipped. ``tiny=True`` runs
the same entries on the test configs with 1–2 steps each (no ``torch.compile``, the
×4 batch only ×2),
so the whole suite is exercised on a CPU in the tests.
"""
import json
import os
import os.path as osp
import platform
import tempfile
import time
import traceback

import torch

from hpekit.config.setup import load_config, setup_train_config
from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.datasets.synthetic.mpii import write_mpii_split
from hpekit.export.onnx import onnxruntime_available
from hpekit.utils import register_all_modules
from tools.benchmarking import ROOT
from tools.benchmarking import harness as bench

COURSE_TRAIN_CLIPS = 5964   # clips in the course split's training set

FULL = dict(hg2='configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py',
            simplebaseline='configs/mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py',
            video='configs/h36m_video/r50-dense128-lstm256_b4-20e_h36m-224.py',
            train_iters=20, warmup=5, loader_iters=30, infer_iters=5,
            hg2_workers=(0, 2, 4, 8, 16), video_workers=(0, 2, 4, 8),
            mpii_images=(48, 16), clips=(64, 8, 224, 8))
TINY = dict(hg2='tests/configs/mpii_tiny.py',
            simplebaseline='tests/configs/simplebaseline_tiny.py',
            video='tests/configs/video_tiny.py',
            train_iters=1, warmup=0, loader_iters=2, infer_iters=1,
            hg2_workers=(0, 1), video_workers=(0,), mpii_images=(3, 2), clips=(6, 4, 32, 4))

TRAIN_VARIANTS = [
    dict(name='fp32'),
    dict(name='bf16', amp='bfloat16'),
    dict(name='bf16+channels_last', amp='bfloat16', channels_last=True),
    dict(name='bf16+channels_last+compile', amp='bfloat16', channels_last=True,
         compile=True),
]


def _resolve(path):
    return path if osp.isabs(path) else osp.join(ROOT, path)


def train_config(path, options, device, amp=False, channels_last=False, batch_scale=1):
    """A config as ``tools/benchmark.py train-step`` prepares it."""
    cfg = load_config(_resolve(path), options)
    setup_train_config(cfg, _resolve(path), work_dir=tempfile.gettempdir(), amp=amp)
    if channels_last:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + \
            [dict(type='ChannelsLastHook')]
    if torch.device(device).type == 'cuda':
        cfg.setdefault('env_cfg', {})['cudnn_benchmark'] = True
    cfg.train_dataloader.batch_size = cfg.train_dataloader.batch_size * batch_scale
    return cfg


def write_data(data_dir, sizes):
    """Synthetic MPII and course-format data under data_dir (kept when present)."""
    mpii, clips = osp.join(data_dir, 'mpii'), osp.join(data_dir, 'h36m')
    if not osp.isfile(osp.join(mpii, 'annotations', 'mpii_gt_val.mat')):
        write_mpii_split(mpii, *sizes['mpii_images'], seed=0, progress=False)
    if not osp.isfile(osp.join(clips, 'joint_3d_clips_valid.npy')):
        train, valid, size, frames = sizes['clips']
        write_h36m_split(clips, num_train=train, num_valid=valid, size=size,
                         num_frames=frames, progress=False)
    return mpii, clips


def data_options(root):
    return {'train_dataloader.dataset.data_root': root,
            'val_dataloader.dataset.data_root': root,
            'test_dataloader.dataset.data_root': root}


def suite_entries(sizes, mpii, clips, device):
    """(section, config key, variant name, callable → result dict) in running order."""
    entries = []
    tiny = sizes is TINY
    model_opts = {'hg2': data_options(mpii), 'simplebaseline': data_options(mpii),
                  'video': data_options(clips)}
    if not tiny:   # no ImageNet weights on a bench machine; the step time does not care
        for key in ('simplebaseline', 'video'):
            model_opts[key]['model.backbone.init_cfg'] = None
    else:          # the smallest batches that still train
        for key in model_opts:
            model_opts[key]['train_dataloader.batch_size'] = 2
    steps = dict(iters=sizes['train_iters'], warmup=sizes['warmup'], device=device)
    variants = {'hg2': TRAIN_VARIANTS + [dict(name='bf16+channels_last batch×4',
                                              amp='bfloat16', channels_last=True,
                                              batch_scale=4)],
                'simplebaseline': TRAIN_VARIANTS,
                'video': TRAIN_VARIANTS[:2]}
    for key in ('hg2', 'simplebaseline', 'video'):
        for variant in variants[key]:
            def measure(key=key, variant=variant):
                if variant.get('compile') and tiny:
                    return {'skipped': 'torch.compile is not run with --tiny'}
                scale = variant.get('batch_scale', 1)
                cfg = train_config(sizes[key], model_opts[key], device,
                                   amp=variant.get('amp', False),
                                   channels_last=variant.get('channels_last', False),
                                   batch_scale=min(scale, 2) if tiny else scale)
                result = bench.bench_train_step(cfg, compile_model=bool(
                    variant.get('compile')), **steps)
                if key == 'video':
                    result['course_epoch_s'] = COURSE_TRAIN_CLIPS / result['samples_per_s']
                return result
            entries.append(('train', key, variant['name'], measure))
    for key, workers in (('hg2', sizes['hg2_workers']), ('video', sizes['video_workers'])):
        for count in workers:
            def measure(key=key, count=count):
                cfg = train_config(sizes[key], model_opts[key], device)
                return bench.bench_loader(cfg, iters=sizes['loader_iters'],
                                          warmup=sizes['warmup'], num_workers=count)
            entries.append(('loader', key, f'{count} workers', measure))

    def inference():
        cfg = load_config(_resolve(sizes['hg2']), model_opts['hg2'])
        backends = ['pytorch'] + (['onnxruntime'] if onnxruntime_available() else [])
        return bench.bench_inference(cfg, iters=sizes['infer_iters'],
                                     warmup=min(1, sizes['warmup']),
                                     device=device, backends=backends, batch_sizes=[1, 16])
    entries.append(('inference', 'hg2', 'flip test, batch 1 and 16', inference))
    return entries


def machine_info(device):
    info = {'torch': torch.__version__, 'device': device, 'python': platform.python_version(),
            'cpu_count': os.cpu_count(), 'torch_threads': torch.get_num_threads(),
            'allocator': bench.current_allocator(), 'loadavg': bench.load_average()}
    if torch.device(device).type == 'cuda' and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
        info['cuda'] = torch.version.cuda
    return info


def run_suite(out_dir, device='cuda', tiny=False, budget_s=280.0, data_dir=None):
    """Run every entry (see the module doc); write suite.json and suite.md; return the
    JSON object."""
    register_all_modules()
    sizes = TINY if tiny else FULL
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    info = machine_info(device)
    mpii, clips = write_data(data_dir or osp.join(out_dir, 'data'), sizes)
    results = []
    for section, key, variant, measure in suite_entries(sizes, mpii, clips, device):
        entry = dict(section=section, model=key, config=sizes[key], variant=variant)
        spent = time.perf_counter() - start
        if spent > budget_s:
            entry['skipped'] = f'time budget of {budget_s:.0f} s spent'
        else:
            began = time.perf_counter()
            try:
                entry.update(measure())
            except Exception as err:   # record and go on: one bad entry spoils no other
                entry['error'] = f'{type(err).__name__}: {err}'
                entry['traceback'] = traceback.format_exc(limit=6)
            entry['seconds'] = time.perf_counter() - began
            if torch.device(device).type == 'cuda':
                torch.cuda.empty_cache()
        results.append(entry)
        print(f"[suite] {section:9s} {key:14s} {variant:30s} "
              f"{_summary(entry)}", flush=True)
    info['loadavg_end'] = bench.load_average()
    info['seconds'] = time.perf_counter() - start
    report = {'machine': info, 'tiny': tiny, 'results': results}
    _add_appetite(results)
    with open(osp.join(out_dir, 'suite.json'), 'w') as f:
        json.dump(report, f, indent=2, default=str)
    with open(osp.join(out_dir, 'suite.md'), 'w') as f:
        f.write(markdown(report))
    return report


def _summary(entry):
    if 'skipped' in entry:
        return f"skipped ({entry['skipped']})"
    if 'error' in entry:
        return f"error: {entry['error'][:80]}"
    if entry['section'] == 'inference' and 'per_sample_ms' in entry:
        return ' '.join(f'{k} {v:.1f} ms/crop' for k, v in entry['per_sample_ms'].items())
    return f"{entry.get('samples_per_s', 0):.1f} samples/s"


def _add_appetite(results):
    """Loader entries get the fastest training rate of their model (``model_samples_per_s``)
    and ``feeds`` = loader rate / that rate (≥ 1: the loader keeps up)."""
    best = {}
    for entry in results:
        if entry['section'] == 'train' and entry.get('samples_per_s'):
            best[entry['model']] = max(best.get(entry['model'], 0), entry['samples_per_s'])
    for entry in results:
        if entry['section'] == 'loader' and entry.get('samples_per_s') and \
                best.get(entry['model']):
            entry['model_samples_per_s'] = best[entry['model']]
            entry['feeds'] = entry['samples_per_s'] / best[entry['model']]


def _fmt(value, digits=1):
    return '' if value is None else f'{value:.{digits}f}'


def markdown(report):
    """The suite as one Markdown table (plus the machine line)."""
    info = report['machine']
    lines = [f"Machine: {info.get('gpu', info['device'])}, torch {info['torch']}, "
             f"{info['cpu_count']} CPUs, allocator {info['allocator']}, load average "
             f"{info['loadavg']} → {info.get('loadavg_end')}, {info['seconds']:.0f} s"
             + (' (tiny sizes: a test run, not figures)' if report['tiny'] else ''), '',
             '| section | model | variant | batch | samples/s | step ms (median) | '
             'plain loop samples/s | overhead | peak GPU MB | notes |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for e in report['results']:
        notes = []
        if 'skipped' in e:
            notes.append(f"skipped: {e['skipped']}")
        if 'error' in e:
            notes.append(f"error: {e['error'][:100]}")
        if 'course_epoch_s' in e:
            notes.append(f"5,964-clip epoch {e['course_epoch_s']:.0f} s")
        if 'feeds' in e:
            notes.append(f"{e['feeds']:.2f}× the model's {e['model_samples_per_s']:.0f}/s")
        if 'per_sample_ms' in e:
            notes.append(', '.join(f'{k}: {v:.1f} ms/crop'
                                   for k, v in e['per_sample_ms'].items()))
        plain = (e.get('plain') or {}).get('samples_per_s')
        lines.append('| ' + ' | '.join([
            e['section'], e['model'], e['variant'], str(e.get('batch_size', '')),
            _fmt(e.get('samples_per_s')), _fmt((e.get('step_ms') or {}).get('median')),
            _fmt(plain), _fmt(e.get('overhead'), 3), _fmt(e.get('peak_gpu_mb'), 0),
            '; '.join(notes)]) + ' |')
    return '\n'.join(lines) + '\n'
