"""The full-size check: MMPose's shipped configs at their real sizes, run by MMPose and by
hpekit, give the same outputs and keypoints.

``tests/apis/test_mmpose_equal.py`` compares hpekit with MMPose on *small-width*
variants of MMPose's configs (``tests/fixtures/mmpose``, committed). This script does the
same at full size — the shipped widths, depths and 256×192 input — where the files are
too big to commit. It has two halves, run by two interpreters:

``--make DIR`` (MMPose's reference environment, never hpekit's)::

    /work/mmpose-ref/bin/python tools/mmpose_compare/full_size_check.py \\
        --make /work/scratch/fullsize

builds, for each variant of ``VARIANTS`` — HRNet-W32 (``td-hm_hrnet-w32_8xb64-210e_
coco-256x192``, its UDP and DARK variants), RTMPose-t and -m (``rtmpose-t/m_8xb256-420e_
coco-256x192``) and SimpleBaseline ResNet-50 (``td-hm_res50_8xb64-210e_coco-256x192``) —
MMPose's shipped config as it is, a seeded random model with every BatchNorm perturbed
and the last layer scaled exactly as ``tests/fixtures/mmpose/make_fixtures.py`` does
(its ``perturb_and_scale``, imported from there along with its stand-ins for
``mmcv.ops`` / ``mmdet`` and its bare ``mmpose.apis`` package), and writes to DIR:

* ``NAME.py``: the merged config (``Config.dump`` of the shipped file, nothing changed);
* ``NAME.pth``: ``{'meta': {...}, 'state_dict': ...}`` (plain-typed meta, loadable with
  ``weights_only=True``);
* ``NAME.npz``: ``inputs`` [2, 3, 256, 192] (float16-exact, already normalised), the
  ``model(inputs, None, mode='tensor')`` outputs (``heatmaps`` or ``simcc_x`` /
  ``simcc_y``), and for the two fixture images (``tests/fixtures/mmpose/scene_*.png``,
  the boxes of ``images.json``) ``bboxes_<img>``, ``keypoints_<img>`` and
  ``keypoint_scores_<img>`` from ``mmpose.apis.inference_topdown`` (the config's flip
  test), the model loaded back through ``mmpose.apis.init_model(NAME.py, NAME.pth)``;
* ``manifest.json``: versions, date, seeds, shipped config paths, parameter counts.

``--check DIR`` (hpekit's environment)::

    .venv/bin/python tools/mmpose_compare/full_size_check.py --check /work/scratch/fullsize

loads every ``NAME.py`` + ``NAME.pth`` through ``hpekit.apis.init_model`` (the MMPose
config translated; nothing edited) and prints a Markdown table: the tensor outputs' max
absolute difference relative to the output's range, and over all persons and keypoints
of both images the median / 97th-percentile / max keypoint error (image px), the share
within 0.5 px, and the max score difference; ``ok`` is whether the parity test's bounds
hold (tensor ≤ 1e-4 of the range, median ≤ 0.05 px, ≥ 97 % within 0.5 px, scores within
1e-3). Exit status 1 when a variant misses them. ``--json OUT`` writes the figures.
``--shipped`` loads MMPose's shipped config file itself (``manifest.json`` names it;
it must be readable from here) instead of the dumped copy.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURES = osp.join(ROOT, 'tests', 'fixtures', 'mmpose')

# name, shipped config (relative to mmpose/.mim/configs), seed
VARIANTS = [
    ('hrnet_plain', 'body_2d_keypoint/topdown_heatmap/coco/'
     'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py', 221),
    ('hrnet_udp', 'body_2d_keypoint/topdown_heatmap/coco/'
     'td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192.py', 202),
    ('hrnet_dark', 'body_2d_keypoint/topdown_heatmap/coco/'
     'td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192.py', 203),
    ('rtmpose_t', 'body_2d_keypoint/rtmpose/coco/'
     'rtmpose-t_8xb256-420e_coco-256x192.py', 204),
    ('rtmpose_m', 'body_2d_keypoint/rtmpose/coco/'
     'rtmpose-m_8xb256-420e_coco-256x192.py', 205),
    ('res50', 'body_2d_keypoint/topdown_heatmap/coco/'
     'td-hm_res50_8xb64-210e_coco-256x192.py', 206),
]
INPUT_HW = (256, 192)

# the bounds of tests/apis/test_mmpose_equal.py
TENSOR_REL_TOL = 1e-4
MEDIAN_PX = 0.05
WITHIN_PX, WITHIN_SHARE = 0.5, 0.97
SCORE_TOL = 1e-3


def _images():
    with open(osp.join(FIXTURES, 'images.json'), encoding='utf-8') as f:
        return json.load(f)


# ---------------------------------------------------------------------- make (MMPose)


def make(out_dir, names=None):
    """The MMPose half: run in MMPose's environment."""
    sys.path.insert(0, FIXTURES)
    # Importing the fixture script installs its placeholders (mmcv.ops, mmdet), the
    # bare mmpose.apis package, init_default_scope('mmpose'), one torch thread and
    # deterministic algorithms; its main() is not run.
    import make_fixtures as fx
    import mmcv
    import mmengine
    import mmpose
    import numpy as np
    import torch
    from mmengine.config import Config

    os.makedirs(out_dir, exist_ok=True)
    images = _images()
    manifest = {
        'made': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'mmpose_version': mmpose.__version__, 'mmengine_version': mmengine.__version__,
        'mmcv_version': mmcv.__version__, 'torch_version': torch.__version__,
        'python': sys.version.split()[0], 'torch_threads': torch.get_num_threads(),
        'config_root': fx.CONFIG_ROOT, 'variants': {},
    }
    for name, rel_path, seed in VARIANTS:
        if names and name not in names:
            continue
        start = time.perf_counter()
        shipped = osp.join(fx.CONFIG_ROOT, rel_path)
        cfg_path = osp.join(out_dir, f'{name}.py')
        Config.fromfile(shipped).dump(cfg_path)
        # the reference is built from the dumped file, as a user would load it;
        # mmdet is absent here and MMPose registers an identical CSPNeXt
        ref_cfg = Config.fromfile(cfg_path)
        ref_cfg.model.backbone.pop('_scope_', None)

        torch.manual_seed(seed)
        model = fx.init_model(ref_cfg.copy(), None, device='cpu')
        g = torch.Generator().manual_seed(seed + 2000)
        inputs = torch.randn(2, 3, *INPUT_HW, generator=g).mul(2).round().div(2)
        assert torch.equal(inputs.half().float(), inputs)
        calib = torch.cat([inputs, torch.nn.functional.avg_pool2d(
            inputs, 9, stride=1, padding=4, count_include_pad=False) * 3])
        gen = torch.Generator().manual_seed(seed + 1000)
        fx.perturb_and_scale(model, name, gen, calib)
        ckpt_path = osp.join(out_dir, f'{name}.pth')
        meta = {'mmpose_version': mmpose.__version__,
                'mmengine_version': mmengine.__version__,
                'torch_version': torch.__version__.split('+')[0],
                'config': f'{name}.py', 'source_config': rel_path, 'seed': seed,
                'note': 'random weights for the full-size check, BN perturbed'}
        state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
        params = sum(p.numel() for p in model.parameters())
        torch.save({'meta': meta, 'state_dict': state}, ckpt_path)
        del model

        model = fx.init_model(ref_cfg.copy(), ckpt_path, device='cpu')
        arrays = {'inputs': inputs.numpy()}
        with torch.no_grad():
            outs = model(inputs, None, mode='tensor')
        if isinstance(outs, (tuple, list)):
            arrays['simcc_x'], arrays['simcc_y'] = outs[0].numpy(), outs[1].numpy()
        else:
            arrays['heatmaps'] = outs.numpy()
        for img_name, info in images.items():
            bboxes = np.array(info['bboxes_xyxy'], dtype=np.float32)
            results = fx.inference_topdown(model, osp.join(FIXTURES, info['file']), bboxes,
                                           bbox_format='xyxy')
            arrays[f'bboxes_{img_name}'] = bboxes
            arrays[f'keypoints_{img_name}'] = np.concatenate(
                [r.pred_instances.keypoints for r in results])
            arrays[f'keypoint_scores_{img_name}'] = np.concatenate(
                [r.pred_instances.keypoint_scores for r in results])
        arrays = {k: fx.f32(v) for k, v in arrays.items()}
        np.savez_compressed(osp.join(out_dir, f'{name}.npz'), **arrays)
        manifest['variants'][name] = {
            'shipped_config': shipped, 'source_config': rel_path, 'seed': seed,
            'params': params, 'ckpt_mb': round(osp.getsize(ckpt_path) / 2**20, 1),
            'outputs': {k: list(v.shape) for k, v in arrays.items()
                        if k in ('heatmaps', 'simcc_x', 'simcc_y')},
            'seconds': round(time.perf_counter() - start, 1)}
        print(name, manifest['variants'][name], flush=True)
        with open(osp.join(out_dir, 'manifest.json'), 'w', encoding='utf-8') as f:
            json.dump(manifest, f, indent=1)
            f.write('\n')


# --------------------------------------------------------------------- check (hpekit)


def check_variant(out_dir, name, entry, shipped=False):
    """hpekit against MMPose's files for one variant → dict of figures."""
    import numpy as np
    import torch

    from hpekit.apis import inference_topdown, init_model

    config = entry['shipped_config'] if shipped else osp.join(out_dir, f'{name}.py')
    ref = np.load(osp.join(out_dir, f'{name}.npz'))
    model = init_model(config, osp.join(out_dir, f'{name}.pth'))
    with torch.no_grad():
        out = model(torch.from_numpy(ref['inputs']), mode='tensor')
    if 'simcc_x' in ref:
        pairs = list(zip(('simcc_x', 'simcc_y'), out))
    else:
        pairs = [('heatmaps', out[-1])]   # hpekit's heatmap heads return a tuple of maps
    tensor = {}
    for key, got in pairs:
        want = ref[key]
        if tuple(got.shape) != want.shape:
            raise AssertionError(f'{name} {key}: shape {tuple(got.shape)} != {want.shape}')
        span = float(want.max() - want.min())
        diff = float(np.abs(got.numpy() - want).max())
        # how much the output depends on the input at all: a deep random network's
        # output is mostly its biases; errors are also given against this part
        signal = float(np.abs(want[0] - want[1]).max())
        tensor[key] = {'max_abs': diff, 'range': span, 'rel': diff / span,
                       'input_part': signal, 'rel_input_part': diff / signal}
    errors, score_errors = [], []
    for img_name, info in _images().items():
        samples = inference_topdown(model, osp.join(FIXTURES, info['file']),
                                    ref[f'bboxes_{img_name}'], bbox_format='xyxy')
        keypoints = np.concatenate([s.pred_instances.keypoints for s in samples])
        scores = np.concatenate([s.pred_instances.keypoint_scores for s in samples])
        want = ref[f'keypoints_{img_name}']
        if keypoints.shape != want.shape:
            raise AssertionError(f'{name} {img_name}: {keypoints.shape} != {want.shape}')
        errors.append(np.linalg.norm(keypoints - want, axis=-1).ravel())
        score_errors.append(np.abs(scores - ref[f'keypoint_scores_{img_name}']).ravel())
    errors, score_errors = np.concatenate(errors), np.concatenate(score_errors)
    rel = max(t['rel'] for t in tensor.values())
    rel_input = max(t['rel_input_part'] for t in tensor.values())
    row = {'name': name, 'config': entry['source_config'], 'params': entry['params'],
           'tensor': tensor, 'tensor_rel': rel, 'tensor_rel_input_part': rel_input,
           'keypoints': int(errors.size),
           'median_px': float(np.median(errors)),
           'p97_px': float(np.percentile(errors, 97)), 'max_px': float(errors.max()),
           'within_0_5': float(np.mean(errors <= WITHIN_PX)),
           'max_score_diff': float(score_errors.max()),
           'config_file': config}
    row['ok'] = bool(rel <= TENSOR_REL_TOL and row['median_px'] <= MEDIAN_PX and
                     row['within_0_5'] >= WITHIN_SHARE and
                     row['max_score_diff'] <= SCORE_TOL)
    return row


def table(rows):
    lines = ['| variant (MMPose config) | params | tensor: max abs diff / range | '
             '… / input-dependent part | keypoints | median px | 97th pct px | max px | '
             '≤ 0.5 px | max score diff | within the parity bounds |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        tensor = ', '.join(f"{k} {t['rel']:.1e}" for k, t in r['tensor'].items())
        lines.append(
            f"| {r['name']} (`{osp.splitext(osp.basename(r['config']))[0]}`) | "
            f"{r['params'] / 1e6:.1f} M | {tensor} | {r['tensor_rel_input_part']:.1e} | "
            f"{r['keypoints']} | "
            f"{r['median_px']:.1e} | {r['p97_px']:.1e} | {r['max_px']:.1e} | "
            f"{100 * r['within_0_5']:.0f} % | {r['max_score_diff']:.1e} | "
            f"{'yes' if r['ok'] else '**no**'} |")
    return '\n'.join(lines)


def check(out_dir, names=None, shipped=False, json_out=None):
    import hpekit
    import torch
    torch.set_num_threads(1)
    with open(osp.join(out_dir, 'manifest.json'), encoding='utf-8') as f:
        manifest = json.load(f)
    rows = []
    for name, entry in manifest['variants'].items():
        if names and name not in names:
            continue
        rows.append(check_variant(out_dir, name, entry, shipped))
        print(f"{name}: tensor {rows[-1]['tensor_rel']:.1e} of the range, keypoints "
              f"median {rows[-1]['median_px']:.1e} px, max {rows[-1]['max_px']:.1e} px",
              file=sys.stderr, flush=True)
    print(table(rows))
    print(f"\nMMPose {manifest['mmpose_version']} (mmengine {manifest['mmengine_version']}, "
          f"mmcv {manifest['mmcv_version']}, torch {manifest['torch_version']}), references "
          f"made {manifest['made']}; hpekit {getattr(hpekit, '__version__', '?')}, torch "
          f"{torch.__version__}, checked "
          f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}")
    if json_out:
        with open(json_out, 'w', encoding='utf-8') as f:
            json.dump({'manifest': manifest, 'rows': rows}, f, indent=1)
    return 0 if all(r['ok'] for r in rows) else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    side = parser.add_mutually_exclusive_group(required=True)
    side.add_argument('--make', metavar='DIR', help="MMPose's half (its environment)")
    side.add_argument('--check', metavar='DIR', help="hpekit's half (hpekit's environment)")
    parser.add_argument('--only', nargs='+', metavar='NAME',
                        help=f'some variants: {", ".join(v[0] for v in VARIANTS)}')
    parser.add_argument('--shipped', action='store_true',
                        help="--check: load MMPose's shipped config file, not the dump")
    parser.add_argument('--json', metavar='OUT', help='--check: write the figures here')
    args = parser.parse_args(argv)
    if args.make:
        make(args.make, args.only)
        return 0
    return check(args.check, args.only, args.shipped, args.json)


if __name__ == '__main__':
    sys.exit(main())
