"""Print the resolved config: ``python tools/print_config.py CONFIG [options]``.

CONFIG is a Python config (``_base_`` inheritance resolved) or an HRNet/SimpleBaseline
YAML experiment (imported; the keys it does not map are listed as a warning).
``--cfg-options`` are merged first, exactly as ``tools/train.py`` does, so what is
printed is what training would run. ``--out FILE.py`` also saves it as a config file
that ``tools/train.py`` reads.
"""
import argparse

from mmengine.config import DictAction

from hpekit.config.setup import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the resolved hpekit config.')
    parser.add_argument('config', help='config file (.py) or YAML experiment (.yaml)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.batch_size=8')
    parser.add_argument('--out', metavar='FILE.py',
                        help='also write the resolved config to this Python file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.out and not args.out.endswith('.py'):
        raise ValueError(f'--out {args.out}: expected a .py file name')
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config ({args.config}):\n{cfg.pretty_text}')
    if args.out:
        cfg.dump(args.out)
        print(f'Resolved config written to {args.out}')
    return cfg


if __name__ == '__main__':
    main()
