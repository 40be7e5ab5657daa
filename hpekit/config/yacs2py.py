"""Write an hpekit Python config from an HRNet / SimpleBaseline YAML experiment, once.

``python -m hpekit.config.yacs2py EXPERIMENT.yaml --out CONFIG.py`` (in a source
checkout also ``python tools/misc/yacs2py.py ...``). Prints what was written, the keys
that were not converted and why; on keys hpekit cannot reproduce it prints every one
of them and writes nothing (exit status 1). The conversion is
:mod:`hpekit.config.yacs`.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional, Sequence

from hpekit.config.yacs import YacsImportError, yacs_to_config_text


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an HRNet / SimpleBaseline YAML experiment into an hpekit '
        'Python config (written once; train from the .py).')
    parser.add_argument('experiment', help='YAML experiment file (.yaml / .yml)')
    parser.add_argument('--out', required=True, metavar='CONFIG.py',
                        help='the config file to write')
    parser.add_argument('--force', action='store_true',
                        help='overwrite CONFIG.py if it exists')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the config; print where, the ignored keys and, on failure, every
    rejected key. Returns the exit status (0 written, 1 not)."""
    args = parse_args(argv)
    if not args.out.endswith('.py'):
        print(f'--out {args.out}: expected a .py file name', file=sys.stderr)
        return 1
    if osp.exists(args.out) and not args.force:
        print(f'{args.out} exists; give --force to overwrite it', file=sys.stderr)
        return 1
    try:
        text, report = yacs_to_config_text(args.experiment)
    except (FileNotFoundError, YacsImportError) as err:
        print(err, file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(text)
    converted = sum(1 for settings in report.mapped.values() if settings)
    print(f'Wrote {args.out}: {converted} key(s) converted, '
          f"{len(report.mapped) - converted} already hpekit's behaviour, "
          f'{len(report.ignored)} not converted.')
    if report.ignored:
        print(report.warning_text())
    print(f'Train it with: python tools/train.py {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
