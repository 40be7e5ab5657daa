"""hpekit's explicit set-up: nothing of this happens on ``import hpekit``.

``register_all_modules()`` is the one call a user's own script makes (MMPose has the
same function); hpekit's tools, ``hpekit.apis.init_model`` and the Runner built from
hpekit's configs (``HpekitSetupHook`` in ``configs/_base_/default_runtime.py``) make it
themselves. Importing hpekit or any of its subpackages changes nothing in mmengine, so
hpekit can share a process with MMPose or MMDetection.
"""
import importlib

from mmengine.registry import init_default_scope as _init_default_scope

from hpekit.checkpoint.loading import install_atomic_local_backend, install_safe_checkpoint_loader

PART_PACKAGES = ('hpekit.codecs', 'hpekit.datasets', 'hpekit.engine', 'hpekit.evaluation',
                 'hpekit.models', 'hpekit.visualization')


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register every hpekit part and install hpekit's checkpoint I/O in mmengine.

    - imports the packages that define parts (their registries fill);
    - makes mmengine load local checkpoints through hpekit's safe loader
      (``weights_only=True`` with an allow-list; ``hpekit.checkpoint.loading``) and
      write local files atomically (temporary file, fsync, rename);
    - with ``init_default_scope``, makes 'hpekit' mmengine's default registry scope.

    Idempotent; call it once at the top of a script that builds hpekit parts or
    loads hpekit checkpoints through mmengine.
    """
    for name in PART_PACKAGES:
        importlib.import_module(name)
    install_safe_checkpoint_loader()
    install_atomic_local_backend()
    if init_default_scope:
        _init_default_scope('hpekit')
