"""Runtime parts hpekit adds to mmengine: hooks, loops, worker seeding, optimizer
wrappers, weight averaging (EMA), distributed launch and Ctrl-C handling."""
from hpekit.engine import ema, functions, hooks, interrupt, loops, optim_wrappers  # noqa: F401
