"""hpekit: a plugin-based human pose estimation toolkit on mmengine and mmcv."""
from .version import __version__
from .utils.checkpoint import install_atomic_local_backend, install_safe_checkpoint_loader

install_safe_checkpoint_loader()
install_atomic_local_backend()   # checkpoints and last_checkpoint written atomically

__all__ = ['__version__']
