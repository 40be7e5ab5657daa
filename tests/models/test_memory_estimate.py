"""tools/memory_estimate.py: counting the tensors saved for backward, on meta and CPU."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('memory_estimate',
                                               ROOT / 'tools' / 'memory_estimate.py')
memory_estimate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(memory_estimate)

TINY = str(ROOT / 'tests' / 'configs' / 'video_tiny.py')


class LinearReLU(nn.Module):
    """y = relu(x W^T + b) on the last frame axis; mode is accepted like a pose model."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.fc = nn.Linear(d_in, d_out)

    def forward(self, x, mode='tensor'):
        return torch.relu(self.fc(x))


def test_counts_saved_inputs_and_outputs_not_parameters():
    # Linear saves its input (for the weight gradient), relu its output; the weight
    # and bias are parameters and do not count: 4 bytes × (B·D_in + B·D_out).
    model = LinearReLU(6, 5)
    counted = memory_estimate.count_saved_tensors(model, torch.randn(3, 6))
    assert counted['saved_activations'] == 4 * (3 * 6 + 3 * 5)
    assert counted['largest_block'] == 0   # no residual blocks in this model


def backbone_only_cfg():
    """The tiny video model without its LSTM (whose CPU kernel keeps a workspace)."""
    cfg = Config.fromfile(TINY)
    cfg.model.temporal_neck = None
    cfg.model.head.in_channels = 64
    return cfg


def test_meta_device_counts_what_real_cpu_tensors_save():
    cfg = backbone_only_cfg()
    for with_cp in (False, True):
        meta = memory_estimate.measure(cfg, 2, 4, 32, with_cp, 'meta')
        cpu = memory_estimate.measure(cfg, 2, 4, 32, with_cp, 'cpu')
        assert meta['saved_activations'] == cpu['saved_activations'] > 0


def test_checkpointing_saves_less_and_memory_grows_linearly_with_batch():
    cfg = Config.fromfile(TINY)
    plain = [memory_estimate.measure(cfg, b, 4, 32, False, 'meta') for b in (2, 4)]
    cp = [memory_estimate.measure(cfg, b, 4, 32, True, 'meta', plain[i]['largest_block'])
          for i, b in enumerate((2, 4))]
    for p, c in zip(plain, cp):
        assert c['saved_activations'] < 0.75 * p['saved_activations']
        assert c['weights'] == p['weights']
        assert c['adam_state'] == 2 * c['gradients'] == 2 * c['weights']
        assert c['estimated_peak'] == (c['saved_activations'] + c['recompute_in_backward']
                                       + c['weights'] + c['gradients'] + c['adam_state']
                                       + c['input'])
    # Twice the batch, twice the activations (within 2 %: a few per-batch constants).
    ratio = plain[1]['saved_activations'] / plain[0]['saved_activations']
    assert ratio == pytest.approx(2.0, rel=0.02)


def test_command_line_writes_json(tmp_path):
    out = tmp_path / 'memory.json'
    report = memory_estimate.main([TINY, '--batch', '1', '--frames', '2', '--size', '32',
                                   '--device', 'meta', '--out', str(out)])
    assert json.loads(out.read_text()) == report
    assert [r['with_cp'] for r in report['results']] == [False, True]
    with pytest.raises(ValueError, match='--batch must be >= 1'):
        memory_estimate.main([TINY, '--batch', '0', '--out', str(out)])
    with pytest.raises(FileNotFoundError, match='nope.py'):
        memory_estimate.main(['nope.py', '--out', str(out)])
