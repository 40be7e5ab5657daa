"""Switch the training pipeline at an epoch: RTMPose's second stage (weaker
augmentation for the last epochs). MMDetection's ``PipelineSwitchHook``, which MMPose's
RTMPose configs name ``mmdet.PipelineSwitchHook``."""
from typing import Callable, Sequence, Union

from mmengine.dataset import Compose
from mmengine.hooks import Hook

from hpekit.datasets.base import build_pipeline
from hpekit.registry import HOOKS


def _pipeline_holders(dataset) -> list:
    """The datasets whose ``pipeline`` makes the training samples of ``dataset``.

    A dataset with a ``pipeline`` is its own holder (also a combining dataset, whose
    pipeline runs after its parts'); a wrapper without one (mmengine's
    ``RepeatDataset``, ``ClassBalancedDataset``: ``.dataset``; ``ConcatDataset``:
    ``.datasets``) hands on to the datasets it wraps.
    """
    if hasattr(dataset, 'pipeline'):
        return [dataset]
    inner = getattr(dataset, 'datasets', None)
    if inner is None and getattr(dataset, 'dataset', None) is not None:
        inner = [dataset.dataset]
    return [holder for part in (inner or []) for holder in _pipeline_holders(part)]


def restart_persistent_workers(loader) -> bool:
    """Make the next ``iter(loader)`` start new workers, if ``loader`` keeps its workers.

    With ``persistent_workers=True`` a DataLoader keeps one iterator, whose worker
    processes hold the copy of the dataset they were started with: a pipeline set in
    the main process afterwards would never reach them. Dropping that iterator (its
    workers are shut down) makes torch start fresh workers, which copy the dataset as
    it is now. (MMDetection also resets the loader's private ``__initialized`` flag;
    torch's ``DataLoader.__iter__`` only needs ``_iterator`` to be None.)

    Returns:
        bool: whether workers were running and were shut down.
    """
    iterator = getattr(loader, '_iterator', None)
    if not getattr(loader, 'persistent_workers', False) or iterator is None:
        return False
    loader._iterator = None
    shutdown = getattr(iterator, '_shutdown_workers', None)
    if shutdown is not None:
        shutdown()
    return True


@HOOKS.register_module()
class PipelineSwitchHook(Hook):
    """Replace the training dataset's pipeline by ``switch_pipeline`` from epoch
    ``switch_epoch`` on (0-based, as ``runner.epoch``: ``switch_epoch=max_epochs - 30``
    trains the last 30 epochs with it, as RTMPose's configs do).

    - The pipeline is built (hpekit's transforms, with the codec checks of the
      datasets' ``pipeline``) when training starts, so a mistake in it fails then, not
      hundreds of epochs later.
    - At the start of the first epoch whose index is ``>= switch_epoch`` — also the
      first epoch of a run resumed past the switch (MMDetection's hook switches only
      when the epoch equals ``switch_epoch``, so a run resumed later keeps the first
      pipeline) — it replaces the ``pipeline`` of the training dataset (of the datasets
      a ``RepeatDataset`` / ``ConcatDataset`` wraps), restarts persistent DataLoader
      workers (``restart_persistent_workers``) and logs one line.

    Args:
        switch_epoch (int): the 0-based epoch from which ``switch_pipeline`` is used.
        switch_pipeline (list[dict | callable]): the new pipeline, as a dataset's
            ``pipeline`` (transform configs of hpekit's TRANSFORMS, or callables).
    """

    priority = 'NORMAL'

    def __init__(self, switch_epoch: int,
                 switch_pipeline: Sequence[Union[dict, Callable]]) -> None:
        if isinstance(switch_epoch, bool) or not isinstance(switch_epoch, int) or \
                switch_epoch < 0:
            raise ValueError(f'PipelineSwitchHook: switch_epoch must be an int >= 0 (a '
                             f'0-based epoch), got {switch_epoch!r}')
        if not isinstance(switch_pipeline, (list, tuple)) or not switch_pipeline:
            raise ValueError(f'PipelineSwitchHook: switch_pipeline must be a non-empty '
                             f'list of transforms, got {switch_pipeline!r}')
        self.switch_epoch = switch_epoch
        self.switch_pipeline = list(switch_pipeline)
        self.switched = False
        self._pipeline = None

    def _build(self) -> Compose:
        if self._pipeline is None:
            self._pipeline = Compose(build_pipeline(self.switch_pipeline))
        return self._pipeline

    def before_train(self, runner) -> None:
        self._build()   # fail now on a bad switch_pipeline

    def before_train_epoch(self, runner) -> None:
        if self.switched or runner.epoch < self.switch_epoch:
            return
        loader = runner.train_dataloader
        holders = _pipeline_holders(loader.dataset)
        if not holders:
            raise TypeError(f'PipelineSwitchHook: the training dataset '
                            f'{type(loader.dataset).__name__} has no pipeline to switch '
                            f'(and wraps no dataset that has one)')
        pipeline = self._build()
        for dataset in holders:
            dataset.pipeline = pipeline
        restarted = restart_persistent_workers(loader)
        self.switched = True
        names = ', '.join(_name(t) for t in pipeline.transforms)
        runner.logger.info(
            f'PipelineSwitchHook: epoch {runner.epoch + 1} trains with switch_pipeline '
            f'(from switch_epoch={self.switch_epoch}, 0-based): [{names}]'
            f'{"; persistent DataLoader workers restarted" if restarted else ""}')


def _name(transform) -> str:
    """A transform's class name (a function's own name)."""
    return getattr(transform, '__name__', type(transform).__name__)
