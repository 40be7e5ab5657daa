"""Import a command-line tool from tools/ as a module, for tests that call its functions."""
import importlib.util
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / 'tools'


def load_tool(name):
    """The module of ``tools/<name>.py`` (run fresh each call, named ``hpekit_tool_<name>``)."""
    spec = importlib.util.spec_from_file_location(f'hpekit_tool_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
