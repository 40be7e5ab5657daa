"""Runtime parts hpekit adds to mmengine: hooks, worker seeding, optimizer wrappers."""
from . import functions, hooks, loops, optim_wrappers, safety_hooks  # noqa: F401
from . import visualization_hook  # noqa: F401,E402  (PoseVisualizationHook)
from . import setup_hook  # noqa: F401,E402  (HpekitSetupHook)
