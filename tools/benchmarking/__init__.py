"""The benchmark harness behind ``tools/benchmark.py`` (never imported by hpekit).

Its modules import one another as ``tools.benchmarking.<name>``, so ``ROOT``, the
folder holding ``tools/`` (the repository, or ``hpekit/.mim`` in an installed wheel),
must be on ``sys.path``. The processes the harness starts (``worker``, ``ddp`` ranks,
``memory_sampler``) run as ``module_command(name, ...)`` with ``module_env(...)``,
which works from any current directory.

Standard library only: the memory sampler's process imports this package too.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def module_command(name, *args):
    """``[python, '-m', 'tools.benchmarking.<name>', *args]`` (this interpreter; the
    arguments as strings)."""
    return [sys.executable, '-m', f'tools.benchmarking.{name}', *map(str, args)]


def module_env(env=None):
    """A copy of ``env`` (default ``os.environ``) with ``ROOT`` first on ``PYTHONPATH``,
    for a process started with ``module_command``."""
    env = dict(os.environ if env is None else env)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, env.get('PYTHONPATH')) if p)
    return env
