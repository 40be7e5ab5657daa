"""A hook whose construction runs hpekit's set-up for a Runner built from its configs."""
from mmengine.hooks import Hook

from hpekit.registry import HOOKS
from hpekit.utils.setup_env import register_all_modules


@HOOKS.register_module()
class HpekitSetupHook(Hook):
    """Runs ``hpekit.utils.register_all_modules`` when the Runner builds its hooks.

    The Runner builds hooks in its constructor, before it loads or resumes any
    checkpoint, so ``Runner.from_cfg`` of an hpekit config (which lists this hook in
    ``configs/_base_/default_runtime.py``) reads checkpoints with hpekit's safe loader
    even in a script that never called the set-up itself. Does nothing at run time.
    """

    priority = 'HIGHEST'

    def __init__(self) -> None:
        register_all_modules(init_default_scope=False)
