"""Training memory of a video model, with and without activation checkpointing.

    python tools/memory_estimate.py CONFIG [--batch 16] [--frames 8] [--size 224]
                                    [--device meta|cpu|cuda] [--out memory.json]

Runs one training step (forward, MSE loss, backward) of the config's model on a
batch [B, T, 3, size, size], once with ``model.backbone.with_cp=False`` and once
with ``True``, and reports in bytes (and GiB):

- ``saved_activations``: every tensor autograd keeps for the backward pass, counted
  once per storage (a tensor saved by two ops, or an in-place result, counts once),
  parameters excluded — found with ``torch.autograd.graph.saved_tensors_hooks``;
- ``largest_block``: the most any single backbone residual block saves (without
  checkpointing). With checkpointing a block recomputes these activations during
  backward, so the checkpointed run adds it as ``recompute_in_backward``;
- ``weights``, ``gradients``, ``adam_state`` (two moments): 4 bytes per float32
  parameter each (8 for Adam);
- ``input``: the float32 batch;
- ``estimated_peak``: the sum of all the above. Not counted: activation gradients
  alive during backward (about one layer's output at a time), cuDNN workspaces, the
  CUDA context (~0.5 GiB) and allocator fragmentation — keep a few GiB of margin.

``--device meta`` (the default without a GPU) runs on PyTorch's meta device: shapes
only, no memory, no arithmetic, so batch 16 × 8 × 224 × 224 takes seconds and no RAM.
``--device cpu`` runs real tensors (same counts; use a small batch).
``--device cuda`` also runs a real Adam step and reports the allocator's
``cuda_peak_allocated`` (``torch.cuda.max_memory_allocated``).
The result is printed and written as JSON to ``--out``.
"""
import argparse
import json
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

import hpekit.models  # noqa: F401  (registers the model parts)
from hpekit.models.backbones.resnet import BasicBlock, Bottleneck
from hpekit.registry import MODELS

GIB = 2**30


def build_model(cfg, with_cp, device):
    """The config's model with ``backbone.with_cp`` set, in train mode on ``device``.

    Pretrained weights are not loaded (``init_cfg=None``): memory does not depend on
    the values, and the tool must run without the weight file.
    """
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], with_cp=with_cp, init_cfg=None)
    with torch.device(device):
        model = MODELS.build(model_cfg)
    return model.train()


def count_saved_tensors(model, inputs):
    """One forward + backward of ``model(inputs)``; what autograd saved meanwhile.

    Args:
        model: a video model whose ``forward(inputs, mode='tensor')`` gives [B, T, K, 3].
        inputs: float tensor [B, T, 3, H, W] on the model's device.

    Returns:
        dict: ``saved_activations`` (bytes, each non-parameter storage once) and
        ``largest_block`` (bytes saved inside the most demanding residual block).
    """
    params = {p.untyped_storage()._cdata for p in model.parameters()}
    saved, per_block, stack = {}, {}, []

    def pack(tensor):
        key = tensor.untyped_storage()._cdata
        if key not in params and key not in saved:
            saved[key] = tensor.untyped_storage().nbytes()
            if stack:
                per_block[stack[-1]] = per_block.get(stack[-1], 0) + saved[key]
        return tensor

    def leave(module, args, output):
        stack.pop()   # returns None: the block's output stays as it is

    handles = []
    for name, module in model.named_modules():
        if isinstance(module, (BasicBlock, Bottleneck)):
            handles.append(module.register_forward_pre_hook(
                lambda m, args, name=name: stack.append(name)))
            handles.append(module.register_forward_hook(leave))
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = model(inputs, mode='tensor').float().pow(2).mean()
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    return dict(saved_activations=sum(saved.values()),
                largest_block=max(per_block.values(), default=0))


def state_bytes(model):
    """Bytes of the weights, their gradients and Adam's two moments (float32)."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters()
                    if p.requires_grad)
    return dict(weights=weights, gradients=trainable, adam_state=2 * trainable)


def cuda_peak(model, inputs):
    """Peak bytes allocated by CUDA over one real Adam training step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    loss = model(inputs, mode='tensor').float().pow(2).mean()
    loss.backward()
    optimizer.step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated()


def measure(cfg, batch, frames, size, with_cp, device, recompute=0):
    """All figures (bytes) of one setting; see the module docstring.

    ``recompute``: bytes a checkpointed block recomputes during backward (the
    ``largest_block`` of the run without checkpointing); added to the peak.
    """
    model = build_model(cfg, with_cp, device)
    inputs = torch.randn(batch, frames, 3, size, size, device=device)
    start = time.perf_counter()
    counted = count_saved_tensors(model, inputs)
    result = dict(with_cp=with_cp, saved_activations=counted['saved_activations'])
    if with_cp:
        result['recompute_in_backward'] = recompute
    else:
        result['largest_block'] = counted['largest_block']
    result.update(state_bytes(model))
    result['input'] = inputs.numel() * inputs.element_size()
    result['estimated_peak'] = sum(result[k] for k in (
        'saved_activations', 'weights', 'gradients', 'adam_state', 'input')) + recompute
    if device == 'cuda':
        model.zero_grad(set_to_none=True)
        result['cuda_peak_allocated'] = cuda_peak(model, inputs)
    result['seconds'] = round(time.perf_counter() - start, 2)
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Training memory with and without '
                                     'activation checkpointing of the backbone.')
    parser.add_argument('config', help='config file with a video model')
    parser.add_argument('--batch', type=int, default=16, help='clips per batch')
    parser.add_argument('--frames', type=int, default=8, help='frames per clip')
    parser.add_argument('--size', type=int, default=224, help='frame height = width (px)')
    parser.add_argument('--device', choices=['meta', 'cpu', 'cuda'], default=None,
                        help='default: cuda if available, else meta')
    parser.add_argument('--out', default='memory_estimate.json', help='JSON result file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config} does not exist')
    for name in ('batch', 'frames', 'size'):
        if getattr(args, name) < 1:
            raise ValueError(f'--{name} must be >= 1, got {getattr(args, name)}')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'meta')
    cfg = Config.fromfile(args.config)
    logger = MMLogger.get_instance('memory_estimate', log_level='INFO')
    results = []
    for with_cp in (False, True):
        logger.info(f'measuring with_cp={with_cp} on {device}, batch {args.batch} × '
                    f'{args.frames} × {args.size} × {args.size} ...')
        recompute = results[0]['largest_block'] if with_cp else 0
        result = measure(cfg, args.batch, args.frames, args.size, with_cp, device,
                         recompute)
        logger.info(', '.join(f'{k}: {v / GIB:.2f} GiB' for k, v in result.items()
                              if k not in ('with_cp', 'seconds')))
        results.append(result)
    report = dict(config=args.config, device=device, batch=args.batch,
                  frames=args.frames, size=args.size, results=results)
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=2)
    logger.info(f'written to {args.out}')
    return report


if __name__ == '__main__':
    main()
