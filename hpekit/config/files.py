"""Where hpekit's shipped config files live, and how a config path is resolved.

A config may be named by a path (``configs/_base_/datasets/mpii.py``), by a path
relative to the shipped ``configs/`` folder (``_base_/datasets/mpii.py``), by
mmengine's package syntax (``hpekit::_base_/datasets/mpii.py``: only under the
shipped folder) or, for experiment configs, by its bare name
(``hg2-bottleneck_b24-20e_mpii-256``). The shipped folder is ``hpekit/.mim/configs``
in a packaged install and the repository's ``configs/`` in a source checkout.
"""
import glob
import os
import os.path as osp
from typing import List, Optional

#: mmengine's package syntax for hpekit's shipped configs: ``hpekit::<path relative
#: to the shipped configs folder>``, as ``mmpose::`` names MMPose's.
PACKAGE_PREFIX = 'hpekit::'


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
        path: a file path, a path relative to ``configs/``, ``hpekit::<path relative
            to configs/>`` (:func:`resolve_package_path`), or an experiment config's
            name without folder and ``.py``.

    Returns:
        str: the path of an existing file.

    Raises:
        FileNotFoundError: naming ``path`` and every place that was searched.
    """
    path = os.fspath(path)
    if path.startswith(PACKAGE_PREFIX):
        return resolve_package_path(path)
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


def resolve_package_path(path: str, referrer: Optional[str] = None) -> str:
    """The shipped config file that ``hpekit::<relative path>`` names.

    Args:
        path: ``'hpekit::'`` followed by a path relative to the shipped configs
            folder, e.g. ``'hpekit::_base_/default_runtime.py'`` or
            ``'hpekit::coco/rtmpose_synthetic-quick.py'``.
        referrer: the config file whose ``_base_`` names ``path``, for the message.

    Returns:
        str: the absolute path of the file, in the first of :func:`config_roots`
        that holds it.

    Raises:
        ValueError: ``path`` does not start with ``hpekit::``, names nothing after it,
            or leaves the configs folder (an absolute path, ``..``).
        FileNotFoundError: naming ``path`` (and ``referrer``) and every file looked at.
    """
    if not path.startswith(PACKAGE_PREFIX) or not path[len(PACKAGE_PREFIX):].strip('/'):
        raise ValueError(f"expected '{PACKAGE_PREFIX}<path relative to hpekit's configs "
                         f"folder>', e.g. '{PACKAGE_PREFIX}_base_/default_runtime.py'; "
                         f'got {path!r}')
    rel = osp.normpath(path[len(PACKAGE_PREFIX):].replace('\\', '/'))
    if osp.isabs(rel) or rel == '..' or rel.startswith('..' + os.sep):
        raise ValueError(f'{path!r}: the path after {PACKAGE_PREFIX!r} must stay inside '
                         "hpekit's configs folder (no absolute path, no '..')")
    roots = config_roots()
    tried = [osp.join(root, rel) for root in roots]
    for candidate in tried:
        if osp.isfile(candidate):
            return osp.abspath(candidate)
    where = f' (named in {referrer})' if referrer else ''
    looked = ', '.join(tried) if tried else 'no shipped configs folder found (neither ' \
        'hpekit/.mim/configs of an installed package nor configs/ beside a source checkout)'
    raise FileNotFoundError(f'config {path!r}{where} not found: the path after '
                            f"'{PACKAGE_PREFIX}' is relative to hpekit's configs folder, "
                            f'e.g. {PACKAGE_PREFIX}_base_/default_runtime.py; looked at: '
                            f'{looked}')
