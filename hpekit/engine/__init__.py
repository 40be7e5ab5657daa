"""Runtime parts hpekit adds to mmengine: hooks, loops, worker seeding, optimizer
wrappers, distributed launch and Ctrl-C handling."""
from hpekit.engine import functions, hooks, interrupt, loops, optim_wrappers  # noqa: F401
