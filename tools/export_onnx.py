"""Export a model to ONNX: ``python tools/export_onnx.py CONFIG [CHECKPOINT] --out M.onnx``.

Any estimator with a spec (``model.spec``): the graph's input and outputs are the
spec's, e.g. a top-down model becomes ``image`` float32 [B, 3, H, W] (RGB, 0..255,
normalisation inside the graph) → ``heatmaps`` [B, K, h, w]; a video model becomes
``clip`` float32 [B, T, 3, H, W] (RGB, 0..255) → ``joints_3d`` [B, T, K, 3] in metres.
B (and T) are dynamic. Without CHECKPOINT the weights are
random (useful to test a deployment path, not to predict).

After exporting, the file is run with onnxruntime (when installed) on a random input
with another batch size than the example and compared with PyTorch; the tool fails
when max |ONNX − PyTorch| > atol + rtol · max |PyTorch| (or an output is NaN/Inf).
The graph is written under a temporary name and renamed to ``M.onnx`` only when the
comparison passed, so a failed export leaves no file (a previous ``M.onnx`` stays as
it was). ``M.json`` beside the file records inputs, outputs, units and the
comparison. A checkpoint whose weights hold NaN/Inf is refused before exporting
(``NonFiniteWeightsError``) unless ``--allow-nonfinite-weights``.
"""
import argparse
import math
import os.path as osp

from mmengine.config import DictAction
from mmengine.logging import print_log

from hpekit.apis import init_model
from hpekit.export.onnx import (DEFAULT_OPSET, compare_with_onnxruntime, export_onnx,
                                onnxruntime_available)
from hpekit.fileio import write_json_atomic
from hpekit.models.model_inputs import input_shape_from_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export an hpekit model to ONNX.')
    parser.add_argument('config', help='config file (.py or .yaml)')
    parser.add_argument('checkpoint', nargs='?', help='weights (default: random)')
    parser.add_argument('--out', required=True, metavar='MODEL.onnx', help='output file')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="input height and width (default: from the model's spec)")
    parser.add_argument('--frames', type=int, help='example clip length T (video models)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the onnxruntime comparison')
    parser.add_argument('--atol', type=float, default=1e-4, help='absolute tolerance')
    parser.add_argument('--rtol', type=float, default=1e-3,
                        help='tolerance relative to the largest |output|')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys')
    parser.add_argument('--allow-nonfinite-weights', action='store_true',
                        help='load a checkpoint whose weights hold NaN/Inf (a warning '
                        'instead of an error; for debugging: the parity check then fails '
                        'and no file is written)')
    return parser.parse_args(argv)


def verify(model, out, input_shape, atol, rtol):
    """Compare on a batch of 2 (another size than the example); raise if too far."""
    shape = (2, *input_shape[1:])
    result = compare_with_onnxruntime(model, out, shape)
    result['tolerance'] = atol + rtol * result['max_abs_value']
    result['passed'] = result['max_abs_diff'] <= result['tolerance']
    print_log(f"onnxruntime vs PyTorch on input {shape}: max |diff| "
              f"{result['max_abs_diff']:.3g} (tolerance {result['tolerance']:.3g}, "
              f"largest |output| {result['max_abs_value']:.3g})", logger='current')
    return result


def failure(out, result):
    """Why a comparison failed, for the error (``result`` from ``verify``)."""
    diff, tolerance = result['max_abs_diff'], result['tolerance']
    if not (math.isfinite(diff) and math.isfinite(result['max_abs_value'])):
        reason = (f'the outputs hold NaN/Inf (max |ONNX − PyTorch| is {diff:.3g}; '
                  'non-finite weights?)')
    else:
        reason = f'ONNX output differs from PyTorch by {diff:.3g} > {tolerance:.3g}'
    return f'{out}: {reason}; nothing was written (an earlier {out}, if any, is unchanged)'


def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.onnx'):
        raise ValueError(f'--out {args.out}: expected a .onnx file name')
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options,
                       allow_nonfinite=args.allow_nonfinite_weights)
    input_shape = input_shape_from_args(model, args.shape, args.frames)
    print_log(f'Exporting {type(model).__name__} with input {input_shape} to {args.out}',
              logger='current')

    def check(path, info):   # on the temporary file, before it is renamed to --out
        if args.no_verify:
            info['check'] = 'skipped (--no-verify)'
        elif not onnxruntime_available():
            info['check'] = 'skipped: onnxruntime is not installed'
            print_log('onnxruntime not installed: the file was not checked '
                      '(pip install onnxruntime)', logger='current', level=30)
        else:
            info['check'] = verify(model, path, input_shape, args.atol, args.rtol)
            if not info['check']['passed']:
                raise SystemExit(failure(args.out, info['check']))

    info = export_onnx(model, args.out, input_shape, opset=args.opset, check=check)
    info.update(config=args.config, checkpoint=args.checkpoint)
    meta = osp.splitext(args.out)[0] + '.json'
    write_json_atomic(meta, info)
    outputs = ', '.join(f'{n} {layout}' for n, layout in zip(info['outputs'],
                                                              info['output_layouts']))
    print_log(f"Wrote {args.out} ({info['input']} {info['input_layout']} → {outputs}) "
              f'and {meta}', logger='current')
    return info


if __name__ == '__main__':
    main()
