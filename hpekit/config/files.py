"""Where hpekit's shipped config files live, and how a config path is resolved.

A config may be named by a path (``configs/_base_/datasets/mpii.py``), by a path
relative to the shipped ``configs/`` folder (``_base_/datasets/mpii.py``) or, for
experiment configs, by its bare name (``hg2-bottleneck_b24-20e_mpii-256``). The
shipped folder is ``hpekit/.mim/configs`` in a packaged install and the repository's
``configs/`` in a source checkout.
"""
import glob
import os
import os.path as osp
from typing import List


def config_roots() -> List[str]:
    """The folders holding hpekit's shipped configs, packaged copy first."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = [osp.join(package, '.mim', 'configs'),
                  osp.join(osp.dirname(package), 'configs')]
    return [c for c in candidates if osp.isdir(c)]


def _relative_to_configs(path: str) -> str:
    """``path`` with everything up to and including a ``configs/`` folder removed."""
    parts = path.replace('\\', '/').split('/')
    if 'configs' in parts:
        parts = parts[len(parts) - parts[::-1].index('configs'):]
    return '/'.join(parts)


def find_config_file(path: str) -> str:
    """An existing config file for ``path``: as given, else under the shipped configs.

    Args:
        path: a file path, a path relative to ``configs/``, or an experiment config's
            name without folder and ``.py``.

    Returns:
        str: the path of an existing file.

    Raises:
        FileNotFoundError: naming ``path`` and every place that was searched.
    """
    path = os.fspath(path)
    if osp.isfile(path):
        return path
    rel = _relative_to_configs(path)
    tried = [path]
    for root in config_roots():
        candidate = osp.join(root, rel)
        tried.append(candidate)
        if osp.isfile(candidate):
            return candidate
        if not osp.splitext(rel)[1] and '/' not in rel:   # a bare config name
            found = sorted(glob.glob(osp.join(root, '**', rel + '.py'), recursive=True))
            if found:
                return found[0]
    raise FileNotFoundError(f'config file {path!r} not found; looked at: '
                            f'{", ".join(tried)}')
