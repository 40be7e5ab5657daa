"""Console entry points: ``hpekit-train``, ``hpekit-test``, ``hpekit-demo`` (as MMPose's).

Each runs the ``main()`` of the script of the same name in ``tools/``, so
``hpekit-train CONFIG ...`` is ``python tools/train.py CONFIG ...`` with the same flags.
The script is the copy an installed wheel carries in ``hpekit/.mim/tools``, else the
source checkout's ``tools/`` (an editable install). The scripts stay the one
implementation; importing this module runs nothing.
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Any, List, Optional, Sequence

from hpekit.runtime.allocator import tune_allocator


def tool_roots() -> List[str]:
    """The folders holding hpekit's tool scripts, packaged copy first."""
    package = osp.dirname(osp.abspath(__file__))
    candidates = [osp.join(package, '.mim', 'tools'), osp.join(osp.dirname(package), 'tools')]
    return [c for c in candidates if osp.isdir(c)]


def find_tool(name: str) -> str:
    """The path of the tool script ``<name>.py``.

    Raises:
        FileNotFoundError: naming every place searched.
    """
    tried = []
    for root in tool_roots():
        path = osp.join(root, f'{name}.py')
        if osp.isfile(path):
            return path
        tried.append(path)
    raise FileNotFoundError(f'hpekit tool {name!r} not found; looked at: '
                            f'{", ".join(tried) or "no tools folder (hpekit/.mim/tools or tools/)"}')


def load_tool(name: str) -> ModuleType:
    """The module of the tool script ``<name>.py`` (executed, named ``hpekit_tool_<name>``)."""
    path = find_tool(name)
    module_name = f'hpekit_tool_{name}'
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module   # as an import would (pickling, dataclasses)
    spec.loader.exec_module(module)
    return module


def run_tool(name: str, argv: Optional[Sequence[str]] = None) -> Any:
    """Run tool ``name``'s ``main(argv)`` (``argv`` None: the command line, after
    re-running the process once under the tuned allocator as the tool scripts do,
    see ``hpekit.runtime.allocator``)."""
    if argv is None:
        tune_allocator()
    return load_tool(name).main(None if argv is None else list(argv))


def run_train(argv: Optional[Sequence[str]] = None) -> None:
    """``hpekit-train``: ``tools/train.py``."""
    run_tool('train', argv)


def run_test(argv: Optional[Sequence[str]] = None) -> None:
    """``hpekit-test``: ``tools/test.py``."""
    run_tool('test', argv)


def run_demo(argv: Optional[Sequence[str]] = None) -> None:
    """``hpekit-demo``: ``tools/demo.py``."""
    run_tool('demo', argv)
