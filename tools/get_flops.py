"""Parameters and FLOPs per config: ``python tools/get_flops.py CONFIG [CONFIG ...]``.

Builds each config's model (random weights; nothing is trained or loaded) and counts,
with mmengine's ``FlopAnalyzer``, the FLOPs of one forward pass on one input of the
shape the model's spec declares (``model.spec.input_shape``): a person crop
[1, 3, H, W] for top-down models, a clip [1, T, 3, H, W] for video models. FLOPs follow mmengine's convention
(one multiply-accumulate = one FLOP); LSTM/GRU/RNN cells are counted by hpekit's
handle; element-wise operators are listed as not counted. Prints a table and, with
``--json``, writes the figures to a JSON file.
"""
import argparse

from mmengine.config import DictAction
from mmengine.logging import print_log

from hpekit.apis import init_model
from hpekit.fileio import write_json_atomic
from hpekit.models.complexity import format_count, model_complexity
from hpekit.models.model_inputs import input_shape_from_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count parameters and FLOPs.')
    parser.add_argument('configs', nargs='+', help='config files (.py or .yaml)')
    parser.add_argument('--shape', '--input-shape', type=int, nargs='+', metavar='SIZE',
                        help="input height and width: H W, or one side for square "
                        "inputs (MMPose's --input-shape; default: from the model's spec)")
    parser.add_argument('--frames', type=int, help='clip length T for video models '
                        '(default 8)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (applied to every config)')
    parser.add_argument('--json', metavar='OUT.json', help='also write the figures here')
    return parser.parse_args(argv)


def _height_width(shape):
    """--shape H W, or --shape S (square), as MMPose reads --input-shape."""
    if shape is None:
        return None
    if len(shape) not in (1, 2):
        raise SystemExit(f'--shape/--input-shape takes H W or one side, got {shape}')
    return list(shape) * 2 if len(shape) == 1 else list(shape)


def measure(path, shape=None, frames=None, cfg_options=None):
    """One config → dict(config, params, flops, flops_by_module, uncounted_ops, ...)."""
    model = init_model(path, cfg_options=cfg_options)
    input_shape = input_shape_from_args(model, _height_width(shape), frames)
    return dict(config=path, model=type(model).__name__,
                **model_complexity(model, input_shape))


def format_table(rows):
    """Result dicts → a Markdown table (config, input, params, FLOPs, not counted)."""
    lines = ['| config | input | params | FLOPs | not counted |', '|---|---|---|---|---|']
    for r in rows:
        uncounted = ', '.join(f'{op.replace("aten::", "")}×{n}'
                              for op, n in sorted(r['uncounted_ops'].items()))
        lines.append(f"| {r['config']} | {'×'.join(map(str, r['input_shape']))} | "
                     f"{format_count(r['params'])} | {format_count(r['flops'])} | "
                     f'{uncounted or "-"} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    rows = []
    for i, path in enumerate(args.configs, 1):
        print_log(f'[{i}/{len(args.configs)}] {path}', logger='current')
        rows.append(measure(path, args.shape, args.frames, args.cfg_options))
    print(format_table(rows))
    print('FLOPs: multiply-accumulates of one forward pass (mmengine convention).')
    if args.json:
        write_json_atomic(args.json, rows)
        print(f'Written to {args.json}')
    return rows


if __name__ == '__main__':
    main()
