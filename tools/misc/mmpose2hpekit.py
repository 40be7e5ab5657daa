"""Write the native hpekit config of an MMPose 1.x config, to read and edit:
``python tools/misc/mmpose2hpekit.py CONFIG [CHECKPOINT] OUT_DIR``.

hpekit reads MMPose configs as they are (every tool translates them on load with
``hpekit.config.mmpose``); this writes that translation once, as
``OUT_DIR/<config name>.py``, and prints what the translation changed. With a
checkpoint it builds the model and checks that the checkpoint's weights load into it
unchanged (hpekit's parts keep MMPose's parameter names, so no weights are
rewritten); a checkpoint that does not fit is reported key by key (exit status 1).

A config that is not an MMPose config (its ``default_scope`` is not 'mmpose') is
refused (exit status 1): hpekit reads it as it is. Sections the translation cannot
build (``mmpose_untranslated``: e.g. a training set hpekit has no dataset for) are
listed on stderr; the file is still written, and the tools refuse those sections
when they need them.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.logging import MMLogger

from hpekit.checkpoint.loading import compare_state_dicts, load_checkpoint_file
from hpekit.config.files import find_config_file
from hpekit.config.checks import ConfigError
from hpekit.config.mmpose import UNTRANSLATED, is_mmpose_config
from hpekit.config.setup import load_config
from hpekit.registry import MODELS
from hpekit.utils.setup_env import register_all_modules


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the hpekit config an MMPose 1.x config means (and check that '
        'an MMPose checkpoint loads into it unchanged).')
    parser.add_argument('config', help='MMPose 1.x config file')
    parser.add_argument('paths', nargs='+', metavar='[CHECKPOINT] OUT_DIR',
                        help='an optional MMPose checkpoint, then the output folder')
    parser.add_argument('--force', action='store_true', help='overwrite the output file')
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error('expected CONFIG [CHECKPOINT] OUT_DIR')
    args.checkpoint = args.paths[0] if len(args.paths) == 2 else None
    args.out_dir = args.paths[-1]
    return args


def check_weights(cfg, checkpoint: str) -> list:
    """Lines describing the checkpoint keys that do not fit ``cfg.model`` (empty: all
    fit)."""
    register_all_modules()
    model = MODELS.build(cfg.model)
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state) if isinstance(state, dict) else state
    diff = compare_state_dicts(model.state_dict(), state)
    return ([f'missing in the checkpoint: {k}' for k in diff['missing']] +
            [f'not in the model: {k}' for k in diff['unexpected']] +
            [f'shape {c} in the checkpoint, {m} in the model: {k}'
             for k, c, m in diff['shape_mismatch']])


def write_config(cfg: Config, out: str, source: str) -> None:
    """``cfg`` as a Python config file, under a comment naming the MMPose ``source``."""
    header = (f'# The hpekit config the MMPose config {source} means, written by '
              'tools/misc/mmpose2hpekit.py.\n'
              "# A native config (default_scope='hpekit'): edit it freely; hpekit no "
              'longer translates it.\n')
    with open(out, 'w', encoding='utf-8') as f:
        f.write(header + cfg.pretty_text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Translate, write, check. Returns the exit status (0 written and fitting)."""
    args = parse_args(argv)
    if not MMLogger.check_instance_created('hpekit'):   # a second call (tests) reuses it
        MMLogger.get_instance('hpekit', log_level='WARNING')
    try:
        path = find_config_file(args.config)
        cfg = load_config(path)   # a syntax error or an untranslatable model: said here
        mmpose = path.endswith('.py') and is_mmpose_config(Config.fromfile(path))
    except (FileNotFoundError, ConfigError) as err:   # MMPoseConfigError included
        print(err, file=sys.stderr)
        return 1
    if not mmpose:
        print(f"{args.config} is not an MMPose 1.x config (its default_scope is not "
              "'mmpose'): hpekit's tools read it as it is, there is nothing to translate",
              file=sys.stderr)
        return 1
    out = osp.join(args.out_dir, osp.basename(path))
    if osp.abspath(out) == osp.abspath(path):
        print(f'{out} is the MMPose config itself; write to another folder',
              file=sys.stderr)
        return 1
    if osp.exists(out) and not args.force:
        print(f'{out} exists; give --force to overwrite it', file=sys.stderr)
        return 1
    os.makedirs(args.out_dir, exist_ok=True)
    write_config(cfg, out, args.config)
    print(f'Wrote {out} (the warnings above, if any, list what the translation changed)')
    for key, message in (cfg.get(UNTRANSLATED) or {}).items():
        print(f'not translated: {key} (kept in {UNTRANSLATED}; the tools that need it '
              f'refuse it): {message}', file=sys.stderr)
    if args.checkpoint is None:
        return 0
    problems = check_weights(cfg, args.checkpoint)
    if problems:
        print(f'{args.checkpoint} does not fit the model:\n  ' + '\n  '.join(problems),
              file=sys.stderr)
        return 1
    print(f'{args.checkpoint}: every tensor fits the model by name and shape; use it as '
          f'it is: python tools/test.py {out} {args.checkpoint}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
