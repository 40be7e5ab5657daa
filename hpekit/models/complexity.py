"""Parameters and FLOPs of a model, counted by mmengine's analysis (``FlopAnalyzer``).

mmengine (like fvcore) counts one multiply-accumulate as one FLOP. Its default
handles cover convolutions, linear layers, matrix products, batch norm and
upsampling; hpekit adds the recurrent cells (``aten::lstm``, ``aten::gru``,
``aten::rnn_tanh``, ``aten::rnn_relu``), which mmengine leaves out. Element-wise
operators (additions, activations, max-pooling) stay uncounted, as in mmengine; the
result lists them with how often they ran.
"""
import math

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

RNN_OPS = ('aten::lstm', 'aten::gru', 'aten::rnn_tanh', 'aten::rnn_relu')


def rnn_flop_jit(inputs, outputs):
    """Multiply-accumulates of a traced ``aten::lstm``/``gru``/``rnn_*`` node.

    Every weight matrix (input-to-hidden and hidden-to-hidden, each gate stacked,
    every layer and direction) multiplies one vector per time step and sequence:
    MACs = B·T · Σ rows·cols of the 2-D weights. The input is inputs[0]
    ([B, T, I] or [T, B, I]); the weights are the list in inputs[2]. Bias additions
    and the gate non-linearities are element-wise and not counted.
    """
    batch_time = math.prod(get_shape(inputs[0])[:2])
    weights = [get_shape(w) for w in inputs[2].node().inputs()]
    return batch_time * sum(math.prod(shape) for shape in weights if len(shape) == 2)


class _TensorMode(torch.nn.Module):
    """``model(x, mode='tensor')`` as a plain module, for tracing."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return self.model(inputs, mode='tensor')


def model_complexity(model, input_shape):
    """Count parameters and FLOPs of ``model(inputs, mode='tensor')``.

    Args:
        model: an hpekit estimator (any module whose forward takes ``mode``).
        input_shape (tuple): the input tensor's shape, batch axis included, e.g.
            (1, 3, 256, 256) or (1, 8, 3, 224, 224) for a clip.

    Returns:
        dict: ``params`` (int), ``flops`` (int, multiply-accumulates for the whole
        input), ``flops_by_module`` (dict: top-level submodule → FLOPs),
        ``uncounted_ops`` (dict: operator → times it ran without a FLOP count),
        ``input_shape`` (list).
    """
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        inputs = torch.randn(*input_shape, device=device)
        analyzer = FlopAnalyzer(_TensorMode(model), (inputs, ))
        for op in RNN_OPS:
            analyzer.set_op_handle(op, rnn_flop_jit)
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        by_module = analyzer.by_module()
        flops = analyzer.total()
        uncounted = dict(analyzer.unsupported_ops())
    finally:
        model.train(was_training)
    children = {name: by_module.get(f'model.{name}', 0)
                for name, _ in model.named_children() if name != 'data_preprocessor'}
    return dict(params=int(parameter_count(model)['']), flops=int(flops),
                flops_by_module={k: int(v) for k, v in children.items()},
                uncounted_ops=uncounted, input_shape=list(input_shape))


def format_count(value):
    """12_345_678 → '12.35 M'; keeps two decimals (K, M, G, T)."""
    for unit, size in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= size:
            return f'{value / size:.2f} {unit}'
    return str(int(value))
