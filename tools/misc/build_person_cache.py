"""Build the pre-cropped person cache of a top-down config (docs/person_cache.md).

``python tools/misc/build_person_cache.py CONFIG [--split train] [--out DIR]
[--encoding jpeg|png|raw] [--quality 95] [--full-resolution] [--workers N]
[--preview N] [--cfg-options ...]``

Decodes every image of the split's dataset once and stores, for each person record
(and each half-body box the pipeline's ``RandomHalfBody`` can choose), the crop
covering every box scale and rotation the pipeline's ``TopdownAffine`` can draw, at
the resolution the smallest box draw needs (``hpekit.datasets.person_cache``). Writes
``index.json`` (settings, annotation file and counts, readable), ``entries.npz`` (one
row per crop) and ``crops.bin`` (the crops) to ``DIR`` (default
``<data_root>/person_cache/<split>``), and with ``--preview N`` the first N crops as
image files under ``DIR/preview/``. Train with the cache through ``LoadPersonCrop``
(e.g. ``configs/mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256-personcache.py``).
"""
import argparse
import os
import os.path as osp
import sys
import time

from mmengine.config import DictAction

from hpekit.config.setup import load_config
from hpekit.datasets.person_cache import (ENCODINGS, KINDS, PersonCache, build_person_cache,
                                          settings_from_pipeline)
from hpekit.registry import DATASETS
from hpekit.utils import register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Build a pre-cropped person cache.')
    parser.add_argument('config', help='config file path or shipped config name')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train',
                        help='whose <split>_dataloader dataset and pipeline (default train)')
    parser.add_argument('--out', help='cache folder (default <data_root>/person_cache/<split>)')
    parser.add_argument('--encoding', choices=ENCODINGS, default='jpeg',
                        help='jpeg (default; 4:2:0, --quality), png (lossless) or raw '
                             '(uint8 RGB: no decoding, ~10x the bytes of jpeg)')
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality (default 95)')
    parser.add_argument('--full-resolution', action='store_true',
                        help='store crops at the source resolution (no downsampling)')
    parser.add_argument('--workers', type=int, default=0,
                        help='processes that decode and encode (default 0: this one)')
    parser.add_argument('--preview', type=int, default=0,
                        help='also write the first N crops to <out>/preview/')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys')
    args = parser.parse_args(argv)
    if args.workers < 0 or args.preview < 0:
        parser.error('--workers and --preview must be >= 0')
    return args


def write_preview(cache_dir, count):
    """The first ``count`` crops as <cache_dir>/preview/<sample_idx>_<kind>.png."""
    import cv2
    cache = PersonCache(cache_dir)
    folder = osp.join(cache_dir, 'preview')
    os.makedirs(folder, exist_ok=True)
    for row in range(min(count, cache.index['num_entries'])):
        name = f"{int(cache.entries['sample_idx'][row]):06d}_" \
               f"{KINDS[int(cache.entries['kind'][row])]}.png"
        cv2.imwrite(osp.join(folder, name), cache.crop(row, to_rgb=False))
    return folder


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    dataset_cfg = dict(cfg[f'{args.split}_dataloader'].dataset)
    settings = settings_from_pipeline(dataset_cfg.get('pipeline') or [], args.encoding,
                                      args.quality, args.full_resolution)
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    out = args.out or osp.join(dataset_cfg['data_root'], 'person_cache', args.split)
    print(f'person cache of {len(dataset)} samples of {dataset_cfg.get("ann_file")} '
          f'→ {out}\nsettings: {settings}', flush=True)
    start = time.perf_counter()
    index_path = build_person_cache(dataset, settings, out, args.workers,
                                    progress=not args.no_progress)
    cache = PersonCache(out)
    size = cache.index['data_bytes']
    print(f"\nwrote {index_path}: {cache.index['num_entries']} crops, "
          f'{size / 2**20:.1f} MiB in {cache.data_path} '
          f'({time.perf_counter() - start:.1f} s)')
    if args.preview:
        print(f'preview crops in {write_preview(out, args.preview)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
