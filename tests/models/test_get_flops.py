"""Parameter and FLOP counting (hpekit.models.complexity, tools/get_flops.py)."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from tool_loader import load_tool

from hpekit.apis import init_model
from hpekit.models.complexity import RNN_OPS, format_count, model_complexity, rnn_flop_jit
from hpekit.models.estimators import BasePoseEstimator
from hpekit.models.model_inputs import input_shape_from_args, model_spec

get_flops = load_tool('get_flops')

ROOT = Path(__file__).resolve().parents[2]
VIDEO = str(ROOT / 'tests/configs/video_tiny.py')
MPII = str(ROOT / 'tests/configs/mpii_tiny.py')


@pytest.mark.parametrize('cls, gates', [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
def test_recurrent_cells_count_every_weight_matrix_per_step(cls, gates):
    rnn = cls(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    batch, steps = 2, 3
    analyzer = FlopAnalyzer(rnn, (torch.randn(batch, steps, 5), ))
    for op in RNN_OPS:
        analyzer.set_op_handle(op, rnn_flop_jit)
    # per step, per direction: gates·H·(I + H); layer 2 reads both directions (14).
    per_step = 2 * gates * 7 * (5 + 7) + 2 * gates * 7 * (14 + 7)
    assert analyzer.total() == batch * steps * per_step
    assert not analyzer.unsupported_ops()


def test_video_model_counts_lstm_and_adds_up_by_module():
    model = init_model(VIDEO)
    result = model_complexity(model, (1, 8, 3, 32, 32))
    # LSTM 64 → 32 over 8 frames: 4 gates · 32 · (64 + 32) per frame.
    assert result['flops_by_module']['temporal_neck'] == 8 * 4 * 32 * (64 + 32)
    assert sum(result['flops_by_module'].values()) == result['flops']
    assert result['params'] == sum(p.numel() for p in model.parameters())
    assert 'aten::lstm' not in result['uncounted_ops']
    assert model.training is False


def test_hourglass_flops_scale_with_the_number_of_pixels():
    model = init_model(MPII)
    small = model_complexity(model, (1, 3, 64, 64))['flops']
    large = model_complexity(model, (1, 3, 128, 128))['flops']
    # Every counted operator (conv, batch norm, upsampling) is per pixel.
    assert large == 4 * small > 0


def test_input_shape_comes_from_the_spec_and_flags():
    model = init_model(str(ROOT / 'configs/h36m_video/r18-lstm_synthetic-quick.py'))
    assert input_shape_from_args(model) == (1, 8, 3, 96, 96)      # the config's codec
    assert input_shape_from_args(model, [64, 48], 4) == (1, 4, 3, 64, 48)
    assert input_shape_from_args(model, batch=2) == (2, 8, 3, 96, 96)
    model = init_model(MPII)
    assert input_shape_from_args(model) == (1, 3, 64, 64)
    with pytest.raises(ValueError, match='--frames'):
        input_shape_from_args(model, frames=4)
    with pytest.raises(ValueError, match='--shape'):
        input_shape_from_args(model, [64])


def test_a_model_without_a_spec_is_named():
    with pytest.raises(TypeError, match='Linear has no spec.*BasePoseEstimator'):
        model_spec(nn.Linear(2, 2))

    class NoSpec(BasePoseEstimator):
        def forward(self, inputs, data_samples=None, mode='tensor'):
            return inputs

    with pytest.raises(NotImplementedError, match='NoSpec must define spec'):
        input_shape_from_args(NoSpec())


def test_format_count():
    assert format_count(6_730_912) == '6.73 M'
    assert format_count(7_270_000_000) == '7.27 G' and format_count(512) == '512'


def test_tool_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / 'flops.json'
    rows = load_tool('get_flops').main([VIDEO, MPII, '--shape', '32', '32',
                                        '--json', str(out)])
    text = capsys.readouterr().out
    assert '| config | input | params | FLOPs | not counted |' in text
    # the spec's shape (video_tiny: 4 frames) with --shape's H W
    assert '1×4×3×32×32' in text and '1×3×32×32' in text
    saved = json.loads(out.read_text())
    assert [r['config'] for r in saved] == [VIDEO, MPII]
    assert saved == json.loads(json.dumps(rows))


def test_mmpose_input_shape_flag_and_config_names(capsys):
    rows = get_flops.main(['hg2_synthetic-quick', '--input-shape', '64'])
    assert rows[0]['input_shape'] == [1, 3, 64, 64]
    rows = get_flops.main(['hg2_synthetic-quick', '--input-shape', '64', '128'])
    assert rows[0]['input_shape'] == [1, 3, 64, 128]
