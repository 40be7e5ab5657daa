"""MMPose's home of ``register_all_modules`` (``hpekit.utils.setup_env``): hpekit's set-up."""
from hpekit.utils.setup_env import register_all_modules

__all__ = ['register_all_modules']
