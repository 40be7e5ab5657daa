"""ONNX Runtime as an inference backend: ``init_model(..., backend='onnxruntime')``.

The model is exported once (``hpekit.export.onnx.export_onnx``, the estimator's
spec-driven graph: unnormalised pixels in, heatmaps or joints out) and the ``.onnx``
is cached next to the checkpoint, named after a key of everything that shapes the
graph: the checkpoint's SHA-256, the model config, the opset and the versions of
torch and hpekit. A second ``init_model`` finds the file and only opens a session.

``OnnxRuntimeEstimator`` stands in for the PyTorch model wherever inference runs
(``hpekit.apis.exported.ExportedEstimator``: the graph's outputs decoded by the PyTorch
estimator's ``predict_exported``). The OpenVINO backend (``hpekit.apis.openvino_backend``)
opens the same cached graph.
"""
import hashlib
import json
import os
import os.path as osp
import tempfile

import torch
from mmengine.config import Config

from hpekit.apis.exported import BACKENDS, ExportedEstimator, check_exportable
from hpekit.export.onnx import DEFAULT_OPSET, export_onnx
from hpekit.models.model_inputs import model_spec
from hpekit.version import __version__

__all__ = ['BACKENDS', 'CACHE_ENV', 'OnnxRuntimeEstimator', 'cache_key', 'cache_path',
           'export_cached', 'file_sha256', 'onnxruntime_model', 'state_sha256']

CACHE_ENV = 'HPEKIT_ONNX_CACHE'   # where graphs of models without a writable home go


def file_sha256(path, chunk=1 << 22):
    """SHA-256 hex digest of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def state_sha256(model):
    """SHA-256 of a model's state dict (names, dtypes, shapes, values): the key of a
    model built without a checkpoint (random or pretrained-init weights)."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        digest.update(f'{name}:{value.dtype}:{tuple(value.shape)};'.encode())
        digest.update(value.view(-1).view(torch.uint8).numpy().tobytes()
                      if value.numel() else b'')
    return digest.hexdigest()


def _model_config_text(cfg):
    """The model part of a config as canonical JSON (what shapes the graph)."""
    model_cfg = cfg.get('model') if isinstance(cfg, Config) else (cfg or {}).get('model')
    if isinstance(model_cfg, Config):
        model_cfg = model_cfg.to_dict()
    return json.dumps(model_cfg, sort_keys=True, default=repr)


def cache_key(model, checkpoint, opset):
    """Hex key of an exported graph: weights, model config, opset, torch and hpekit."""
    weights = file_sha256(checkpoint) if checkpoint else state_sha256(model)
    text = json.dumps({'weights': weights,
                       'model': _model_config_text(getattr(model, 'cfg', None)),
                       'opset': opset, 'torch': torch.__version__, 'hpekit': __version__},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16], weights


def _writable_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def cache_path(model, checkpoint=None, cache_dir=None, opset=None):
    """Where the exported graph of ``model`` (with ``checkpoint``'s weights) lives.

    ``cache_dir`` if given; else the checkpoint's folder when writable; else
    ``$HPEKIT_ONNX_CACHE`` or ``~/.cache/hpekit/onnx``. The name is
    ``<checkpoint name>.<key>.onnx`` (``model.<key>.onnx`` without a checkpoint).

    Returns:
        (path, key, weights digest)
    """
    opset = opset or DEFAULT_OPSET
    key, weights = cache_key(model, checkpoint, opset)
    stem = osp.splitext(osp.basename(checkpoint))[0] if checkpoint else 'model'
    folders = [cache_dir] if cache_dir else []
    if checkpoint:
        folders.append(osp.dirname(osp.abspath(checkpoint)))
    folders.append(os.environ.get(CACHE_ENV) or
                   osp.join(osp.expanduser('~'), '.cache', 'hpekit', 'onnx'))
    folder = next((f for f in folders if _writable_dir(f)), None)
    if folder is None:
        folder = tempfile.gettempdir()
    return osp.join(folder, f'{stem}.{key}.onnx'), key, weights


def export_cached(model, checkpoint=None, cache_dir=None, opset=None):
    """The cached graph of ``model``, exported first if missing (atomically: written
    to a temporary name, then renamed, so a concurrent or interrupted export never
    leaves a half file under the final name). A ``.json`` beside it records the key's
    inputs. Returns (path, exported: bool)."""
    opset = opset or DEFAULT_OPSET
    path, key, weights = cache_path(model, checkpoint, cache_dir, opset)
    if osp.isfile(path):
        return path, False
    spec = model_spec(model)
    fd, tmp = tempfile.mkstemp(suffix='.onnx.tmp', dir=osp.dirname(path))
    os.close(fd)
    try:
        device = next(model.parameters()).device
        info = export_onnx(model.cpu(), tmp, spec.input_shape(1), opset=opset)
        model.to(device)
        info.update(key=key, weights_sha256=weights,
                    checkpoint=osp.abspath(checkpoint) if checkpoint else None,
                    config=getattr(getattr(model, 'cfg', None), 'filename', None))
        with open(path + '.json.tmp', 'w') as f:
            json.dump(info, f, indent=2)
        os.replace(path + '.json.tmp', osp.splitext(path)[0] + '.json')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path, True


def _providers(device):
    import onnxruntime as ort  # optional dependency (extra "onnx")
    available = ort.get_available_providers()
    if torch.device(device).type == 'cuda' and 'CUDAExecutionProvider' in available:
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


class OnnxRuntimeEstimator(ExportedEstimator):
    """An exported hpekit estimator run by ONNX Runtime, usable wherever inference
    takes a model from ``init_model`` (``hpekit.apis.exported.ExportedEstimator``:
    ``test_step``/``val_step``, ``spec``, ``cfg``, ``dataset_meta``, ``test_cfg`` …).

    Args:
        model: the PyTorch estimator (from ``init_model``): its spec, config,
            metainfo, test-time options and decoding are used; its weights are in
            the graph.
        onnx_file (str): the graph ``export_onnx`` wrote for it.
        device (str): 'cpu', or 'cuda' when onnxruntime has the CUDA provider.
        threads (int, optional): ONNX Runtime's intra-op threads; default
            ``torch.get_num_threads()``, so ``OMP_NUM_THREADS``/``torch.set_num_threads``
            govern both backends alike.

    Attributes: those of ``ExportedEstimator``, and ``session``, ``backend``
    ('onnxruntime').
    """

    backend = 'onnxruntime'

    def __init__(self, model, onnx_file, device='cpu', threads=None):
        try:
            import onnxruntime as ort  # optional dependency (extra "onnx")
        except ImportError as err:
            raise ImportError("backend='onnxruntime' needs onnxruntime: pip install "
                              'onnxruntime (or pip install "hpekit[onnx]")') from err
        super().__init__(model, onnx_file)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(onnx_file, options, providers=_providers(device))

    def run_arrays(self, array):
        """float32 array (the spec's input layout) → the graph's outputs (numpy), in
        ``output_names`` order."""
        return self.session.run(self.output_names, {self.spec.input_name: array})


def onnxruntime_model(model, checkpoint=None, device='cpu', cache_dir=None, threads=None):
    """``model`` (from ``init_model``) exported once, cached and opened in ONNX Runtime."""
    check_exportable(model, 'onnxruntime')
    path, _ = export_cached(model, checkpoint, cache_dir)
    return OnnxRuntimeEstimator(model, path, device=device, threads=threads)
