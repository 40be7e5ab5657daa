"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

Runs on one CPU or GPU as is; ``--launcher pytorch`` (torchrun) or ``slurm`` for
distributed runs. Logs, checkpoints, metrics.json and curves.png go to the work dir.
"""
import argparse

from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import hpekit  # noqa: F401  (installs the safe checkpoint loader)
from hpekit.engine.config_setup import load_config, setup_train_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an hpekit model.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        metavar='auto|PATH', help='resume from the latest checkpoint '
                        'in the work dir (no value or "auto") or from PATH')
    parser.add_argument('--amp', action='store_true', help='mixed precision '
                        '(float16 on GPU, bfloat16 on CPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher for distributed training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic (slower) cuDNN/torch algorithms')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    setup_train_config(cfg, args.config, work_dir=args.work_dir, resume=args.resume,
                       amp=args.amp, launcher=args.launcher, seed=args.seed,
                       deterministic=args.deterministic)
    init_default_scope(cfg.default_scope)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
