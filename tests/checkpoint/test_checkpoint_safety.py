"""Checkpoints load with weights_only=True and hpekit's allow-list; nothing runs."""
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from hpekit.checkpoint.loading import CheckpointError, UnsafeCheckpointError, load_checkpoint_file
from hpekit.utils import register_all_modules


class _RunsCode:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _mmengine_like_checkpoint():
    buffer = HistoryBuffer()
    buffer.update(0.5)
    buffer.update(0.25)
    return {
        'meta': {'epoch': 2, 'iter': 10, 'seed': 0, 'dataset_meta': {'names': ['a']}},
        'state_dict': {'w': torch.ones(2, 2)},
        'message_hub': {'log_scalars': {'train/loss': buffer},
                        'runtime_info': {'best': np.float64(1.5), 'arr': np.arange(3)}},
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1, 'params': [0]}]},
    }


def test_mmengine_checkpoint_objects_load(tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    ckpt = load_checkpoint_file(str(path))
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(0.375)
    assert ckpt['message_hub']['runtime_info']['best'] == 1.5
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2, 2))


def test_mmengine_loader_goes_through_the_safe_path(tmp_path):
    register_all_modules()   # hpekit's set-up installs the loader (import hpekit does not)
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError, match='allow-list'):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(str(path))
    assert str(path) in str(err.value) and 'open' in str(err.value)
    assert not marker.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    class _GetattrGadget:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'gadget.pth'
    torch.save({'x': _GetattrGadget()}, path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_file(str(path))


def test_truncated_and_missing_files_give_clear_errors(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(_mmengine_like_checkpoint(), good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        load_checkpoint_file(str(truncated))
    with pytest.raises(CheckpointError, match='does not exist'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))
