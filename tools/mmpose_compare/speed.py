"""hpekit and MMPose side by side on a CPU: top-down inference per person, and the
training step of RTMPose-m.

The two libraries live in two virtual environments, so each side runs in its own
worker process (``--side hpekit`` under hpekit's interpreter, ``--side mmpose`` under
MMPose's); the driver (no ``--side``; any Python 3, e.g. hpekit's) starts one worker
per side and steps them alternately, one step at a time, in an order rotated every
round (the convention of ``tools.benchmarking.harness.interleaved`` and of
``tools/benchmark.py allocator``, docs/benchmarks.md "Measuring on a shared machine"):
a change of the machine's load hits every arm alike. Only one process computes at a
time; the other waits on its stdin.

Models: the full-size files of ``tools/mmpose_compare/full_size_check.py --make DIR``
(MMPose's shipped configs, dumped, with random weights: speed does not depend on the
weights' values): ``rtmpose_t``, ``rtmpose_m`` and ``hrnet_plain`` (HRNet-W32), input
256×192, the config's flip test. Both sides load the same ``NAME.py`` + ``NAME.pth``.

Arms, per model and batch size (``--batches 1,8``: the first B boxes of one image, all
in one call, i.e. one forward pass of B crops and their B mirror images):

* ``hpekit``: ``hpekit.apis.init_model(NAME.py, NAME.pth)`` and
  ``hpekit.apis.inference_topdown(model, image, boxes, batch_size=B)``;
* ``hpekit-ort``: the same with ``init_model(..., backend='onnxruntime')`` (exported
  once into ``--onnx-cache``; an export or load that fails is reported, not fatal);
* ``mmpose``: ``mmpose.apis.init_model`` and ``mmpose.apis.inference_topdown`` (MMPose
  1.3.2 in its reference environment, imported as ``tests/fixtures/mmpose/
  make_fixtures.py`` imports it), the reference of every ratio.

The image is the fixture ``tests/fixtures/mmpose/scene_a.png`` enlarged ``--image-scale``
times (default 2: 640×480) and handed over as a BGR uint8 array (``--input array``,
MMPose's convention for arrays; hpekit gets ``channel_order='bgr'``), or as the path of
that PNG (``--input path``: both decode the file for every box). The boxes (xyxy) are
the fixture's three, scaled, then seeded random ones inside the image, the same list on
both sides. Per person = the call's time / B.

Training (``--train``, default on): RTMPose-m, ``model.train()``, one
``model.train_step(batch, optim_wrapper)`` per step — the data preprocessor, forward
with the loss, backward and the config's AdamW step (mmengine's ``OptimWrapper`` built
from the config's ``optim_wrapper`` on both sides; MMPose's SyncBN reverted to BN as
its ``init_model`` does, hpekit's translation does the same). The batch (``--train-batch``
16) is built once, untimed: seeded random 256×192 images and keypoints encoded by each
side's own ``GenerateTarget`` (the config's SimCC codec) and ``PackPoseInputs``,
pseudo-collated; no data loader.

Threads: ``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)`` (ONNX Runtime's intra-op
threads follow it), ``cv2.setNumThreads(0)`` on both sides. Allocator: ``--allocator``
(default ``glibc``, PyTorch as it comes) for both workers alike
(``hpekit.runtime.allocator.allocator_env``); ``--hpekit-allocator jemalloc-retain`` gives
hpekit's worker the allocator hpekit's own tools apply. Per step each worker reports its wall
time, the stepping thread's CPU time and the process's CPU time.

Output: a Markdown table (stdout) and, with ``--json OUT``, every figure: per arm the
wall and CPU ms per person (median, p10, p90, min, max), paired ratios to ``mmpose``
(median over rounds of the per-round ratio, wall and thread CPU), training samples/s
and ``speedup`` (MMPose's step time / hpekit's: > 1 means hpekit is faster), load
averages before/after, versions, the worker logs' paths.

Example (quiet machine)::

    /work/mmpose-ref/bin/python tools/mmpose_compare/full_size_check.py \\
        --make /work/scratch/fullsize
    .venv/bin/python tools/mmpose_compare/speed.py --models /work/scratch/fullsize \\
        --rounds 20 --warmup 2 --json /work/scratch/speed.json
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURES = osp.join(ROOT, 'tests', 'fixtures', 'mmpose')
HPEKIT_PYTHON = osp.join(ROOT, '.venv', 'bin', 'python')
MMPOSE_PYTHON = '/work/mmpose-ref/bin/python'

INFER_MODELS = ('rtmpose_t', 'rtmpose_m', 'hrnet_plain')
LABELS = {'rtmpose_t': 'RTMPose-t', 'rtmpose_m': 'RTMPose-m', 'hrnet_plain': 'HRNet-W32'}
TRAIN_MODEL = 'rtmpose_m'
SIDES = {'hpekit': ('hpekit', 'hpekit-ort'), 'mmpose': ('mmpose',)}
REFERENCE = 'mmpose'


# ============================================================================ worker


def _now():
    return time.perf_counter(), time.thread_time(), time.process_time()


def _quiet_stdout():
    """The protocol keeps the real stdout; everything else printed (loggers, C code)
    goes to stderr (the worker's log file)."""
    proto = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def _scene(spec):
    import cv2
    img = cv2.imread(spec['image'], cv2.IMREAD_COLOR)   # BGR
    if img is None:
        raise FileNotFoundError(spec['image'])
    return img


def _mmpose_modules():
    """MMPose 1.3.2 as the fixture script imports it (placeholders for ``mmcv.ops`` /
    ``mmdet``, a bare ``mmpose.apis`` package, ``init_default_scope('mmpose')``)."""
    sys.path.insert(0, FIXTURES)
    import make_fixtures as fx
    import torch
    # the fixture script asks for deterministic algorithms; a user's MMPose does not
    torch.use_deterministic_algorithms(False)
    return fx


def _train_data(spec, side, cfg, gen_target, pack):
    """B packed samples of random images and keypoints (the same on both sides)."""
    import numpy as np
    from mmengine.dataset import pseudo_collate
    rng = np.random.default_rng(spec['seed'])
    w, h = spec['input_size']
    k = 17
    items = []
    for _ in range(spec['train_batch']):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        kpts = np.stack([rng.uniform(0, w - 1, k), rng.uniform(0, h - 1, k)], -1)
        vis = (rng.uniform(size=k) > 0.15).astype(np.float32)
        if side == 'mmpose':
            results = dict(img=img, img_shape=(h, w), ori_shape=(h, w), input_size=(w, h),
                           keypoints=kpts[None].astype(np.float32),
                           keypoints_visible=vis[None], id=0, img_id=0,
                           input_center=np.array([w / 2, h / 2], np.float32),
                           input_scale=np.array([w, h], np.float32),
                           bbox=np.array([[0, 0, w, h]], np.float32),
                           bbox_score=np.ones(1, np.float32))
        else:
            results = dict(img=img, input_size=(w, h), crop_grid='origin',
                           keypoints=kpts.astype(np.float32),
                           keypoints_input=kpts.astype(np.float32), keypoints_visible=vis,
                           center=np.array([w / 2, h / 2], np.float32),
                           bbox_size=np.array([w, h], np.float32))
        items.append(pack(gen_target(results)))
    return pseudo_collate(items)


def build_side(spec):
    """{arm name: {'step': callable, 'persons': int}} and {arm: error} for this side."""
    import cv2
    import numpy as np
    import torch
    torch.set_num_threads(spec['threads'])
    cv2.setNumThreads(0)
    side, models_dir = spec['side'], spec['models_dir']
    image = _scene(spec)
    if spec['input'] == 'path':
        image = spec['image']
    boxes_all = np.asarray(spec['boxes'], np.float32)
    steps, errors, versions = {}, {}, {}

    def cfg_ckpt(name):
        return osp.join(models_dir, f'{name}.py'), osp.join(models_dir, f'{name}.pth')

    if side == 'hpekit':
        import mmengine
        from mmengine.optim import build_optim_wrapper

        import hpekit
        from hpekit.apis import inference_topdown, init_model
        from hpekit.apis.model import load_weights
        from hpekit.config.setup import load_config
        from hpekit.registry import MODELS, TRANSFORMS
        from hpekit.utils import register_all_modules
        versions.update(hpekit=getattr(hpekit, '__version__', '?'))
        try:
            import onnxruntime
            versions['onnxruntime'] = onnxruntime.__version__
        except ImportError:
            pass
        kwargs = dict(bbox_format='xyxy')
        if spec['input'] == 'array':
            kwargs['channel_order'] = 'bgr'
        for name in spec['infer_models']:
            config, ckpt = cfg_ckpt(name)
            built = {'hpekit': lambda: init_model(config, ckpt)}
            if 'hpekit-ort' in spec['arms']:
                built['hpekit-ort'] = lambda: init_model(
                    config, ckpt, backend='onnxruntime', onnx_cache_dir=spec['onnx_cache'])
            for arm, build in built.items():
                if arm not in spec['arms']:
                    continue
                try:
                    model = build()
                except Exception as err:  # noqa: BLE001 (reported, the others go on)
                    errors[f'{name}/{arm}'] = f'{type(err).__name__}: {err}'[:600]
                    continue
                for b in spec['batches']:
                    boxes = boxes_all[:b]
                    steps[f'{name}/b{b}/{arm}'] = dict(persons=b, step=(
                        lambda m=model, x=boxes, b=b: inference_topdown(
                            m, image, x, batch_size=b, **kwargs)))
        if spec['train'] and 'hpekit' in spec['arms']:
            register_all_modules()
            config, ckpt = cfg_ckpt(TRAIN_MODEL)
            cfg = load_config(config)
            model = MODELS.build(cfg.model)
            load_weights(model, ckpt)
            model.train()
            wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
            gen = TRANSFORMS.build(next(t for t in cfg.train_dataloader.dataset.pipeline
                                        if t['type'] == 'GenerateTarget'))
            pack = TRANSFORMS.build(dict(type='PackPoseInputs'))
            data = _train_data(spec, side, cfg, gen, pack)
            steps[f'train/{TRAIN_MODEL}/b{spec["train_batch"]}/hpekit'] = dict(
                persons=spec['train_batch'], step=lambda: model.train_step(data, wrapper))
    else:
        fx = _mmpose_modules()
        import mmcv
        import mmengine
        import mmpose
        from mmengine.config import Config
        from mmengine.model import revert_sync_batchnorm
        from mmengine.optim import build_optim_wrapper
        from mmengine.runner import load_checkpoint
        from mmpose.registry import MODELS, TRANSFORMS
        versions.update(mmpose=mmpose.__version__, mmcv=mmcv.__version__)

        def mm_config(name):
            config, ckpt = cfg_ckpt(name)
            cfg = Config.fromfile(config)
            # mmdet is absent; MMPose registers an identical CSPNeXt
            cfg.model.backbone.pop('_scope_', None)
            return cfg, ckpt

        if 'mmpose' in spec['arms']:
            for name in spec['infer_models']:
                cfg, ckpt = mm_config(name)
                try:
                    model = fx.init_model(cfg, ckpt, device='cpu')
                except Exception as err:  # noqa: BLE001
                    errors[f'{name}/mmpose'] = f'{type(err).__name__}: {err}'[:600]
                    continue
                for b in spec['batches']:
                    boxes = boxes_all[:b]
                    steps[f'{name}/b{b}/mmpose'] = dict(persons=b, step=(
                        lambda m=model, x=boxes: fx.inference_topdown(
                            m, image, x, bbox_format='xyxy')))
            if spec['train']:
                cfg, ckpt = mm_config(TRAIN_MODEL)
                cfg.model.backbone.init_cfg = None
                model = revert_sync_batchnorm(MODELS.build(cfg.model))
                load_checkpoint(model, ckpt, map_location='cpu', logger='silent')
                model.train()
                wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
                gen = TRANSFORMS.build(next(t for t in cfg.train_dataloader.dataset.pipeline
                                            if t['type'] == 'GenerateTarget'))
                pack = TRANSFORMS.build(dict(type='PackPoseInputs'))
                data = _train_data(spec, side, cfg, gen, pack)
                steps[f'train/{TRAIN_MODEL}/b{spec["train_batch"]}/mmpose'] = dict(
                    persons=spec['train_batch'], step=lambda: model.train_step(data, wrapper))
    versions.update(torch=torch.__version__, mmengine=mmengine.__version__,
                    numpy=np.__version__, cv2=cv2.__version__,
                    python=platform.python_version())
    return steps, errors, versions


def worker(spec):
    proto = _quiet_stdout()
    try:
        steps, errors, versions = build_side(spec)
    except Exception as err:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print(json.dumps({'ready': False, 'error': f'{type(err).__name__}: {err}'}),
              file=proto, flush=True)
        return 1
    import torch
    print(json.dumps({'ready': True, 'pid': os.getpid(), 'arms': sorted(steps),
                      'persons': {k: v['persons'] for k, v in steps.items()},
                      'errors': errors, 'versions': versions,
                      'torch_threads': torch.get_num_threads(),
                      'allocator_env': {k: os.environ.get(k) for k in
                                        ('LD_PRELOAD', 'MALLOC_CONF', 'GLIBC_TUNABLES')}}),
          file=proto, flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != 'step':
            break
        arm = words[1]
        try:
            w0, c0, p0 = _now()
            steps[arm]['step']()
            w1, c1, p1 = _now()
            record = {'wall_ms': 1e3 * (w1 - w0), 'cpu_ms': 1e3 * (c1 - c0),
                      'proc_cpu_ms': 1e3 * (p1 - p0)}
        except Exception as err:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            record = {'error': f'{type(err).__name__}: {err}'[:600]}
        print(json.dumps(record), file=proto, flush=True)
    return 0


# ============================================================================ driver


def make_boxes(width, height, scale, count, seed=0):
    """The fixture's boxes of scene_a scaled, then seeded random ones inside the image
    (height 25–70 % of the image's, aspect w/h 0.35–0.8), ``count`` in all."""
    import numpy as np
    with open(osp.join(FIXTURES, 'images.json'), encoding='utf-8') as f:
        fixture = json.load(f)['scene_a']['bboxes_xyxy']
    boxes = [[float(v) * scale for v in box] for box in fixture]
    rng = np.random.default_rng(seed)
    while len(boxes) < count:
        bh = rng.uniform(0.25, 0.7) * height
        bw = bh * rng.uniform(0.35, 0.8)
        x1, y1 = rng.uniform(0, width - bw), rng.uniform(0, height - bh)
        boxes.append([round(x1, 2), round(y1, 2), round(x1 + bw, 2), round(y1 + bh, 2)])
    return boxes[:count]


class Worker:
    """One side's worker process; ``step(arm)`` → its record."""

    def __init__(self, side, python, spec, env, log_path):
        self.side, self.log_path = side, log_path
        self.log = open(log_path, 'w', encoding='utf-8')
        self.proc = subprocess.Popen(
            [python, osp.abspath(__file__), '--side', side, '--spec',
             json.dumps(dict(spec, side=side))],
            env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True, bufsize=1)
        self.ready = self._line()
        if not self.ready.get('ready'):
            raise RuntimeError(f'{side} worker failed: {self.ready.get("error")}; see '
                               f'{log_path}')

    def _line(self):
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=60)
            raise RuntimeError(f'{self.side} worker exited ({code}); see {self.log_path}')
        return json.loads(line)

    def step(self, arm):
        self.proc.stdin.write(f'step {arm}\n')
        self.proc.stdin.flush()
        return self._line()

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
        self.log.close()


def _stats(values):
    import numpy as np
    values = np.asarray(values, np.float64)
    return {'median': float(np.median(values)), 'p10': float(np.percentile(values, 10)),
            'p90': float(np.percentile(values, 90)), 'min': float(values.min()),
            'max': float(values.max())}


def _load():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def worker_env(allocator, threads):
    sys.path.insert(0, ROOT)
    from hpekit.runtime.allocator import OPT_OUT, allocator_env
    env = allocator_env(allocator)
    env.update({OPT_OUT: '1', 'OMP_NUM_THREADS': str(threads),
                'MKL_NUM_THREADS': str(threads), 'OPENBLAS_NUM_THREADS': str(threads),
                'PYTHONWARNINGS': 'ignore'})
    env.pop('PYTHONPATH', None)
    return env


def run(args):
    import cv2
    import numpy as np
    os.makedirs(args.out_dir, exist_ok=True)
    img = cv2.imread(osp.join(FIXTURES, 'scene_a.png'), cv2.IMREAD_COLOR)
    if args.image_scale != 1:
        img = cv2.resize(img, None, fx=args.image_scale, fy=args.image_scale,
                         interpolation=cv2.INTER_LINEAR)
    image_path = osp.join(args.out_dir, 'scene.png')
    cv2.imwrite(image_path, img)
    height, width = img.shape[:2]
    boxes = make_boxes(width, height, args.image_scale, max(args.batches))
    spec = dict(models_dir=osp.abspath(args.models), infer_models=args.infer_models,
                batches=args.batches, arms=args.arms, train=args.train,
                train_batch=args.train_batch, input_size=[192, 256], seed=0,
                image=image_path, input=args.input, boxes=boxes, threads=args.threads,
                onnx_cache=osp.abspath(args.onnx_cache or osp.join(args.models, 'onnx')))
    envs = {'hpekit': worker_env(args.hpekit_allocator or args.allocator, args.threads),
            'mmpose': worker_env(args.allocator, args.threads)}
    pythons = {'hpekit': args.hpekit_python, 'mmpose': args.mmpose_python}
    sides = [s for s in ('hpekit', 'mmpose') if set(SIDES[s]) & set(args.arms)]
    workers, started = {}, time.perf_counter()
    try:
        for side in sides:
            workers[side] = Worker(side, pythons[side], spec, envs[side],
                                   osp.join(args.out_dir, f'worker_{side}.log'))
            print(f'{side} worker ready: {len(workers[side].ready["arms"])} arms, '
                  f'errors {workers[side].ready["errors"] or "none"}', file=sys.stderr,
                  flush=True)
        owner = {arm: side for side, w in workers.items() for arm in w.ready['arms']}
        persons = {arm: w.ready['persons'][arm] for w in workers.values()
                   for arm in w.ready['arms']}
        groups = {}
        for arm in owner:
            group, _, name = arm.rpartition('/')
            groups.setdefault(group, []).append(arm)
        order = {'hpekit': 0, 'hpekit-ort': 1, 'mmpose': 2}
        for group in groups:
            groups[group].sort(key=lambda a: order[a.rpartition('/')[2]])
        records = {arm: [] for arm in owner}
        failures = {}
        load_before = _load()
        for r in range(args.warmup + args.rounds):
            for group, arms in groups.items():
                shift = r % len(arms)
                for arm in arms[shift:] + arms[:shift]:
                    if arm in failures:
                        continue
                    rec = workers[owner[arm]].step(arm)
                    if 'error' in rec:
                        failures[arm] = rec['error']
                    elif r >= args.warmup:
                        records[arm].append(rec)
            print(f'round {r + 1}/{args.warmup + args.rounds} done '
                  f'({time.perf_counter() - started:.0f} s, load {_load()})',
                  file=sys.stderr, flush=True)
        load_after = _load()
    finally:
        for w in workers.values():
            w.close()

    result = {'date': datetime.datetime.now(datetime.timezone.utc).isoformat(
                  timespec='seconds'),
              'machine': {'cpus': os.cpu_count(), 'cpu': _cpu_name(),
                          'platform': platform.platform()},
              'loadavg': [load_before, load_after], 'rounds': args.rounds,
              'warmup': args.warmup, 'threads': args.threads,
              'allocator': {'hpekit': args.hpekit_allocator or args.allocator,
                            'mmpose': args.allocator},
              'input': args.input, 'image_size': [width, height], 'boxes': boxes,
              'versions': {s: w.ready['versions'] for s, w in workers.items()},
              'build_errors': {s: w.ready['errors'] for s, w in workers.items()},
              'step_errors': failures,
              'logs': {s: w.log_path for s, w in workers.items()}, 'groups': {}}
    for group, arms in groups.items():
        entry = {'arms': {}}
        ref = next((a for a in arms if a.endswith('/' + REFERENCE) and records[a]), None)
        for arm in arms:
            recs = records[arm]
            if not recs:
                continue
            n = persons[arm]
            wall = [x['wall_ms'] for x in recs]
            cpu = [x['cpu_ms'] for x in recs]
            pcpu = [x['proc_cpu_ms'] for x in recs]
            a = {'persons': n, 'steps': len(recs),
                 'wall_ms': _stats(wall), 'cpu_ms': _stats(cpu),
                 'proc_cpu_ms': _stats(pcpu),
                 'wall_ms_per_person': _stats(np.divide(wall, n)),
                 'cpu_ms_per_person': _stats(np.divide(cpu, n)),
                 'proc_cpu_ms_per_person': _stats(np.divide(pcpu, n)),
                 'samples_per_s': n * 1e3 / float(np.median(wall)),
                 'samples_per_cpu_s': n * 1e3 / float(np.median(pcpu))}
            if ref and arm != ref and len(records[ref]) == len(recs):
                rw = [x['wall_ms'] for x in records[ref]]
                rc = [x['cpu_ms'] for x in records[ref]]
                rp = [x['proc_cpu_ms'] for x in records[ref]]
                a['ratio_to_mmpose'] = {
                    'wall_paired': float(np.median(np.divide(wall, rw))),
                    'cpu_paired': float(np.median(np.divide(cpu, np.maximum(rc, 1e-9)))),
                    'proc_cpu_paired': float(np.median(np.divide(pcpu,
                                                                 np.maximum(rp, 1e-9)))),
                    'wall_of_medians': float(np.median(wall) / np.median(rw))}
            entry['arms'][arm.rpartition('/')[2]] = a
        result['groups'][group] = entry
    return result


def _cpu_name():
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(result):
    lines = ['| model, persons | arm | wall ms / person: median (p10–p90) | CPU ms / person '
             '(process) | vs MMPose: wall, paired | vs MMPose: CPU, paired |',
             '|---|---|---|---|---|---|']
    train = []
    for group, entry in result['groups'].items():
        if group.startswith('train/'):
            train.append((group, entry))
            continue
        name, batch = group.split('/')
        for arm, a in entry['arms'].items():
            w, ratio = a['wall_ms_per_person'], a.get('ratio_to_mmpose')
            lines.append(
                f"| {LABELS.get(name, name)}, {batch[1:]} | {arm} | {w['median']:.1f} "
                f"({w['p10']:.1f}–{w['p90']:.1f}) | {a['proc_cpu_ms_per_person']['median']:.1f}"
                f" | {_ratio(ratio, 'wall_paired')} | {_ratio(ratio, 'proc_cpu_paired')} |")
    if train:
        lines += ['', '| training step | arm | samples/s (wall) | step ms: median '
                  '(p10–p90) | samples / CPU-second | speed vs MMPose: wall, paired | '
                  'speed vs MMPose: CPU, paired |', '|---|---|---|---|---|---|---|']
        for group, entry in train:
            _, name, batch = group.split('/')
            for arm, a in entry['arms'].items():
                w, ratio = a['wall_ms'], a.get('ratio_to_mmpose')
                speed = {k: 1 / v for k, v in ratio.items()} if ratio else None
                lines.append(
                    f"| {LABELS.get(name, name)}, batch {batch[1:]} | {arm} | "
                    f"{a['samples_per_s']:.2f} | {w['median']:.0f} ({w['p10']:.0f}–"
                    f"{w['p90']:.0f}) | {a['samples_per_cpu_s']:.2f} | "
                    f"{_ratio(speed, 'wall_paired')} | {_ratio(speed, 'proc_cpu_paired')} |")
    lines.append('')
    lines.append(f"{result['date']}; {result['machine']['cpus']} CPUs "
                 f"({result['machine']['cpu']}); load {result['loadavg'][0]} → "
                 f"{result['loadavg'][1]}; {result['rounds']} rounds after "
                 f"{result['warmup']} warm-up; {result['threads']} thread(s) per side; "
                 f"allocator hpekit {result['allocator']['hpekit']}, MMPose "
                 f"{result['allocator']['mmpose']}; image {result['image_size'][0]}×"
                 f"{result['image_size'][1]} as {result['input']}")
    for side, errors in result['build_errors'].items():
        for arm, err in errors.items():
            lines.append(f'- not measured: {arm} ({side}): {err}')
    for arm, err in result['step_errors'].items():
        lines.append(f'- failed while stepping: {arm}: {err}')
    return '\n'.join(lines)


def _ratio(ratio, key):
    return f'{ratio[key]:.2f}×' if ratio else '—'


def _list(kind):
    def parse(text):
        values = [v.strip() for v in text.split(',') if v.strip()]
        return [kind(v) for v in values]
    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--side', choices=sorted(SIDES), help='(worker) run one side')
    parser.add_argument('--spec', help='(worker) JSON spec from the driver')
    parser.add_argument('--models', default='/work/scratch/fullsize',
                        help='the folder of full_size_check.py --make')
    parser.add_argument('--infer-models', type=_list(str), default=list(INFER_MODELS),
                        help=f'comma-separated, of {",".join(INFER_MODELS)}')
    parser.add_argument('--batches', type=_list(int), default=[1, 8],
                        help='persons per call (comma-separated)')
    parser.add_argument('--arms', type=_list(str), default=['hpekit', 'hpekit-ort', 'mmpose'])
    parser.add_argument('--no-train', dest='train', action='store_false')
    parser.add_argument('--no-infer', action='store_true', help='training only')
    parser.add_argument('--train-batch', type=int, default=16)
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--allocator', default='glibc',
                        help='for both workers: glibc, glibc-tuned, jemalloc, jemalloc-retain')
    parser.add_argument('--hpekit-allocator', default=None,
                        help="hpekit's worker only (default: --allocator), e.g. "
                        "jemalloc-retain as hpekit's tools apply it")
    parser.add_argument('--input', choices=('array', 'path'), default='array')
    parser.add_argument('--image-scale', type=float, default=2.0)
    parser.add_argument('--onnx-cache', default=None,
                        help='ONNX export cache (default MODELS/onnx)')
    parser.add_argument('--hpekit-python', default=HPEKIT_PYTHON)
    parser.add_argument('--mmpose-python', default=MMPOSE_PYTHON)
    parser.add_argument('--out-dir', default='/work/scratch/mmpose_speed',
                        help='the enlarged image and the workers\' logs')
    parser.add_argument('--json', metavar='OUT', help='write every figure here')
    args = parser.parse_args(argv)
    if args.side:
        return worker(json.loads(args.spec))
    if args.no_infer:
        args.infer_models = []
    result = run(args)
    print(table(result))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
