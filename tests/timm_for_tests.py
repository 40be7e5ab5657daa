"""The real timm for the tests, and a test shim for torchvision's compiled operators.

Where timm comes from: the environment's own timm if it imports; otherwise the folder
that ``tools/install.sh`` fills for the tests (``HPEKIT_TIMM_TESTS_DIR``, default
``hpekit-timm-tests`` in ``sys.prefix``), appended to ``sys.path`` of the pytest process
only (tests/conftest.py). install.sh keeps timm and its torchvision out of the
environment because mmengine's Runner imports torchvision wherever it is installed (for
its environment report), and the torchvision pip finds for a CPU torch cannot be
imported there (below): every training subprocess would fail.

The shim (``define_missing_torchvision_ops``). For a CPU torch on Linux, the only
torchvision pip finds (PyPI) is a CUDA build (e.g. torchvision 0.28.0+cu130 for torch
2.13.0). Its compiled extension ``torchvision/_C.so`` links ``libtorch_cuda.so`` and
cannot be loaded beside a CPU torch. torchvision tolerates that
(``torchvision.extension._has_ops()`` is then False, and ``torchvision.ops.nms``,
``roi_align``… raise torchvision's own "Couldn't load custom C++ ops"), except that
``torchvision/_meta_registrations.py`` registers fake kernels for ``torchvision::nms``
and ``torchvision::qnms`` without checking, so ``import torchvision`` — and ``import
timm``, whose data package imports ``torchvision.transforms`` — fails with
"RuntimeError: operator torchvision::nms does not exist". The shim defines the schemas of
exactly those operators, as torchvision's C++ source declares them, with no kernel, and
only where torchvision is installed, not yet imported, and its ``_C`` extension cannot be
loaded. Nothing else is replaced: torchvision's Python code, its transforms and timm are
the real packages, and ``torchvision.ops.nms`` still raises as it would without the shim
(no kernel exists). hpekit itself never imports torchvision and has no such shim.
"""
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from typing import List, Optional

import torch

TIMM_TESTS_DIR_ENV = 'HPEKIT_TIMM_TESTS_DIR'

# The operators whose fake kernels torchvision/_meta_registrations.py registers whether
# or not its extension loaded (torchvision 0.28, 0.29), as declared in torchvision's
# csrc/ops/nms.cpp and csrc/ops/quantized/cpu/qnms_kernel.cpp.
UNGUARDED_OPS = {
    'nms': 'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
    'qnms': 'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
}

_LIBRARY = []   # the torch.library.Library holding the definitions, kept alive


def timm_tests_dir() -> Path:
    """The folder tools/install.sh installs timm into for the tests."""
    return Path(os.environ.get(TIMM_TESTS_DIR_ENV)
                or os.path.join(sys.prefix, 'hpekit-timm-tests'))


def add_timm_tests_dir() -> Optional[Path]:
    """Append the tests' timm folder to sys.path, unless the environment has timm itself
    (or the folder does not exist). Returns the folder added, else None."""
    folder = timm_tests_dir()
    if importlib.util.find_spec('timm') is not None or not folder.is_dir():
        return None
    if str(folder) not in sys.path:
        sys.path.append(str(folder))   # last: the environment's packages come first
    return folder


def _extension_path(package_dir: str) -> Optional[str]:
    """torchvision's ``_C`` extension file, found as torchvision finds it."""
    finder = importlib.machinery.FileFinder(
        package_dir, (importlib.machinery.ExtensionFileLoader,
                      importlib.machinery.EXTENSION_SUFFIXES))
    spec = finder.find_spec('_C')
    return spec.origin if spec is not None else None


def define_missing_torchvision_ops() -> List[str]:
    """Define ``UNGUARDED_OPS`` (schemas only) where torchvision's extension cannot load.

    Returns the operators defined (empty where torchvision is absent or already imported,
    or its extension loads: then its own operators are there).
    """
    if _LIBRARY or 'torchvision' in sys.modules:
        return []
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return []
    path = _extension_path(list(spec.submodule_search_locations)[0])
    if path is not None:
        try:
            torch.ops.load_library(path)   # what `import torchvision` does first
            return []
        except (ImportError, OSError):
            pass
    missing = [name for name in UNGUARDED_OPS if not _op_exists(name)]
    if missing:
        library = torch.library.Library('torchvision', 'FRAGMENT')
        for name in missing:
            library.define(UNGUARDED_OPS[name])
        _LIBRARY.append(library)
    return missing


def _op_exists(name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
        return True
    except (AttributeError, RuntimeError):
        return False


def import_real_timm():
    """The real ``timm`` module; None where it is not installed.

    Raises:
        ImportError: timm is installed but does not import (even with the shim).
    """
    if importlib.util.find_spec('timm') is None:
        return None
    import timm
    return timm
