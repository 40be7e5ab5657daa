"""Installs hpekit; requirements live in requirements/*.txt (one place)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt, comments and blanks dropped."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


def read_version():
    namespace = {}
    exec((HERE / 'hpekit' / 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='hpekit',
    version=read_version(),
    description='Plugin-based human pose estimation toolkit on mmengine and mmcv',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['hpekit', 'hpekit.*']),
    install_requires=read_requirements('runtime'),
    extras_require={'tests': read_requirements('tests'),
                    'docs': read_requirements('docs')},
    license='Apache-2.0',
)
