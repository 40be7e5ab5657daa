"""Temporal necks: mix the per-frame feature vectors of a clip over time."""
import torch
import torch.nn as nn

from hpekit.registry import MODELS


def check_positive_int(name, value):
    """Raise ValueError unless ``value`` is a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f'{name} must be a positive int, got {value!r}')


def check_probability(name, value):
    """Raise ValueError unless ``0 <= value < 1``."""
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f'{name} must be a float in [0, 1), got {value!r}')


def check_sequence(x, in_channels):
    """Raise ValueError unless ``x`` is [B, T, in_channels]."""
    if x.dim() != 3 or x.shape[-1] != in_channels:
        raise ValueError(f'expected input [B, T, {in_channels}], got {tuple(x.shape)}')


_CELLS = {'lstm': nn.LSTM, 'gru': nn.GRU, 'rnn': nn.RNN}


@MODELS.register_module()
class RecurrentNeck(nn.Module):
    """Stacked recurrent layers (LSTM, GRU or tanh RNN) over the frames of a clip.

    Args:
        in_channels (int): feature size D of each frame.
        hidden_size (int): hidden size of each recurrent layer.
        num_layers (int): stacked layers. Default 1.
        cell (str): 'lstm', 'gru' or 'rnn'. Default 'lstm'.
        bidirectional (bool): run forwards and backwards, concatenating both.
        dropout (float): dropout in [0, 1) on the output of every layer
            (between stacked layers and after the last).

    Shapes:
        forward: [B, T, D] → [B, T, out_channels] with
        ``out_channels = hidden_size × (2 if bidirectional else 1)``.
    """

    sweep_example = dict(cfg=dict(in_channels=6, hidden_size=4, cell='gru', bidirectional=True),
                         inputs=[(2, 3, 6)])

    def __init__(self, in_channels, hidden_size, num_layers=1, cell='lstm',
                 bidirectional=False, dropout=0.0):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('hidden_size', hidden_size)
        check_positive_int('num_layers', num_layers)
        check_probability('dropout', dropout)
        if cell not in _CELLS:
            raise ValueError(f'cell must be one of {sorted(_CELLS)}, got {cell!r}')
        self.in_channels = in_channels
        self.cell = cell
        self.out_channels = hidden_size * (2 if bidirectional else 1)
        self.rnn = _CELLS[cell](in_channels, hidden_size, num_layers=num_layers,
                                batch_first=True, bidirectional=bidirectional,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        """[B, T, D] → [B, T, out_channels]."""
        check_sequence(x, self.in_channels)
        out, _ = self.rnn(_autocast_input(x))
        return self.dropout(out)


def _autocast_input(x):
    """``x`` in CPU autocast's dtype while it is on: oneDNN's recurrent layers under
    bfloat16 autocast accept a bfloat16 input only (a float32 one fails to build its
    primitive on CPUs without native bfloat16). Unchanged otherwise."""
    if x.device.type == 'cpu' and torch.is_autocast_enabled('cpu'):
        return x.to(torch.get_autocast_dtype('cpu'))
    return x


class _TemporalConvLayer(nn.Module):
    """Conv1d with 'same' padding + ReLU + dropout; residual when shapes match."""

    def __init__(self, in_channels, out_channels, kernel_size, dropout):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size,
                              padding=kernel_size // 2)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.residual = in_channels == out_channels

    def forward(self, x):
        """[B, C_in, T] → [B, C_out, T]."""
        out = self.dropout(self.relu(self.conv(x)))
        return out + x if self.residual else out


@MODELS.register_module()
class TemporalConvNeck(nn.Module):
    """1-D temporal convolutions over the frames of a clip.

    Each layer is Conv1d (odd ``kernel_size``, 'same' padding so T is kept) + ReLU
    + dropout, with a residual connection when its input and output sizes match
    (every layer but the first when ``in_channels != hidden_size``).

    Args:
        in_channels (int): feature size D of each frame.
        hidden_size (int): channels of every layer (the output size).
        num_layers (int): number of conv layers. Default 2.
        kernel_size (int): odd temporal kernel size. Default 3.
        dropout (float): dropout in [0, 1) after every layer.

    Shapes:
        forward: [B, T, D] → [B, T, hidden_size].
    """

    sweep_example = dict(cfg=dict(in_channels=6, hidden_size=4), inputs=[(2, 5, 6)])

    def __init__(self, in_channels, hidden_size, num_layers=2, kernel_size=3,
                 dropout=0.0):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('hidden_size', hidden_size)
        check_positive_int('num_layers', num_layers)
        check_positive_int('kernel_size', kernel_size)
        check_probability('dropout', dropout)
        if kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd (for same-length padding), '
                             f'got {kernel_size}')
        self.in_channels = in_channels
        self.out_channels = hidden_size
        sizes = [in_channels] + [hidden_size] * num_layers
        self.layers = nn.Sequential(*[
            _TemporalConvLayer(c_in, c_out, kernel_size, dropout)
            for c_in, c_out in zip(sizes[:-1], sizes[1:])])

    def forward(self, x):
        """[B, T, D] → [B, T, hidden_size]."""
        check_sequence(x, self.in_channels)
        return self.layers(x.transpose(1, 2)).transpose(1, 2)
