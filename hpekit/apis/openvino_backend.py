"""OpenVINO as an inference backend: ``init_model(..., backend='openvino')``.

OpenVINO's CPU plugin runs the same cached ONNX graph as the ONNX Runtime backend
(``hpekit.apis.onnxruntime_backend.export_cached``: exported once, next to the
checkpoint, under a key of the weights and the model config; one export serves both
backends). It is the ONNX route to bfloat16 on a CPU: ONNX Runtime's x86 CPU provider
has no bfloat16 convolutions, while OpenVINO runs bfloat16 where the CPU has it
natively (``avx512_bf16`` or AMX). ``precision`` sets OpenVINO's
``INFERENCE_PRECISION_HINT`` ('f32' or 'bf16'); the compiled model's own hint is read
back, and 'bfloat16' on a CPU that would run float32 instead is an error, never a
silent fallback.

``OpenVinoEstimator`` is an ``hpekit.apis.exported.ExportedEstimator``: the graph's
outputs are flipped back and decoded by the PyTorch estimator's ``predict_exported``.
"""
import os
from typing import List, Optional

import numpy as np
import torch

from hpekit.apis.exported import ExportedEstimator, check_exportable
from hpekit.apis.onnxruntime_backend import export_cached
from hpekit.models.estimators import BasePoseEstimator

#: ``precision`` → OpenVINO's INFERENCE_PRECISION_HINT.
PRECISION_HINTS = {'float32': 'f32', 'bfloat16': 'bf16'}
#: OpenVINO's PERFORMANCE_HINT. LATENCY: one stream, every thread on the one request
#: hpekit runs at a time. THROUGHPUT splits the threads into streams meant for parallel
#: requests, so one request gets one stream's share. Measured (hg2 256×256, 4 crops a
#: request, 2-core AVX2 machine): 1 thread, both compile to one stream (429 vs 446 ms
#: a crop, noise); 2 threads on the idle machine, LATENCY 181 ms a crop (1.9 cores
#: busy), THROUGHPUT 318 ms (2 streams, 1.0 core busy).
PERFORMANCE_HINT = 'LATENCY'
#: oneTBB, OpenVINO's threading library, loads its hwloc binding (tbbbind) with
#: RTLD_DEEPBIND: under a preloaded allocator (LD_PRELOAD: the jemalloc hpekit's tools
#: apply, tcmalloc …) memory then crosses allocators and ``compile_model`` aborts the
#: process ("free(): invalid pointer"; openvinotoolkit/openvino#29025). This oneTBB
#: switch loads it without RTLD_DEEPBIND; it is read when the first model compiles.
TBB_NO_DEEPBIND = 'TBB_ENABLE_SANITIZERS'


def _openvino():
    try:
        import openvino  # optional dependency (extra "openvino")
    except ImportError as err:
        raise ImportError("backend='openvino' needs OpenVINO: pip install openvino (or "
                          'pip install "hpekit[openvino]")') from err
    return openvino


def tbb_safe_environment(environ=None) -> bool:
    """Set ``TBB_NO_DEEPBIND=1`` in ``environ`` (default ``os.environ``) when an
    allocator is preloaded (``LD_PRELOAD``) and the variable is unset, so that
    OpenVINO can compile there. Returns whether it set it."""
    environ = os.environ if environ is None else environ
    if not environ.get('LD_PRELOAD') or TBB_NO_DEEPBIND in environ:
        return False
    environ[TBB_NO_DEEPBIND] = '1'
    return True


def compiled_precision(compiled) -> str:
    """The inference precision an OpenVINO compiled model runs: 'f32', 'bf16' …"""
    return compiled.get_property('INFERENCE_PRECISION_HINT').get_type_name()


def compile_graph(onnx_file: str, threads: int, precision: str = 'float32'):
    """An ONNX file compiled by OpenVINO's CPU plugin (``threads`` inference threads,
    ``PERFORMANCE_HINT``, ``precision`` → ``PRECISION_HINTS``), after
    ``tbb_safe_environment``.

    Returns:
        The compiled model (``openvino.CompiledModel``).

    Raises:
        ValueError: an unknown precision, or a compiled model that runs another
            precision than the one asked for ('bfloat16' on a CPU without native
            bfloat16: OpenVINO would run float32).
        ImportError: OpenVINO is not installed.
    """
    if precision not in PRECISION_HINTS:
        raise ValueError(f"backend='openvino': precision must be one of "
                         f'{tuple(PRECISION_HINTS)}, got {precision!r}')
    ov = _openvino()
    tbb_safe_environment()
    compiled = ov.Core().compile_model(onnx_file, 'CPU', {
        'INFERENCE_NUM_THREADS': int(threads),
        'INFERENCE_PRECISION_HINT': PRECISION_HINTS[precision],
        'PERFORMANCE_HINT': PERFORMANCE_HINT})
    asked, got = PRECISION_HINTS[precision], compiled_precision(compiled)
    if got == asked:
        return compiled
    if precision == 'bfloat16':
        raise ValueError(
            f"precision='bfloat16' with backend='openvino' ({onnx_file}): this CPU has "
            'no native bfloat16 (avx512_bf16 or AMX), so OpenVINO would run float32 '
            f"(compiled INFERENCE_PRECISION_HINT: {got!r}); use precision='float32'")
    raise ValueError(f"backend='openvino' ({onnx_file}): precision={precision!r} asked "
                     f'for INFERENCE_PRECISION_HINT {asked!r}, the compiled model runs '
                     f'{got!r}')


class OpenVinoEstimator(ExportedEstimator):
    """An exported hpekit estimator run by OpenVINO's CPU plugin, usable wherever
    inference takes a model from ``init_model`` (``ExportedEstimator``).

    Args:
        model: the PyTorch estimator (from ``init_model``).
        onnx_file (str): the graph ``export_onnx`` wrote for it.
        device (str): 'cpu' (OpenVINO's CPU plugin; other devices are refused).
        threads (int, optional): OpenVINO's INFERENCE_NUM_THREADS; default
            ``torch.get_num_threads()``, so ``OMP_NUM_THREADS``/``torch.set_num_threads``
            govern every backend alike.
        precision (str): 'float32' or 'bfloat16' (``compile_graph``).

    Attributes: those of ``ExportedEstimator``, and ``compiled`` (OpenVINO's compiled
    model), ``precision``, ``threads``, ``backend`` ('openvino').

    Raises:
        ValueError: a device other than the CPU, an unknown precision, or 'bfloat16'
            where OpenVINO's compiled model runs another precision (a CPU without
            native bfloat16).
        ImportError: OpenVINO is not installed.
    """

    backend = 'openvino'

    def __init__(self, model: BasePoseEstimator, onnx_file: str, device: str = 'cpu',
                 threads: Optional[int] = None, precision: str = 'float32') -> None:
        if torch.device(device).type != 'cpu':
            raise ValueError(f"backend='openvino' runs on the CPU, got device={device!r} "
                             "(GPUs: backend='pytorch' or 'onnxruntime')")
        super().__init__(model, onnx_file)
        self.threads = int(threads or torch.get_num_threads())
        self.precision = precision
        self.compiled = compile_graph(onnx_file, self.threads, precision)
        self._outputs = [self.compiled.output(name) for name in self.output_names]
        self._request = self.compiled.create_infer_request()

    def compiled_precision(self) -> str:
        """The inference precision OpenVINO compiled the graph for: 'f32', 'bf16' …"""
        return compiled_precision(self.compiled)

    def run_arrays(self, array: np.ndarray) -> List[np.ndarray]:
        """float32 array (the spec's input layout) → the graph's outputs (numpy
        copies, not OpenVINO's reused buffers), in ``output_names`` order."""
        results = self._request.infer({self.spec.input_name: array}, share_inputs=True,
                                      share_outputs=False)
        return [results[port] for port in self._outputs]


def openvino_model(model: BasePoseEstimator, checkpoint: Optional[str] = None,
                   device: str = 'cpu', cache_dir: Optional[str] = None,
                   threads: Optional[int] = None,
                   precision: str = 'float32') -> OpenVinoEstimator:
    """``model`` (from ``init_model``) exported once (the cache the ONNX Runtime backend
    uses: ``export_cached``) and compiled by OpenVINO in ``precision``."""
    check_exportable(model, 'openvino')
    path, _ = export_cached(model, checkpoint, cache_dir)
    return OpenVinoEstimator(model, path, device=device, threads=threads,
                             precision=precision)
