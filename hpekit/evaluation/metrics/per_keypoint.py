"""Per-keypoint tables of evaluation results, so one bad joint is seen.

A metric reports one value per keypoint under ``<key>/<keypoint name>`` (``PCK/nose``,
``AUC/nose``, ``coco/KS/nose`` with mmengine's prefix; the MPJPE metrics' older
``mpjpe_<joint>`` form is read too). :func:`build_table` turns such a metrics dict into
a :class:`PerKeypointTable`: one row per keypoint in the metainfo's order, one column
per metric key that has per-keypoint values (the key without ``/<name>``), then the
count columns (how many labelled instances each keypoint's values are over) where a
metric states them in its ``keypoint_counts`` attribute ({label: int [K]}, set by
``compute_metrics``).

The tables are logged as text (each metric calls :func:`log_per_keypoint_table` in
``compute_metrics``) and written as Markdown and CSV files (:func:`write_table_files`):
``MetricsJsonHook`` writes ``<work_dir>/per_keypoint.{md,csv}`` for the latest
validation, ``tools/test.py`` ``<work_dir>/test_per_keypoint.{md,csv}``.
"""
import csv
import io
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger

from hpekit.fileio import atomic_open

#: The attribute where a metric leaves its per-keypoint counts ({label: int [K]}).
COUNTS_ATTR = 'keypoint_counts'
#: Per-joint key forms older than ``<key>/<name>``: ``mpjpe_<joint>`` (MPJPE metrics).
LEGACY_PREFIXES = ('mpjpe_', )
NOTE = ('Rows: keypoints in the metainfo order. Value columns: the metric keys with one '
        'value per keypoint, in the unit each metric reports (see its docs); n/a: no '
        'labelled instance. Count columns: the labelled instances the values are over.')


@dataclass
class PerKeypointTable:
    """Rows ``keypoints`` (K names), value ``columns`` (C metric keys) with ``values``
    float64 [K, C] (NaN: no value), and ``counts`` {label: int64 [K]} columns."""

    keypoints: List[str]
    columns: List[str]
    values: np.ndarray
    counts: Dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        """The number of value columns (0: nothing per keypoint to show)."""
        return len(self.columns)


def keypoint_names(meta: Optional[Mapping[str, Any]], num: Optional[int] = None,
                   metric: str = 'metric') -> List[str]:
    """The K keypoint names in id order: the metainfo's ``keypoint_id2name``, else
    '0' … 'K-1'.

    Args:
        meta: parsed dataset metainfo (``num_keypoints``, ``keypoint_id2name``) or None.
        num: K of the predictions, checked against the metainfo's ``num_keypoints``.
        metric: the caller's name, for the error.

    Raises:
        ValueError: ``num`` differs from the metainfo's count, or K is unknown.
    """
    meta = meta or {}
    count = meta.get('num_keypoints')
    if num is not None and count not in (None, num):
        raise ValueError(f'{metric}: predictions have {num} keypoints, the dataset metainfo '
                         f'{meta.get("dataset_name")!r} {count}')
    num = count if num is None else num
    if num is None:
        raise ValueError(f'{metric}: the number of keypoints is unknown (no '
                         "'num_keypoints' in the dataset metainfo)")
    id2name = meta.get('keypoint_id2name') or {}
    return [str(id2name.get(i, i)) for i in range(int(num))]


def split_key(key: str, names: Iterable[str]) -> Optional[Tuple[str, str]]:
    """(column, keypoint name) of a per-keypoint metric key, else None.

    ``'coco/KS/left_eye'`` → ``('coco/KS', 'left_eye')``; ``'h36m/mpjpe_pelvis'`` →
    ``('h36m/mpjpe', 'pelvis')``; ``'PCK'`` or ``'MPJPE/Walking'`` (not a keypoint) → None.
    """
    names = names if isinstance(names, (set, dict)) else set(names)
    head, sep, tail = key.rpartition('/')
    if sep and head and tail in names:
        return head, tail
    for prefix in LEGACY_PREFIXES:
        if tail.startswith(prefix) and tail[len(prefix):] in names:
            return head + sep + prefix.rstrip('_'), tail[len(prefix):]
    return None


def build_table(metrics: Mapping[str, Any], names: Sequence[str],
                counts: Optional[Mapping[str, Any]] = None) -> PerKeypointTable:
    """The per-keypoint table of a metrics dict (see the module doc).

    Args:
        metrics: {key: number}; keys ``<column>/<name>`` (or ``mpjpe_<name>``) with a
            name of ``names`` become table cells, the rest is ignored.
        names: the K keypoint names, in the order of the rows.
        counts: optional {label: [K] ints}, count columns in that order.

    Raises:
        ValueError: a per-keypoint value that is not one number, or counts not of
            length K (the key or label is named).
    """
    names = [str(n) for n in names]
    index = {n: i for i, n in enumerate(names)}
    columns: Dict[str, np.ndarray] = {}
    for key, value in metrics.items():
        parsed = split_key(str(key), index)
        if parsed is None:
            continue
        column, name = parsed
        try:
            number = float(np.asarray(value, np.float64).reshape(()))
        except (TypeError, ValueError):
            raise ValueError(f'per-keypoint metric {key!r}: expected one number, got '
                             f'{value!r}') from None
        columns.setdefault(column, np.full(len(names), np.nan))[index[name]] = number
    values = (np.stack(list(columns.values()), axis=1) if columns
              else np.zeros((len(names), 0)))
    table_counts = {}
    for label, count in (counts or {}).items():
        arr = np.asarray(count).reshape(-1)
        if arr.shape != (len(names), ):
            raise ValueError(f'per-keypoint counts {label!r}: expected {len(names)} values '
                             f'(one per keypoint), got {arr.size}')
        table_counts[str(label)] = arr.astype(np.int64)
    return PerKeypointTable(names, list(columns), values, table_counts)


def merged_counts(metrics: Iterable[Any]) -> Dict[str, np.ndarray]:
    """The ``keypoint_counts`` of several metric objects as one {label: [K]}: equal
    columns under one label are kept once; a label whose counts differ between
    metrics gets the metric's class name (``labelled (EPE)``)."""
    merged: Dict[str, np.ndarray] = {}
    for metric in metrics:
        for label, count in (getattr(metric, COUNTS_ATTR, None) or {}).items():
            count = np.asarray(count)
            if label in merged and not np.array_equal(merged[label], count):
                label = f'{label} ({type(metric).__name__})'
            merged.setdefault(label, count)
    return merged


# ----------------------------------------------------------------- formatting
def _cell(value: float) -> str:
    """A value as text: 4 decimals below 10 (fractions, px), else 2 (percent, mm)."""
    if not np.isfinite(value):
        return 'n/a'
    return f'{value:.4f}' if abs(value) < 10 else f'{value:.2f}'


def _rows(table: PerKeypointTable) -> Tuple[List[str], List[List[str]]]:
    """(header, rows of text cells) of a table."""
    header = ['keypoint', *table.columns, *table.counts]
    rows = [[name, *(_cell(v) for v in table.values[i]),
             *(str(int(c[i])) for c in table.counts.values())]
            for i, name in enumerate(table.keypoints)]
    return header, rows


def format_text(table: PerKeypointTable) -> str:
    """The table as aligned plain text (names left, numbers right), for logs."""
    header, rows = _rows(table)
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    return '\n'.join('  '.join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths)))
                     for row in [header, *rows])


def format_markdown(table: PerKeypointTable, title: str = '') -> str:
    """The table as a Markdown page: ``# title``, the table, a note on the columns."""
    header, rows = _rows(table)

    def line(cells):
        return '| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |'

    lines = [f'# {title}', ''] if title else []
    lines += [line(header), '|:--|' + '--:|' * (len(header) - 1)]
    lines += [line(row) for row in rows]
    return '\n'.join(lines + ['', NOTE, ''])


def format_csv(table: PerKeypointTable) -> str:
    """The table as CSV: a header row, then one row per keypoint; values at full
    precision (empty cell: no value), counts as integers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(['keypoint', *table.columns, *table.counts])
    for i, name in enumerate(table.keypoints):
        writer.writerow([name, *('' if not np.isfinite(v) else repr(float(v))
                                 for v in table.values[i]),
                         *(int(c[i]) for c in table.counts.values())])
    return out.getvalue()


# ------------------------------------------------------------- logging, files
def log_per_keypoint_table(metrics: Mapping[str, Any], names: Sequence[str],
                           counts: Optional[Mapping[str, Any]] = None,
                           title: str = 'Per-keypoint metrics') -> PerKeypointTable:
    """Build the table of ``metrics`` and log it (MMLogger, info) under ``title``;
    nothing is logged when no key is per keypoint. Returns the table."""
    table = build_table(metrics, names, counts)
    if len(table):
        MMLogger.get_current_instance().info(f'{title}:\n{format_text(table)}')
    return table


def write_table_files(table: PerKeypointTable, stem: str, title: str = '') -> List[str]:
    """Write ``<stem>.md`` (:func:`format_markdown`) and ``<stem>.csv``, each
    atomically; returns the two paths."""
    paths = []
    for suffix, text in (('.md', format_markdown(table, title)), ('.csv', format_csv(table))):
        with atomic_open(stem + suffix, 'w', encoding='utf-8') as f:
            f.write(text)
        paths.append(stem + suffix)
    return paths


def evaluator_table(metrics: Mapping[str, Any], evaluator: Any) -> Optional[PerKeypointTable]:
    """The table of an mmengine ``Evaluator``'s results: keypoint names from its
    ``dataset_meta``, counts from its metrics' ``keypoint_counts``. None when the
    evaluator has no keypoint metainfo or no result is per keypoint."""
    meta = getattr(evaluator, 'dataset_meta', None)
    if not meta or meta.get('num_keypoints') is None:
        return None
    table = build_table(metrics, keypoint_names(meta),
                        merged_counts(getattr(evaluator, 'metrics', ())))
    return table if len(table) else None


def write_evaluation_tables(metrics: Mapping[str, Any], evaluator: Any, stem: str,
                            title: str) -> List[str]:
    """:func:`evaluator_table` written to ``<stem>.md`` / ``<stem>.csv``; the paths
    written ([] when there is no per-keypoint result)."""
    table = evaluator_table(metrics, evaluator)
    return write_table_files(table, stem, title) if table is not None else []
