"""Training curves from mmengine's ``vis_data/scalars.json`` files.

mmengine's ``LocalVisBackend`` appends one JSON object per line. With the default
``LoggerHook``/``LogProcessor``:

- a training line holds ``'iter'`` (and ``'epoch'`` when training by epoch),
  ``'lr'``, ``'loss'``, ``'loss_*'``, ``'time'``, ``'data_time'``, ``'memory'`` … and
  ``'step'`` = the iteration;
- a validation line holds the metric keys (``'mpjpe'``, ``'pa_mpjpe'`` …),
  ``'time'``, ``'data_time'`` and ``'step'`` = the epoch (``log_metric_by_epoch``).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no window).
"""
import json
import os
from collections import OrderedDict

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Book-keeping keys of a line; not curves.
_META_KEYS = ('step', 'epoch', 'iter')
# Keys that are not plotted by default.
_NOT_DEFAULT = ('lr', 'time', 'data_time', 'memory', 'grad_norm')


def _read_lines(path):
    """Parse a JSON-lines file into a list of dicts; clear errors naming ``path``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'scalars file not found: {path!r} (expected mmengine\'s '
                                '<work_dir>/<timestamp>/vis_data/scalars.json)')
    with open(path) as f:
        lines = [line.strip() for line in f]
    records = []
    for i, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f'{path!r} line {i} is not valid JSON: {err}') from None
    if not records:
        raise ValueError(f'scalars file is empty: {path!r} (no logged scalars yet?)')
    return records


def _is_train(record):
    """mmengine writes ``'iter'`` in every training line and in no validation line."""
    return 'iter' in record


def _key_name(key, record, train_keys):
    """Name under which a scalar is stored: a validation key that also appears in
    training lines (``time``, ``data_time``) gets the prefix ``val/``."""
    if not _is_train(record) and key in train_keys:
        return f'val/{key}'
    return key


def _split_series(records):
    """Records → OrderedDict {key: (steps list, values list, is_train bool)}."""
    train_keys = {k for r in records if _is_train(r) for k in r}
    series = OrderedDict()
    for index, record in enumerate(records):
        step = record.get('step', record.get('iter', index))
        for key, value in record.items():
            if key in _META_KEYS or not isinstance(value, (int, float)):
                continue
            name = _key_name(key, record, train_keys)
            steps, values, _ = series.setdefault(name, ([], [], _is_train(record)))
            steps.append(step)
            values.append(float(value))
    return series


def load_scalars(path):
    """Read one ``scalars.json`` (JSON lines) into curves.

    Args:
        path (str | PathLike): mmengine's ``vis_data/scalars.json``.
    Returns:
        dict {key: (steps, values)}, both float64 numpy arrays [M] in file order;
        training keys are indexed by iteration, validation keys by ``step`` as
        written (the epoch by default). A validation key that also occurs in training
        lines (``time``, ``data_time``) is stored as ``val/<key>``.
    Raises:
        FileNotFoundError: the file does not exist. ValueError: empty or not JSON.
    """
    series = _split_series(_read_lines(path))
    return {k: (np.asarray(s, dtype=np.float64), np.asarray(v, dtype=np.float64))
            for k, (s, v, _) in series.items()}


def _default_keys(series_list):
    """'loss' (first) plus every validation metric key, per-joint keys excluded."""
    keys = []
    for series in series_list:
        for key, (_, _, is_train) in series.items():
            base = key.split('/')[-1]
            skip = base in _NOT_DEFAULT or base.startswith('mpjpe_')
            if key not in keys and not skip and (base == 'loss' or not is_train):
                keys.append(key)
    return sorted(keys, key=lambda k: k.split('/')[-1] != 'loss')


def default_keys(scalars_paths):
    """The keys ``plot_training_curves`` draws by default for these ``scalars.json``
    files: 'loss' (first) and every validation metric, per-joint ``mpjpe_*`` keys
    left out. Same errors as ``load_scalars``."""
    return _default_keys([_split_series(_read_lines(p)) for p in scalars_paths])


def _draw_key(ax, key, series_list, labels):
    """Draw one subplot: one line per run that has ``key``."""
    is_train = True
    for series, label in zip(series_list, labels):
        if key in series:
            steps, values, is_train = series[key]
            ax.plot(steps, values, marker='' if len(steps) > 20 else 'o', label=label)
    ax.set_title(key)
    ax.set_xlabel('iteration' if is_train else 'epoch (validation step)')
    ax.set_ylabel(key)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize='small')


def _check_keys(keys, series_list, paths):
    """ValueError when a requested key is in no run, listing the available keys."""
    available = sorted({k for s in series_list for k in s})
    missing = [k for k in keys if not any(k in s for s in series_list)]
    if missing or not keys:
        raise ValueError(f'keys {missing or keys} not found in {list(paths)}; '
                         f'available keys: {available}')


def plot_training_curves(scalars_paths, out_png, keys=None, labels=None):
    """Plot one subplot per scalar key, one line per run, and save a PNG.

    Args:
        scalars_paths (str | PathLike | list): one or more ``scalars.json`` files
            (one per run).
        out_png (str | PathLike): output image path (parent folders are created).
        keys (list[str], optional): keys to plot; default ``'loss'`` and every
            validation metric key found (per-joint ``mpjpe_*`` keys left out).
        labels (list[str], optional): legend label per run; default the run folder
            name (the parent of ``vis_data``), else the file's folder name.
    Returns:
        str: ``out_png``.
    Raises:
        FileNotFoundError / ValueError: missing, empty or unreadable file; a key
        found in no run; ``labels`` of the wrong length.
    """
    paths = [scalars_paths] if isinstance(scalars_paths, (str, os.PathLike)) \
        else list(scalars_paths)
    labels = list(labels) if labels is not None else [_run_label(p) for p in paths]
    if len(labels) != len(paths):
        raise ValueError(f'labels must have one entry per scalars file: expected '
                         f'{len(paths)}, got {len(labels)}')
    series_list = [_split_series(_read_lines(p)) for p in paths]
    keys = list(keys) if keys is not None else _default_keys(series_list)
    _check_keys(keys, series_list, paths)
    fig = _figure(len(keys))
    for ax, key in zip(fig.axes, keys):
        _draw_key(ax, key, series_list, labels)
    return _save(fig, out_png)


def _run_label(path):
    """A run's label: '<timestamp>' for <work_dir>/<timestamp>/vis_data/scalars.json."""
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    if os.path.basename(parent) == 'vis_data':
        parent = os.path.dirname(parent)
    return os.path.basename(parent) or os.fspath(path)


def _figure(num_plots, size=4.0):
    """A Figure on an Agg canvas with ``num_plots`` subplots in rows of at most 3."""
    cols = min(num_plots, 3)
    rows = -(-num_plots // cols)
    fig = Figure(figsize=(size * 1.3 * cols, size * rows))
    FigureCanvasAgg(fig)
    for i in range(num_plots):
        fig.add_subplot(rows, cols, i + 1)
    return fig


def _save(fig, out_png):
    """Save ``fig`` as PNG (creating parent folders) and return the path."""
    out_png = os.fspath(out_png)
    parent = os.path.dirname(os.path.abspath(out_png))
    os.makedirs(parent, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100, format='png')
    return out_png
