"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

Prints the metrics, writes them to ``<work_dir>/test_metrics.json``, the per-keypoint
values to ``<work_dir>/test_per_keypoint.md`` / ``.csv`` (when a metric reports them)
and, with ``--dump``, the per-sample predictions to a .npz or .json file (never a
pickle).
"""
if __name__ == '__main__':   # first: re-run once under the tuned allocator (hpekit.runtime.allocator)
    from hpekit.runtime.allocator import tune_allocator
    tune_allocator()

import argparse
import os.path as osp

from mmengine.config import DictAction
from mmengine.dist import is_main_process

from hpekit.apis.model import TOOL_PRECISIONS, resolve_precision, set_precision
from hpekit.config.checks import check_config
from hpekit.config.cli_options import (NoDisplayError, check_show_display, enable_show,
                                       enable_show_dir, set_data_root, set_outfile_prefix)
from hpekit.config.setup import load_config, setup_test_config
from hpekit.engine.distributed import finish_distributed, init_distributed
# mmengine's Runner with a log dir of its own, even for two runs started in one second
from hpekit.engine.runner import HpekitRunner as Runner
from hpekit.evaluation.metrics.per_keypoint import write_evaluation_tables
from hpekit.fileio import check_predictions_path, write_json_atomic
from hpekit.utils import register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate an hpekit checkpoint.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and test_metrics.json go')
    parser.add_argument('--dump', metavar='PREDS.npz',
                        help="also write every sample's predictions to this .npz (numpy "
                        'arrays) or .json file; pickle is refused (reading it can run code)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed testing')
    parser.add_argument('--pin-memory', action='store_true',
                        help='DataLoader pin_memory for the test loader')
    parser.add_argument('--persistent-workers', action='store_true',
                        help='keep DataLoader workers alive (num_workers > 0)')
    parser.add_argument('--out', metavar='FILE.json',
                        help='also write the metrics to FILE (MMPose\'s flag); evaluators '
                        'that write official prediction files (MPII preds.mat, COCO '
                        'results JSON) write them beside it, named after FILE')
    parser.add_argument('--data-root', metavar='DIR',
                        help='point every dataloader and evaluator file at DIR')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='draw test samples (ground truth | prediction) to DIR')
    parser.add_argument('--show', action='store_true',
                        help='show the drawn samples in a window (MMPose\'s flag); needs a '
                        'display: without one ($DISPLAY unset, as in CI) the tool stops '
                        'at once with status 2 and points to --show-dir')
    parser.add_argument('--wait-time', type=float, default=1.0, metavar='SECONDS',
                        help='with --show: how long each window stays (0: until a key)')
    parser.add_argument('--interval', type=int, default=1,
                        help='with --show-dir/--show: draw every N-th sample (default 1)')
    parser.add_argument('--allow-nonfinite-weights', action='store_true',
                        help='test a checkpoint whose weights hold NaN/Inf (a warning '
                        'instead of an error; for debugging: its predictions are NaN)')
    parser.add_argument('--precision', choices=TOOL_PRECISIONS, default='auto',
                        help='bfloat16: the network runs under CPU/CUDA autocast in '
                        'bfloat16 (channels-last), decoding stays float32 '
                        '(hpekit.apis.model.set_precision); auto (default): bfloat16 on a '
                        'CPU with native bfloat16 (avx512_bf16 or AMX; one log line says '
                        'so), else float32')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.show:   # no display: say so now, before any config, data or model is read
        try:
            check_show_display()
        except NoDisplayError as error:
            parser.error(str(error))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.dump:   # a safe format only (.npz/.json): refuse .pkl before anything runs
        check_predictions_path(args.dump, '--dump')
    cfg = load_config(args.config, args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir, args.interval)
    if args.show:
        enable_show(cfg, args.wait_time, args.interval)
    if args.out:
        set_outfile_prefix(cfg, args.out)
    setup_test_config(cfg, args.config, args.checkpoint, work_dir=args.work_dir,
                      launcher=args.launcher, pin_memory=args.pin_memory,
                      persistent_workers=args.persistent_workers,
                      allow_nonfinite=args.allow_nonfinite_weights)
    if args.dump:
        cfg.custom_hooks = [*(cfg.get('custom_hooks') or []),
                            dict(type='DumpPredictionsHook', out_file=args.dump)]
    register_all_modules()   # hpekit's parts, safe checkpoint I/O, default scope
    check_config(cfg, ('test_dataloader', ))   # unknown parts/arguments, missing data: fail now
    init_distributed(cfg.launcher, cfg.get('env_cfg', {}).get('dist_cfg'))
    runner = Runner.from_cfg(cfg)
    device = next(runner.model.parameters()).device
    # after the Runner, so its log has the line; float32 for models bfloat16 cannot run
    precision = resolve_precision(args.precision, device, model=runner.model)
    if precision != 'float32':
        set_precision(runner.model, precision)
    metrics = runner.test()
    if is_main_process():
        out = osp.join(runner.work_dir, 'test_metrics.json')
        write_json_atomic(out, dict(config=args.config, checkpoint=args.checkpoint,
                                    metrics=metrics))
        runner.logger.info(f'Metrics written to {out}')
        tables = write_evaluation_tables(metrics, runner.test_evaluator,
                                         osp.join(runner.work_dir, 'test_per_keypoint'),
                                         f'Per-keypoint test metrics of {args.checkpoint}')
        if tables:
            runner.logger.info(f'Per-keypoint table written to {" and ".join(tables)}')
        if args.out:
            write_json_atomic(args.out, metrics)
            runner.logger.info(f'Metrics written to {args.out}')
    finish_distributed(runner)
    return metrics


if __name__ == '__main__':
    main()
