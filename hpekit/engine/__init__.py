"""Runtime parts hpekit adds to mmengine: hooks, worker seeding, optimizer wrappers."""
from . import functions, hooks, optim_wrappers  # noqa: F401  (registers the parts)
