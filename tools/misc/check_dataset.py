"""Check the dataset(s) of a config before training (``hpekit.datasets.inspection``).

``python tools/misc/check_dataset.py CONFIG [--phase train|val|test|all]
[--out-dir DIR] [--num-pictures 8] [--cfg-options ...]``

For each checked phase's dataset: counts (images, people, labelled and visible
keypoints per keypoint), images that cannot be read (missing, empty, undecodable;
each image read once), labelled keypoints outside their image or their person box
(per keypoint, with example records), and duplicate images (same bytes). Printed as a
table and written to ``DIR/dataset_check.json``; ``DIR/samples_after_pipeline.jpg``
draws ``--num-pictures`` samples of the first checked phase after its pipeline
(``--phase train``: the training pipeline) without and with the horizontal flip, in
the metainfo's colours with each keypoint's name, so a wrong flip map shows before
training. A COCO-format file from any other tool is checked by pointing a config at
it (``--cfg-options train_dataloader.dataset.ann_file=...``).

A dataset that refuses missing image files when it loads (``CocoDataset`` without
``skip_invalid``) is built again with ``skip_invalid=True`` to check the rest; its
refusal, which names the files, is reported under ``load_errors``.

Exit status 1 when an image cannot be read (missing, refused at load or
undecodable) or a drawn sample fails in the pipeline, after everything is reported;
else 0. The other findings are warnings.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from hpekit.config.setup import load_config
from hpekit.datasets.inspection import (DatasetCheckError, build_dataset, check_dataset,
                                        format_phase, write_flip_sheet)
from hpekit.fileio import write_json_atomic
from hpekit.utils import register_all_modules

PHASES = ('train', 'val', 'test')
REPORT = 'dataset_check.json'
SHEET = 'samples_after_pipeline.jpg'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check the dataset(s) of a config.')
    parser.add_argument('config', help='config file path or shipped config name')
    parser.add_argument('--phase', choices=[*PHASES, 'all'], default='train',
                        help="whose <phase>_dataloader dataset (default train; 'all': "
                             'each one the config has)')
    parser.add_argument('--out-dir', help='folder for dataset_check.json and the picture '
                        'sheet (default work_dirs/check_dataset/<config name>)')
    parser.add_argument('--num-pictures', type=int, default=8,
                        help='samples drawn without and with the flip (default 8; 0: none)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys')
    args = parser.parse_args(argv)
    if args.num_pictures < 0:
        parser.error('--num-pictures must be >= 0')
    return args


def dataset_configs(cfg, phase):
    """[(phase, dataset config, phase it repeats or None)] of the phases to check.

    Raises:
        KeyError: ``phase`` names a loader the config does not have.
    """
    wanted = PHASES if phase == 'all' else (phase, )
    found = []
    for name in wanted:
        loader = cfg.get(f'{name}_dataloader')
        if not loader or not loader.get('dataset'):
            if phase != 'all':
                raise KeyError(f'{cfg.filename}: no {name}_dataloader.dataset to check')
            continue
        same = next((p for p, d, _ in found if d == loader['dataset']), None)
        found.append((name, loader['dataset'], same))
    return found


def check_phases(cfg, phase):
    """({phase: check result or dict(same_as=phase)}, (phase, dataset, dataset config,
    result) of the first dataset checked, or None); each result printed."""
    results, first = {}, None
    for name, dataset_cfg, same in dataset_configs(cfg, phase):
        if same is not None:
            results[name] = dict(same_as=same)
            print(f'== {name}: the same dataset as {same}')
            continue
        dataset, load_errors, rebuilt = build_dataset(dataset_cfg)
        if dataset is None:
            result = dict(dataset=dataset_cfg.get('type'))
        else:
            print(f'reading the images of {name} ...', flush=True)
            result = check_dataset(dataset)
            first = first or (name, dataset, dataset_cfg, result)
        result.update(load_errors=load_errors, rebuilt_with_skip_invalid=rebuilt)
        results[name] = result
        print(format_phase(name, result))
    return results, first


def draw_sheet(first, out_file, num):
    """The picture sheet of the first checked dataset (``write_flip_sheet``'s dict plus
    'phase', and 'error' when its pipeline has nothing to flip); problems printed."""
    phase, dataset, dataset_cfg, result = first
    try:
        sheet = write_flip_sheet(dataset, dataset_cfg.get('pipeline', []), out_file, num,
                                 skip=[b['image'] for b in result['unreadable_images']])
    except DatasetCheckError as err:   # e.g. a pipeline with nothing to flip
        sheet = dict(file=None, samples=[], pipeline_errors=[], error=str(err))
        print(f'WARNING: no picture sheet: {err}')
    for error in sheet['pipeline_errors']:
        print(f'ERROR: sample {error["sample_idx"]} ({error["image"]}) fails in the '
              f'{phase} pipeline: {error["error"]}')
    if sheet['file']:
        print(f'picture sheet: {sheet["file"]}')
    elif 'error' not in sheet:
        print('WARNING: no picture sheet: no sample could be drawn')
    return dict(phase=phase, **sheet)


def main(argv=None):
    """Check, print, write the report and the sheet; return the exit status."""
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    out_dir = args.out_dir or osp.join('work_dirs', 'check_dataset',
                                       osp.splitext(osp.basename(args.config))[0])
    phases, first = check_phases(cfg, args.phase)
    report = dict(config=cfg.filename, phases=phases, samples_sheet=None)
    if first is not None and args.num_pictures:
        report['samples_sheet'] = draw_sheet(first, osp.join(out_dir, SHEET),
                                             args.num_pictures)
    failed = sum(len(r.get('unreadable_images', ())) + len(r.get('load_errors', ()))
                 for r in phases.values())
    failed += len((report['samples_sheet'] or {}).get('pipeline_errors', ()))
    report['exit_status'] = 1 if failed else 0
    write_json_atomic(osp.join(out_dir, REPORT), report)
    print(f'report: {osp.join(out_dir, REPORT)}')
    return report['exit_status']


if __name__ == '__main__':
    sys.exit(main())
