"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

Runs on one CPU or GPU as is; ``--nproc N`` trains in N processes on this machine (on
CPU: gloo, one thread each); ``--launcher pytorch`` (torchrun) or ``slurm`` for
distributed runs. Logs, checkpoints, metrics.json and curves.png go to the work dir.
"""
if __name__ == '__main__':   # first: re-run once under the tuned allocator (hpekit.runtime.allocator)
    from hpekit.runtime.allocator import tune_allocator
    tune_allocator()

import argparse
import sys

from mmengine.config import DictAction
from mmengine.device import get_device

from hpekit.config.checks import check_config
from hpekit.config.cli_options import disable_validation, enable_show_dir, set_data_root
from hpekit.config.setup import enable_tensorboard, load_config, setup_train_config
from hpekit.engine.distributed import (finish_distributed, init_distributed, launch_local,
                                       strip_option)
from hpekit.engine.interrupt import (InterruptHook, check_interrupt, interrupt_guard, interrupted,
                                     stop_interrupted)
from hpekit.engine.runner import HpekitRunner as Runner
from hpekit.runtime.hardware import auto_bfloat16_message, resolve_amp
from hpekit.utils import register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an hpekit model.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        metavar='auto|PATH', help='resume from the newest checkpoint '
                        'in the work dir that loads (no value or "auto"; damaged ones are '
                        'skipped, and with none it warns and starts from scratch) or '
                        'from PATH; refused if the batch size or dataset changed')
    parser.add_argument('--amp', nargs='?', const=True, default=None,
                        choices=[True, 'float16', 'bfloat16', 'off'], metavar='DTYPE',
                        help='mixed precision: float16 (GPU, loss scaling) or bfloat16 '
                        'autocast; no value: float16 on a GPU, bfloat16 on a CPU; off: '
                        'float32. Without --amp: bfloat16 on a CPU with native bfloat16 '
                        '(avx512_bf16 or AMX; one log line says so), else float32')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic (slower) cuDNN/torch algorithms; each rank '
                        'seeded with seed + rank')
    parser.add_argument('--sync-bn', action='store_true',
                        help='BatchNorm statistics over all GPUs (distributed GPU runs)')
    parser.add_argument('--accumulate', type=int, default=None, metavar='N',
                        help='gradient accumulation: one optimizer step every N iterations')
    parser.add_argument('--clip-grad', type=float, default=None, metavar='MAX_NORM',
                        help='clip the global L2 norm of the gradients to MAX_NORM')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch / auto_scale_lr.base_batch_size '
                        "(default base: the config's train_dataloader.batch_size)")
    parser.add_argument('--find-unused-parameters', action='store_true',
                        help='DDP: allow parameters that get no gradient in a step')
    parser.add_argument('--pin-memory', action='store_true',
                        help='DataLoader pin_memory for the train and val loaders')
    parser.add_argument('--persistent-workers', action='store_true',
                        help='keep DataLoader workers alive between epochs '
                        '(loaders with num_workers > 0)')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log scalars and pictures for TensorBoard (needs the '
                        'tensorboard package)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training (MMPose\'s flag)')
    parser.add_argument('--data-root', metavar='DIR',
                        help='point every dataloader and evaluator file at DIR')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='draw validation samples (ground truth | prediction) to DIR')
    parser.add_argument('--interval', type=int, default=1,
                        help='with --show-dir: draw every N-th sample (default 1)')
    parser.add_argument('--nproc', type=int, default=1, metavar='N',
                        help='train in N processes on this machine (gloo on CPU, one '
                        'thread each; see docs/distributed.md); the batch size is per '
                        'process')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def apply_mmpose_options(cfg, args):
    """--data-root, --no-validate and --show-dir (hpekit.config.cli_options)."""
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.no_validate:
        disable_validation(cfg)
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir, args.interval)


def build_runner(args):
    """The Runner of ``args``: config, command-line options, checks, distributed setup."""
    cfg = load_config(args.config, args.cfg_options)
    apply_mmpose_options(cfg, args)
    amp = resolve_amp(args.amp, get_device())   # no --amp: bfloat16 on a native-bf16 CPU
    setup_train_config(cfg, args.config, work_dir=args.work_dir, resume=args.resume,
                       amp=amp, launcher=args.launcher, seed=args.seed,
                       deterministic=args.deterministic, sync_bn=args.sync_bn,
                       accumulate=args.accumulate, clip_grad=args.clip_grad,
                       auto_scale_lr=args.auto_scale_lr,
                       find_unused_parameters=args.find_unused_parameters,
                       pin_memory=args.pin_memory,
                       persistent_workers=args.persistent_workers)
    if args.tensorboard:
        enable_tensorboard(cfg)
    register_all_modules()   # hpekit's parts, safe checkpoint I/O, default scope
    # Unknown parts or arguments and missing data fail here, before anything is built.
    check_config(cfg, ('train_dataloader', ) if args.no_validate else
                 ('train_dataloader', 'val_dataloader'))
    init_distributed(cfg.launcher, cfg.get('env_cfg', {}).get('dist_cfg'))
    runner = Runner.from_cfg(cfg)
    if args.amp is None and amp:   # chosen automatically: say so in the run's log
        runner.logger.info(auto_bfloat16_message('Training', '--amp off'))
    runner.register_hook(InterruptHook())
    return runner


def main(argv=None):
    """Train; Ctrl-C stops the run with status 130 (hpekit.engine.interrupt)."""
    args = parse_args(argv)
    if args.nproc > 1 and args.launcher == 'none':   # start N copies of this tool
        argv = strip_option(sys.argv[1:] if argv is None else list(argv), '--nproc')
        raise SystemExit(launch_local(__file__, argv, args.nproc))
    runner = None
    with interrupt_guard():
        try:
            runner = build_runner(args)
            runner.train()
            check_interrupt()   # a Ctrl-C swallowed after the last iteration
            finish_distributed(runner)
        except BaseException:   # noqa: B036  (mmengine/torch may turn Ctrl-C into another error)
            if not interrupted():
                raise
            raise SystemExit(stop_interrupted(runner)) from None
    return runner


if __name__ == '__main__':
    main()
