"""What this machine's processor can do, for the tools' automatic precision choice.

``native_bfloat16()`` says whether the CPU has bfloat16 arithmetic units
(``avx512_bf16`` or AMX). Where it has them, hpekit's tools run inference
(``--precision auto``, ``hpekit.apis.model.resolve_precision``) and CPU training
(``tools/train.py`` without ``--amp``, ``resolve_amp``) in bfloat16 by default, with
one log line saying so; elsewhere bfloat16 is emulated and slower, and they stay
float32 (docs/benchmarks.md, "Roofline and bfloat16 inference").
"""
from typing import Optional, Set, Union

import torch

# The CPU feature flags of Linux's /proc/cpuinfo that mean native bfloat16 arithmetic.
BFLOAT16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')
# torch's own (private) probes of the same units, used when this torch has them.
_TORCH_PROBES = ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
CPUINFO = '/proc/cpuinfo'


def native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (``avx512_bf16`` or AMX).

    Asks torch (``torch.cpu._is_avx512_bf16_supported`` /
    ``_is_amx_tile_supported``, private: looked up with getattr); with a torch that has
    neither, reads the flags of Linux's ``/proc/cpuinfo`` (``avx512_bf16``,
    ``amx_bf16``). False when neither source is available.
    """
    probes = [getattr(torch.cpu, name, None) for name in _TORCH_PROBES]
    probes = [probe for probe in probes if callable(probe)]
    if probes:
        return any(bool(probe()) for probe in probes)
    return bool(cpuinfo_bfloat16_flags())


def cpuinfo_bfloat16_flags(path: Optional[str] = None) -> Set[str]:
    """The bfloat16 flags (``BFLOAT16_CPU_FLAGS``) that ``path`` (default ``CPUINFO``:
    Linux's ``/proc/cpuinfo``) lists for this CPU; an empty set where it is missing."""
    try:
        with open(path or CPUINFO, encoding='utf-8') as f:
            words = {word for line in f if line.startswith('flags')
                     for word in line.split(':', 1)[-1].split()}
    except OSError:
        return set()
    return words & set(BFLOAT16_CPU_FLAGS)


def is_cpu(device: Union[str, torch.device]) -> bool:
    """Whether ``device`` ('cpu', 'cuda:0', a ``torch.device``) is the CPU."""
    return torch.device(device).type == 'cpu'


def auto_bfloat16(device: Union[str, torch.device]) -> bool:
    """Whether the tools' automatic choice on ``device`` is bfloat16: a CPU with native
    bfloat16 (``native_bfloat16``). GPUs: False (their precision stays opt-in)."""
    return is_cpu(device) and native_bfloat16()


def auto_bfloat16_message(what: str, off: str) -> str:
    """The one log line of an automatic bfloat16 choice: ``what`` runs in bfloat16
    (e.g. 'inference'), and the flag ``off`` turns it off (e.g. '--precision float32')."""
    return (f'{what} runs in bfloat16 by default: this CPU has native bfloat16 '
            f'(avx512_bf16 or AMX); {off} turns it off')


def resolve_amp(requested: Union[None, bool, str],
                device: Union[str, torch.device]) -> Union[bool, str]:
    """``tools/train.py --amp``'s value → ``setup_train_config``'s ``amp``.

    Args:
        requested: None (no ``--amp``: automatic), 'off', True (``--amp`` without a
            value), 'float16' or 'bfloat16'.
        device: where the training runs ('cpu', 'cuda', ...).

    Returns:
        None → 'bfloat16' on a CPU with native bfloat16 (``auto_bfloat16``), else False
        (GPUs keep AMP opt-in); 'off' → False; anything else unchanged.
    """
    if requested is None:
        return 'bfloat16' if auto_bfloat16(device) else False
    if requested == 'off':
        return False
    return requested

