"""Plot loss and metric curves of one or more runs into one PNG, one line per run.

Usage:
    python tools/analyze_logs.py RUN [RUN ...] --out curves.png [--keys loss mpjpe]
        [--labels NAME ...] [--summary summary.json]

A RUN is a work dir (its latest ``<timestamp>/vis_data/scalars.json`` is read — the
folder of the most recent ``tools/train.py`` session that logged anything) or a
``scalars.json`` file itself. By default the plot has the training loss (x:
iteration) and every validation metric (x: epoch), per-joint MPJPE keys left out;
``--keys`` picks others (any key of the files, e.g. ``lr`` or ``loss_kpt``). Legend
labels are the RUN arguments as given unless ``--labels`` names them.

Prints, per run and key, the last value and the minimum and maximum over the run;
``--summary`` also writes them to a JSON file.

MMPose's command lines work too:
    python tools/analyze_logs.py plot_curve RUN [RUN ...] [--keys ...] [--legend ...]
        [--out curves.png]
    python tools/analyze_logs.py cal_train_time RUN [RUN ...] [--include-outliers]
``cal_train_time`` prints, per run, the mean training iteration time (the first
iteration of each epoch left out unless ``--include-outliers``) and the slowest and
fastest epochs.
"""
import argparse
import glob
import os.path as osp
import sys

from hpekit.fileio import write_json_atomic
from hpekit.visualization import load_scalars, plot_training_curves
from hpekit.visualization.curves import default_keys

SCALARS = osp.join('vis_data', 'scalars.json')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot training curves of one or more '
                                     'runs into one PNG.')
    parser.add_argument('runs', nargs='+', metavar='RUN',
                        help='work dir or vis_data/scalars.json file, one per run')
    parser.add_argument('--out', required=True, help='output PNG path')
    parser.add_argument('--keys', nargs='+', help='scalar keys to plot (default: loss '
                        'and the validation metrics)')
    parser.add_argument('--labels', nargs='+', help='legend label per run')
    parser.add_argument('--summary', metavar='JSON', help='also write last/min/max per '
                        'run and key to this JSON file')
    args = parser.parse_args(argv)
    if args.labels is not None and len(args.labels) != len(args.runs):
        parser.error(f'--labels needs one label per run: {len(args.runs)} runs, '
                     f'{len(args.labels)} labels')
    return args


def find_scalars(run):
    """The scalars.json of a run: the file itself, ``<run>/vis_data/scalars.json``, or
    the latest ``<run>/<timestamp>/vis_data/scalars.json``.

    Raises:
        FileNotFoundError: none of these exists (the message says what was looked for).
    """
    if osp.isfile(run):
        return run
    if osp.isfile(osp.join(run, SCALARS)):
        return osp.join(run, SCALARS)
    found = sorted(glob.glob(osp.join(glob.escape(run), '*', SCALARS)))
    if not osp.isdir(run) or not found:
        raise FileNotFoundError(f'{run}: no scalars file found (expected a work dir '
                                f'holding <timestamp>/{SCALARS}, as tools/train.py '
                                'writes, or the scalars.json file itself)')
    return found[-1]


def summarize(path, keys):
    """{key: {'last', 'min', 'max', 'last_step'}} of one scalars file, for ``keys``."""
    curves = load_scalars(path)
    return {key: dict(last=float(values[-1]), min=float(values.min()),
                      max=float(values.max()), last_step=float(steps[-1]))
            for key, (steps, values) in curves.items() if key in keys}


def cal_train_time(paths, include_outliers=False):
    """{path: {'mean_iter_s', 'std_iter_s', 'slowest_epoch', 'fastest_epoch', ...}}
    from the training lines' 'time' of each scalars file (MMPose's cal_train_time)."""
    import json

    import numpy as np
    out = {}
    for path in paths:
        by_epoch = {}
        with open(path, encoding='utf-8') as f:
            for line in f:
                record = json.loads(line)
                if 'time' in record and 'epoch' in record and 'loss' in record:
                    by_epoch.setdefault(record['epoch'], []).append(record['time'])
        if not by_epoch:
            raise ValueError(f'{path}: no training iteration with a time was logged')
        times = {e: np.array(t if include_outliers or len(t) < 2 else t[1:])
                 for e, t in by_epoch.items()}
        means = {e: float(t.mean()) for e, t in times.items()}
        every = np.concatenate(list(times.values()))
        out[path] = dict(mean_iter_s=float(every.mean()), std_iter_s=float(every.std()),
                         slowest_epoch=max(means, key=means.get),
                         slowest_epoch_s=max(means.values()),
                         fastest_epoch=min(means, key=means.get),
                         fastest_epoch_s=min(means.values()))
    return out


def mmpose_main(argv):
    """``plot_curve`` / ``cal_train_time`` subcommands with MMPose's flags."""
    parser = argparse.ArgumentParser(description='MMPose-style log analysis.')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of runs')
    plot.add_argument('runs', nargs='+')
    plot.add_argument('--keys', nargs='+')
    plot.add_argument('--legend', nargs='+', help='one label per run')
    plot.add_argument('--title', help='ignored (curves.png has its own titles)')
    plot.add_argument('--out', default='curves.png')
    timing = sub.add_parser('cal_train_time', help='training time per iteration')
    timing.add_argument('runs', nargs='+')
    timing.add_argument('--include-outliers', action='store_true')
    args = parser.parse_args(argv)
    if args.task == 'plot_curve':
        forwarded = [*args.runs, '--out', args.out]
        forwarded += ['--keys', *args.keys] if args.keys else []
        forwarded += ['--labels', *args.legend] if args.legend else []
        return main(forwarded)
    result = cal_train_time([find_scalars(run) for run in args.runs],
                            args.include_outliers)
    for path, values in result.items():
        print(f'-----Analyze train time of {path}-----')
        print(f"slowest epoch {values['slowest_epoch']}, average time is "
              f"{values['slowest_epoch_s']:.4f} s/iter")
        print(f"fastest epoch {values['fastest_epoch']}, average time is "
              f"{values['fastest_epoch_s']:.4f} s/iter")
        print(f"time std over iterations is {values['std_iter_s']:.4f}")
        print(f"average iter time: {values['mean_iter_s']:.4f} s/iter")
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ('plot_curve', 'cal_train_time'):
        return mmpose_main(argv)
    args = parse_args(argv)
    paths = [find_scalars(run) for run in args.runs]
    labels = args.labels or [run.rstrip('/') for run in args.runs]
    keys = args.keys or default_keys(paths)
    out = plot_training_curves(paths, args.out, keys=keys, labels=labels)
    summary = {label: dict(scalars=path, **summarize(path, keys))
               for label, path in zip(labels, paths)}
    for label, values in summary.items():
        print(f'{label} ({values["scalars"]})')
        for key in keys:
            if key in values:
                v = values[key]
                print(f'  {key:<12} last {v["last"]:.4g} (step {v["last_step"]:g})  '
                      f'min {v["min"]:.4g}  max {v["max"]:.4g}')
    if args.summary:
        write_json_atomic(args.summary, summary)
        print(f'summary written to {args.summary}')
    print(f'curves written to {out}')
    return summary


if __name__ == '__main__':
    main()
