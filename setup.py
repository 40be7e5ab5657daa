"""Build hooks of hpekit; the metadata is in pyproject.toml.

Requirements live in one place, requirements/*.txt (pip-installable as they are):
``runtime.txt`` gives the dependencies, every other file an extra of the same name
(``onnx``, ``tensorboard``, ``coco``, ``all``, ``tests``, ``docs``). ``-r FILE`` lines
include another file.

Wheels (and so ``pip install .``) carry the repository's ``configs/`` and ``tools/``
as ``hpekit/.mim/configs`` and ``hpekit/.mim/tools`` (MMPose's layout), copied at
build time: the repository's folders stay the one source, nothing is generated in the
source tree. An editable install (``pip install -e .``) copies nothing: hpekit finds the
checkout's ``configs/`` and ``tools/`` beside the package.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# (source folder in the repository, folder under hpekit/.mim in the wheel)
MIM_FOLDERS = (('configs', 'configs'), ('tools', 'tools'))
MIM_IGNORE = shutil.ignore_patterns('__pycache__', '*.py[cod]')


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt: comments and blanks dropped,
    ``-r other.txt`` expanded."""
    requirements = []
    for line in (HERE / 'requirements' / f'{name}.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line.startswith('-r'):
            requirements += read_requirements(Path(line[2:].strip()).stem)
        elif line:
            requirements.append(line)
    return list(dict.fromkeys(requirements))


def extras():
    """Every requirements/<name>.txt but runtime.txt, as the extra <name>."""
    names = sorted(p.stem for p in (HERE / 'requirements').glob('*.txt'))
    return {name: read_requirements(name) for name in names if name != 'runtime'}


class BuildPyWithMim(build_py):
    """build_py that also copies configs/ and tools/ into hpekit/.mim of the build."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return   # editable: the checkout's folders are used in place
        mim = Path(self.build_lib) / 'hpekit' / '.mim'
        if mim.exists():
            shutil.rmtree(mim)   # no stale files from an earlier build
        for source, target in MIM_FOLDERS:
            source = HERE / source
            if not source.is_dir():
                raise FileNotFoundError(f'{source}: needed in hpekit/.mim (an sdist '
                                        'lacking it? see MANIFEST.in)')
            shutil.copytree(source, mim / target, ignore=MIM_IGNORE)


setup(
    install_requires=read_requirements('runtime'),
    extras_require=extras(),
    cmdclass={'build_py': BuildPyWithMim},
)
