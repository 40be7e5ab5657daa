"""bfloat16 mixed-precision training (``tools/train.py --amp bfloat16``: mmengine's
autocast through ``setup_train_config``) learns as float32 does, for the three model
families of the issue "CPU speed at the hardware's limit": the hourglass, SimpleBaseline
and the ResNet + LSTM video model (tiny widths).

Same seed, same batch, same optimizer: the model is fitted to one small batch for a few
steps in each precision. Both must cut the loss, and bfloat16's last loss must stay
close to float32's — no float32 islands (loss, BatchNorm, LSTM) were needed for that; a
precision problem (a loss or normalisation computed in bfloat16, an optimizer stepping
bfloat16 weights) shows as a stalled or diverging bfloat16 curve. On a CPU without
native bfloat16 (this build machine) autocast is emulated and ~10× slower, hence the
tiny shapes and few steps; docs/benchmarks.md has the timings.
"""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.runner import set_random_seed

from hpekit.config.setup import load_config, setup_train_config
from hpekit.engine.optim_wrappers import AutocastOptimWrapper
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules
from tools.benchmarking import harness as bench

# config, synthetic data kind, samples in the batch, steps
CASES = {
    'hourglass': ('tests/configs/mpii_tiny.py', 'mpii', 2, 12),
    'simplebaseline': ('tests/configs/simplebaseline_tiny.py', 'mpii', 4, 20),
    'video': ('tests/configs/video_tiny.py', 'h36m', 4, 20),
}


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    from hpekit.datasets.synthetic.h36m import write_h36m_split
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    root = tmp_path_factory.mktemp('bf16_data')
    write_mpii_split(str(root / 'mpii'), num_train=4, num_val=1, seed=0, progress=False)
    write_h36m_split(str(root / 'h36m'), num_train=4, num_valid=1, size=32, seed=0,
                     progress=False)
    return {'mpii': str(root / 'mpii'), 'h36m': str(root / 'h36m')}


def _losses(config, data_root, samples, steps, amp, work_dir):
    """The summed training loss of each of ``steps`` steps on one fixed batch (the
    same augmented samples and initial weights for every ``amp``: seeded)."""
    cfg = load_config(config, {'train_dataloader.dataset.data_root': data_root})
    setup_train_config(cfg, config, work_dir=str(work_dir), amp=amp)
    set_random_seed(0)
    batch = pseudo_collate(bench.take_samples(
        bench.build_dataset(cfg.train_dataloader.dataset), samples))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    if amp:
        assert isinstance(optim_wrapper, AutocastOptimWrapper)
        assert optim_wrapper.cast_dtype == torch.bfloat16
    losses = []
    for _ in range(steps):
        parts = model.train_step(batch, optim_wrapper)
        losses.append(sum(float(v) for k, v in parts.items() if 'loss' in k))
    assert all(p.dtype == torch.float32 for p in model.parameters()), \
        'autocast must keep the weights (and so the optimizer state) in float32'
    return losses


@pytest.mark.parametrize('family', sorted(CASES))
def test_bfloat16_training_learns_as_float32(family, data_roots, tmp_path):
    register_all_modules()
    config, kind, samples, steps = CASES[family]
    fp32 = _losses(config, data_roots[kind], samples, steps, False, tmp_path / 'f32')
    bf16 = _losses(config, data_roots[kind], samples, steps, 'bfloat16', tmp_path / 'bf16')
    for name, curve in (('float32', fp32), ('bfloat16', bf16)):
        assert curve[-1] < 0.75 * curve[0], f'{family} {name} did not learn: {curve}'
    assert abs(bf16[-1] - fp32[-1]) <= 0.15 * fp32[-1], \
        f'{family}: last loss bfloat16 {bf16[-1]:.4g} vs float32 {fp32[-1]:.4g}'


@pytest.mark.parametrize('cell', ['lstm', 'gru', 'rnn'])
def test_recurrent_neck_takes_a_float32_input_under_bfloat16_autocast(cell):
    """oneDNN's recurrent layers under CPU bfloat16 autocast fail on a float32 input
    (a plugin spatial neck may give one); the neck hands them autocast's dtype."""
    register_all_modules()
    neck = MODELS.build(dict(type='RecurrentNeck', cell=cell, in_channels=16,
                             hidden_size=8))
    x = torch.randn(2, 4, 16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = neck(x)
    assert out.shape == (2, 4, 8) and out.dtype == torch.bfloat16
    assert neck(x).dtype == torch.float32          # outside autocast: untouched


def test_kl_discret_loss_is_float32_under_bfloat16_autocast():
    """CPU autocast leaves log_softmax in its input's dtype: the SimCC loss computes it
    in float32, so bfloat16 logits give the float32 loss of the same (rounded) logits."""
    register_all_modules()
    loss = MODELS.build(dict(type='KLDiscretLoss', beta=10.0, label_softmax=True,
                             use_target_weight=True))
    torch.manual_seed(0)
    logits = [torch.randn(2, 3, 384).bfloat16(), torch.randn(2, 3, 512).bfloat16()]
    targets = [torch.rand(2, 3, 384), torch.rand(2, 3, 512)]
    weight = torch.ones(2, 3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mixed = loss(logits, targets, weight)
    exact = loss([p.float() for p in logits], targets, weight)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, exact, rtol=1e-6, atol=0)
