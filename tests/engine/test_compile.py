"""``compile=True`` (mmengine compiles the model's whole ``train_step`` with
``torch.compile``) must trace hpekit's models. Traced here with dynamo's ``eager``
backend: the same graph capture as inductor (where the failures were), without the
minutes of code generation."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from hpekit.config.setup import load_config
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules
from tools.benchmarking import harness as bench

CASES = {'mpii': 'tests/configs/mpii_tiny.py', 'video': 'tests/configs/video_tiny.py'}


def _data(kind, root):
    if kind == 'mpii':
        from hpekit.datasets.synthetic.mpii import write_mpii_split
        write_mpii_split(root, num_train=2, num_val=1, seed=0, progress=False)
    else:
        from hpekit.datasets.synthetic.h36m import write_h36m_split
        write_h36m_split(root, num_train=2, num_valid=1, size=32, seed=0, progress=False)


@pytest.mark.parametrize('kind', sorted(CASES))
def test_train_step_traces_under_torch_compile(kind, tmp_path):
    register_all_modules()
    _data(kind, str(tmp_path))
    cfg = load_config(CASES[kind],
                      {'train_dataloader.dataset.data_root': str(tmp_path)})
    batch = pseudo_collate(bench.take_samples(
        bench.build_dataset(cfg.train_dataloader.dataset), 2))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    before = copy.deepcopy(model.state_dict())
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    torch._dynamo.reset()
    compiled = torch.compile(model.train_step, backend='eager')
    losses = compiled(batch, optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
    moved = [k for k, v in model.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, before[k])]
    assert moved, 'the compiled step did not update the weights'
