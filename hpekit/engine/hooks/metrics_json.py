"""Every validation result, appended to ``<work_dir>/metrics.json``; the latest one's
per-keypoint table in ``<work_dir>/per_keypoint.{md,csv}``."""
import json
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from hpekit.evaluation.metrics.per_keypoint import write_evaluation_tables
from hpekit.fileio import to_builtin, write_json_atomic
from hpekit.registry import HOOKS


@HOOKS.register_module()
class MetricsJsonHook(Hook):
    """Write every validation result to ``<work_dir>/metrics.json`` (rank 0 only).

    The file holds a JSON list, one object per evaluation:
    ``{"epoch": int, "iter": int, <metric>: float, ...}``; it is rewritten atomically
    after each evaluation so a person (or a plot script) can read it at any time.
    A resumed run keeps the file's records up to the resumed iteration (later ones
    are evaluated again), so it ends with the uninterrupted run's file. A record for
    an (epoch, iter) already in the file replaces it: a run resumed from the
    checkpoint of an epoch's last iteration validates that epoch again.

    The latest evaluation's per-keypoint values (the ``<key>/<keypoint name>``
    entries, rows in the metainfo's keypoint order, with the metrics' labelled
    counts; ``hpekit.evaluation.metrics.per_keypoint``) are also written, atomically,
    to ``<work_dir>/<table_stem>.md`` (a Markdown table to read) and ``.csv``; no
    file when no metric reports per-keypoint values.

    Args:
        filename (str): the JSON file in the work dir.
        table_stem (str): the name of the per-keypoint table files, without suffix.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'metrics.json', table_stem: str = 'per_keypoint'):
        self.filename = filename
        self.table_stem = table_stem
        self.history = []

    def before_train(self, runner):
        path = osp.join(runner.work_dir, self.filename)
        if runner.iter > 0 and osp.isfile(path):   # resumed in a work dir with history
            with open(path, encoding='utf-8') as f:
                self.history = [r for r in json.load(f) if r['iter'] <= runner.iter]

    def has_record(self, iteration: int) -> bool:
        """Whether the file (as read by ``before_train``) holds a record of the
        evaluation at global iteration ``iteration``."""
        return any(r['iter'] == iteration for r in self.history)

    def after_val_epoch(self, runner, metrics=None):
        if not metrics or not is_main_process():
            return
        record = {'epoch': runner.epoch, 'iter': runner.iter}
        record.update({k: to_builtin(v) for k, v in metrics.items()})
        self.history = [r for r in self.history
                        if (r.get('epoch'), r.get('iter')) != (record['epoch'], record['iter'])]
        self.history.append(record)
        write_json_atomic(osp.join(runner.work_dir, self.filename), self.history)
        write_evaluation_tables(metrics, runner.val_evaluator,
                                osp.join(runner.work_dir, self.table_stem),
                                f'Per-keypoint validation metrics, epoch {runner.epoch}, '
                                f'iteration {runner.iter}')
