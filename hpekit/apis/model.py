"""Building a model for inference: ``init_model`` and what it needs.

``init_model`` is the one way hpekit builds a model outside training: the tools (test,
demo, export, FLOPs, benchmark, pictures) and the inference functions
(``hpekit.apis.topdown``, ``hpekit.apis.video3d``, ``hpekit.apis.lifting``) use it.
"""
import os
import re
import types
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from hpekit.apis.exported import BACKENDS, ExportedEstimator
from hpekit.apis.onnxruntime_backend import onnxruntime_model
from hpekit.apis.openvino_backend import openvino_model
from hpekit.checkpoint.loading import (CheckpointError, check_finite_weights,
                                       load_checkpoint_file)
from hpekit.config.setup import load_config, native_config
from hpekit.models.data_preprocessors.image_preprocessor import stack_batch
from hpekit.models.estimators import BasePoseEstimator, EstimatorSpec
from hpekit.models.model_inputs import model_spec
from hpekit.registry import DATASETS, MODELS
from hpekit.runtime import hardware
from hpekit.runtime.allocator import retains_memory
from hpekit.structures import PoseDataSample
from hpekit.utils.setup_env import register_all_modules

# Person crops (or clip windows) per forward pass when the caller gives none: the
# batch size that was fastest per crop for each backend, measured in
# docs/benchmarks.md ("Inference: backend and batch size"). PyTorch on a CPU depends on
# whether the allocator retains freed memory (hpekit's tools preload one that does).
# OpenVINO: 626, 621, 614 ms a crop at batch 1, 4, 16 (paired: 1, 0.90, 0.98; hg2
# 256×256 with flip test, 1 thread): within noise of each other, 4 as ONNX Runtime.
DEFAULT_BATCH_SIZE = {'pytorch': 16, 'pytorch-no-retain': 4, 'onnxruntime': 4,
                      'openvino': 4}

#: Numeric precisions of inference (``init_model(precision=...)``, ``set_precision``).
PRECISIONS = ('float32', 'bfloat16')
#: What the tools' ``--precision`` takes: 'auto' (their default, ``resolve_precision``)
#: or one of ``PRECISIONS``.
TOOL_PRECISIONS = ('auto', ) + PRECISIONS
#: The backends that run precisions other than float32.
BFLOAT16_BACKENDS = ('pytorch', 'openvino')
#: The autocast dtype of each precision other than float32.
AUTOCAST_DTYPES = {'bfloat16': torch.bfloat16}

#: What ``init_model`` returns and the inference functions take.
PoseModel = Union[BasePoseEstimator, ExportedEstimator]


def default_batch_size(model: PoseModel) -> int:
    """Crops per forward pass for ``model`` when none is given (``DEFAULT_BATCH_SIZE``):
    by its backend (``model.backend``; PyTorch models have none), and for PyTorch on
    a CPU by whether the process's allocator retains memory
    (``hpekit.runtime.allocator.retains_memory``)."""
    backend = getattr(model, 'backend', 'pytorch')
    if backend != 'pytorch':
        return DEFAULT_BATCH_SIZE.get(backend, 4)
    params = next(iter(model.parameters()), None) if hasattr(model, 'parameters') else None
    on_gpu = params is not None and params.device.type != 'cpu'
    if on_gpu or retains_memory():
        return DEFAULT_BATCH_SIZE['pytorch']
    return DEFAULT_BATCH_SIZE['pytorch-no-retain']


def init_model(config: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[Dict[str, Any]] = None, strict: bool = True,
               backend: str = 'pytorch', onnx_cache_dir: Optional[str] = None,
               allow_nonfinite: bool = False, precision: str = 'float32') -> PoseModel:
    """Build a config's model, load weights, and prepare it for inference.

    The one way hpekit builds a model outside training: the tools (test, demo,
    export, FLOPs, benchmark, pictures) and the inference API all call it.

    Args:
        config (str | PathLike | Config): config file or loaded config.
        checkpoint (str, optional): local checkpoint file (an mmengine checkpoint
            with 'state_dict', or a bare state dict), loaded with hpekit's safe
            loader (``weights_only=True`` and an allow-list); 'module.' prefixes are
            dropped. None: random weights.
        device (str | torch.device): where the model runs, e.g. 'cpu' or 'cuda:0'.
        cfg_options (dict, optional): dotted keys to override, as ``--cfg-options``.
        strict (bool): every key of the model must be in the checkpoint and vice
            versa (default); False loads the keys that fit and reports the rest.
        backend (str): 'pytorch' (default) or 'onnxruntime': the model is exported
            once to ONNX (cached next to the checkpoint, keyed by the checkpoint's
            SHA-256 and the model config; see ``hpekit.apis.onnxruntime_backend``)
            and an ``OnnxRuntimeEstimator`` is returned: the same predictions
            through ``test_step`` (flip test included, decoded by the PyTorch
            estimator's own code), usable by every inference function.
            'openvino': the same cached graph run by OpenVINO's CPU plugin
            (``OpenVinoEstimator``, ``hpekit.apis.openvino_backend``), in float32 or,
            on a CPU with native bfloat16, in bfloat16.
        onnx_cache_dir (str, optional): where the ONNX Runtime and OpenVINO backends
            keep their graphs instead of the checkpoint's folder.
        allow_nonfinite (bool): load a checkpoint whose weights hold NaN/Inf with a
            warning instead of ``NonFiniteWeightsError`` (for debugging; its
            predictions are NaN). Default False.
        precision (str): 'float32' (default) or 'bfloat16': the network runs under
            ``torch.autocast`` in bfloat16 (channels-last) and its outputs are
            decoded in float32 (``set_precision``); with ``backend='openvino'``
            OpenVINO runs the graph in bfloat16 (a CPU with native bfloat16 only: a
            ``ValueError`` elsewhere). bfloat16 needs ``backend='pytorch'`` or
            'openvino' and an estimator with ``predict_exported`` (top-down and
            video models; not the 2D→3D lifter).

    Returns:
        The model in eval mode on ``device``, with ``model.cfg`` (the config),
        ``model.spec`` (what it takes and returns, see ``EstimatorSpec``) and
        ``model.dataset_meta``: the test dataset's parsed metainfo
        (``hpekit.datasets.parse_pose_metainfo``: ``num_keypoints``,
        ``keypoint_id2name``, ``flip_indices``, ``skeleton_links``, colours …).

    Raises:
        FileNotFoundError: config missing.
        CheckpointError: unreadable or mismatching checkpoint (UnsafeCheckpointError:
            unsafe; NonFiniteWeightsError: weights holding NaN/Inf, named with the
            checkpoint's path and the first such tensor).
        TypeError: a model without a spec.
        ValueError: a config without a test or val dataset; an unknown precision, or
            'bfloat16' with ``backend='onnxruntime'``, or with 'openvino' on a CPU
            without native bfloat16.
        NotImplementedError: 'bfloat16' for an estimator without ``predict_exported``.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    check_precision(precision, backend)
    register_all_modules()
    cfg = _load_config(config, cfg_options)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_weights(model, checkpoint, strict=strict, allow_nonfinite=allow_nonfinite)
    model.cfg = cfg
    model.dataset_meta = dataset_metainfo(cfg)
    spec = model_spec(model)
    if spec.num_keypoints != model.dataset_meta['num_keypoints']:
        raise ValueError(f'{cfg.filename}: the model predicts {spec.num_keypoints} '
                         f"keypoints but the test dataset's metainfo has "
                         f"{model.dataset_meta['num_keypoints']}")
    if backend == 'onnxruntime':
        return onnxruntime_model(model.eval(), checkpoint, device=device,
                                 cache_dir=onnx_cache_dir)
    if backend == 'openvino':
        return openvino_model(model.eval(), checkpoint, device=device,
                              cache_dir=onnx_cache_dir, precision=precision)
    return set_precision(model.to(device).eval(), precision)


def check_precision(precision: str, backend: str = 'pytorch') -> None:
    """Raise ``ValueError`` unless ``precision`` is one of ``PRECISIONS`` and runs on
    ``backend`` (``BFLOAT16_BACKENDS``; ONNX Runtime runs the float32 graph only)."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
    if precision != 'float32' and backend not in BFLOAT16_BACKENDS:
        raise ValueError(f"precision={precision!r} runs on backend='pytorch' "
                         "(torch.autocast) or 'openvino' (a CPU with native bfloat16); "
                         f"backend={backend!r} runs the float32 graph only: use "
                         "precision='float32' with it")


def resolve_precision(requested: str, device: Union[str, torch.device],
                      backend: str = 'pytorch',
                      model: Optional[torch.nn.Module] = None) -> str:
    """The precision a tool runs for ``--precision requested`` (``TOOL_PRECISIONS``).

    'auto' → 'bfloat16' when ``device`` is a CPU with native bfloat16
    (``hpekit.runtime.hardware.native_bfloat16``: ``avx512_bf16`` or AMX) and
    ``backend`` runs bfloat16 (``BFLOAT16_BACKENDS``: 'pytorch', 'openvino'), logging
    one line that says so and that ``--precision float32`` turns it off; otherwise
    (GPUs, CPUs without native bfloat16, float32-only backends such as 'onnxruntime')
    'float32', silently; so also for a ``model`` given that cannot run bfloat16 (an
    estimator without ``predict_exported``, such as the 2D→3D lifter). Any other
    value is returned unchanged and checked by
    ``init_model``/``set_precision`` (explicit 'bfloat16' on a CPU without native
    bfloat16: PyTorch emulates it, slower; OpenVINO refuses it).
    """
    if requested != 'auto':
        return requested
    if not hardware.auto_bfloat16(device) or not _runs_bfloat16(backend) \
            or (model is not None and not _decodes_exported(model)):
        return 'float32'
    print_log(hardware.auto_bfloat16_message('Inference', '--precision float32'),
              logger='current')
    return 'bfloat16'


def _decodes_exported(model: torch.nn.Module) -> bool:
    """Whether ``model`` (an estimator, or a wrapper of one) has its own
    ``predict_exported``, which ``set_precision('bfloat16')`` needs."""
    estimator = model.module if is_model_wrapper(model) else model
    return isinstance(estimator, BasePoseEstimator) and \
        type(estimator).predict_exported is not BasePoseEstimator.predict_exported


def _runs_bfloat16(backend: str) -> bool:
    """Whether ``init_model`` runs ``backend`` in ``precision='bfloat16'``."""
    return backend in BFLOAT16_BACKENDS and backend in BACKENDS


def set_precision(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """Make ``model.test_step``/``val_step`` run the network in ``precision``, in place.

    For an estimator from ``init_model`` or the one a Runner holds (a model wrapper
    such as DDP is looked through), so ``tools/test.py`` can use it too.

    - 'float32': the estimator's own steps (undoes an earlier call; contiguous
      weights again).
    - 'bfloat16': the network (``export_forward``: normalisation, backbone, neck,
      head outputs) runs under ``torch.autocast(<device type>, torch.bfloat16)`` with
      weights and inputs in channels-last memory format (a contiguous bfloat16 3×3
      convolution was 8× slower on an AVX2 CPU; docs/benchmarks.md); the outputs
      are cast back to float32 and handed to the estimator's ``predict_exported``,
      which flips back and decodes them as the ONNX Runtime backend's outputs are:
      flip test and decoding stay float32 and are the same code. Training (``train_step``,
      ``forward``) is untouched (mixed-precision training: ``tools/train.py --amp``).

    Returns:
        ``model`` (the same object), with ``precision`` set as an attribute.

    Raises:
        ValueError: unknown precision.
        TypeError: not a ``BasePoseEstimator``.
        NotImplementedError: 'bfloat16' for an estimator without ``predict_exported``.
    """
    check_precision(precision)
    estimator = model.module if is_model_wrapper(model) else model
    if not isinstance(estimator, BasePoseEstimator):
        raise TypeError(f'set_precision needs an hpekit estimator (BasePoseEstimator), '
                        f'got {type(estimator).__name__}')
    for name in ('test_step', 'val_step'):
        estimator.__dict__.pop(name, None)
    if precision == 'float32':
        if getattr(estimator, 'precision', 'float32') != 'float32':
            estimator.to(memory_format=torch.contiguous_format)
    else:
        if not _decodes_exported(estimator):
            raise NotImplementedError(
                f"{type(estimator).__name__} has no predict_exported: precision="
                f"{precision!r} needs it to decode the network's outputs in float32 "
                "(top-down and video estimators have it); use precision='float32'")
        estimator.to(memory_format=torch.channels_last)
        estimator.test_step = estimator.val_step = types.MethodType(_autocast_step,
                                                                    estimator)
    estimator.precision = precision
    return model


def _channels_last(tensor):
    """A 4-D tensor in channels-last memory format; other tensors unchanged."""
    return tensor.contiguous(memory_format=torch.channels_last) if tensor.dim() == 4 \
        else tensor


@torch.no_grad()
def _autocast_step(self, data: dict) -> List[PoseDataSample]:
    """``test_step`` of an estimator under ``set_precision``: a pseudo-collated batch
    ``{'inputs': uint8 items, 'data_samples'}`` → the data samples with predictions.

    The stacked pixels (float32 0..255, on the model's device) go to
    ``predict_exported`` with a ``run`` that applies ``export_forward`` under autocast
    in ``AUTOCAST_DTYPES[self.precision]`` and returns float32 outputs."""
    pre = self.data_preprocessor
    device = next(self.parameters()).device
    pixels = stack_batch(data['inputs'], pre.item_layout, pre.item_name)
    pixels = pixels.to(device).float()
    samples = data.get('data_samples')
    if samples is None:
        samples = [PoseDataSample() for _ in range(pixels.shape[0])]
    samples = pre.cast_data(list(samples))
    dtype = AUTOCAST_DTYPES[self.precision]

    def run(batch):
        with torch.autocast(device.type, dtype=dtype):
            outputs = self.export_forward(_channels_last(batch))
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs, )
        return [out.float() for out in outputs]

    return self.predict_exported(run, pixels, samples)


def _load_config(config, cfg_options):
    """A Config from a path or a Config (copied), ``cfg_options`` merged."""
    if isinstance(config, (str, os.PathLike)):
        return load_config(os.fspath(config), cfg_options)
    if not isinstance(config, Config):
        raise TypeError(f'config must be a file path or an mmengine Config, got '
                        f'{type(config).__name__}')
    cfg = native_config(config.copy())
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_weights(model: torch.nn.Module, checkpoint: Union[str, os.PathLike],
                 strict: bool = True, allow_nonfinite: bool = False) -> Dict[str, List[str]]:
    """Load a local checkpoint's weights into ``model`` ('module.' prefixes dropped).

    Args:
        strict (bool): raise unless the keys match exactly; False loads what fits
            (shapes must still agree) and returns the report.
        allow_nonfinite (bool): weights holding NaN/Inf load with a warning instead
            of raising ``NonFiniteWeightsError`` (``check_finite_weights``).

    Returns:
        dict: 'missing' and 'unexpected' key lists.

    Raises:
        CheckpointError: unreadable file, no state dict, or (strict) keys/shapes that
            do not match the model (the file and up to five keys of each are named).
        NonFiniteWeightsError: a floating-point weight holds NaN/Inf (the file, the
            first such tensor and how many there are are named); nothing was loaded.
    """
    state = load_checkpoint_file(os.fspath(checkpoint), map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f'checkpoint {checkpoint} holds no state dict (expected '
                              "a dict of tensors or a dict with 'state_dict')")
    state = {re.sub(r'^module\.', '', key): value for key, value in state.items()}
    check_finite_weights(state, checkpoint, allow=allow_nonfinite)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise CheckpointError(f'checkpoint {checkpoint} does not fit the model: '
                              f'{err}') from None
    if strict and (result.missing_keys or result.unexpected_keys):
        raise CheckpointError(
            f'checkpoint {checkpoint} does not match the model of the config: '
            f'{len(result.missing_keys)} missing keys {result.missing_keys[:5]}, '
            f'{len(result.unexpected_keys)} unexpected keys {result.unexpected_keys[:5]} '
            '(first five of each; pass strict=False to load what fits)')
    return dict(missing=list(result.missing_keys), unexpected=list(result.unexpected_keys))


def dataset_metainfo(cfg: Config) -> dict:
    """The parsed metainfo of the config's test (else val) dataset, without loading
    any data: the dataset's ``metainfo`` argument, else its class's ``METAINFO``."""
    dataset_cfg = _dataset_cfg(cfg)
    dataset_type = dataset_cfg.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    if not hasattr(cls, '_load_metainfo'):
        raise ValueError(f'{cfg.filename}: test dataset type {dataset_type!r} has no '
                         'metainfo; derive it from hpekit.datasets.BasePoseDataset')
    return cls._load_metainfo(dataset_cfg.get('metainfo'))


def _dataset_cfg(cfg):
    """The test (else val) dataloader's dataset config."""
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset')
        if dataset:
            return dataset
    raise ValueError(f'{cfg.filename}: no test_dataloader.dataset or '
                     'val_dataloader.dataset; inference reads the keypoint names, flip '
                     'pairs and skeleton from its metainfo')


def task_meta(model: PoseModel, task: str) -> Tuple[dict, EstimatorSpec]:
    """(``model.dataset_meta``, ``model.spec``), checked to be of ``task``."""
    meta = getattr(model, 'dataset_meta', None)
    if not isinstance(meta, dict) or 'num_keypoints' not in meta:
        raise ValueError('the model has no dataset_meta; build it with '
                         'hpekit.apis.init_model')
    spec = model_spec(model)
    if spec.task != task:
        raise ValueError(f"this function needs a {task} model, the model's task is "
                         f'{spec.task}')
    return meta, spec


@torch.no_grad()
def predict_items(model: PoseModel, items: Sequence[dict]) -> List[PoseDataSample]:
    """Run ``model.test_step`` on packed items ({'inputs', 'data_samples'} dicts)."""
    return model.test_step(pseudo_collate(items))
