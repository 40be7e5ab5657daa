"""Model wrappers for distributed runs (registered in ``hpekit.registry.MODEL_WRAPPERS``)."""
import inspect

from mmengine.model import MMDistributedDataParallel
from torch.nn.parallel import DistributedDataParallel

from hpekit.registry import MODEL_WRAPPERS

# PyTorch 2.13 renamed DDP's ``broadcast_buffers`` to ``forward_sync_buffers``.
_RENAMED_BUFFERS_ARG = 'forward_sync_buffers' in inspect.signature(
    DistributedDataParallel.__init__).parameters


@MODEL_WRAPPERS.register_module()
class HpekitDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` that also wraps CPU models.

    mmengine's Runner passes ``device_ids=[LOCAL_RANK]`` to every DDP wrapper; PyTorch
    accepts device ids only for GPU modules. This wrapper drops them when the model's
    parameters live on the CPU (gloo backend), so the same config trains on one CPU
    process, many CPU processes (CI) and many GPUs. ``tools/train.py`` and
    ``tools/test.py`` select it unless the config sets ``model_wrapper_cfg`` itself.

    Args:
        module (nn.Module): the model (an mmengine ``BaseModel``), already on its device.
        device_ids (list[int], optional): the GPU of this rank; ignored for CPU models.
        broadcast_buffers (bool, optional): copy rank 0's buffers (BatchNorm running
            statistics) to every rank before each forward. On PyTorch versions that
            call it ``forward_sync_buffers`` it is passed under that name.
        **kwargs: as ``MMDistributedDataParallel`` (``find_unused_parameters``,
            ``detect_anomalous_params`` …).
    """

    def __init__(self, module, device_ids=None, broadcast_buffers=None, **kwargs):
        first = next(module.parameters(), None)
        if first is None or first.device.type == 'cpu':
            device_ids = None
        if broadcast_buffers is not None:
            name = 'forward_sync_buffers' if _RENAMED_BUFFERS_ARG else 'broadcast_buffers'
            kwargs[name] = broadcast_buffers
        super().__init__(module=module, device_ids=device_ids, **kwargs)
