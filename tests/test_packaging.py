"""Packaging: an sdist and a wheel built from the sources, installed (and an editable
install) into fresh virtual environments, used from a folder outside the repository.

The fresh environments are made with ``--system-site-packages --without-pip`` plus a
``.pth`` naming this interpreter's site-packages, so torch, mmengine … come from the
environment running the tests; hpekit is installed with ``--no-deps --no-index``, so
nothing is downloaded. The sources are copied first (the files git tracks or would
track), so the builds write nothing into the checkout.

Slow (marked ``slow``; about 40 s for the wheel, 20 s for the editable install on two
CPU cores): build, install, one training iteration through ``hpekit-train``.
"""
import os
import os.path as osp
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from hpekit.version import __version__

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / 'tests' / 'configs' / 'packaging_tiny.py'
CONFIG_NAME = 'hg2-bottleneck_b24-20e_mpii-256'
EXTRAS = {'onnx', 'openvino', 'tensorboard', 'coco', 'timm', 'h36m', 'albumentations',
          'all', 'tests', 'docs'}

# Run by the fresh environment's interpreter, from a folder outside the repository.
CHECK_SCRIPT = textwrap.dedent('''
    import os.path as osp, sys
    expected_root = sys.argv[1]
    import hpekit
    assert osp.realpath(hpekit.__file__).startswith(osp.realpath(expected_root)), \\
        ('hpekit imported from', hpekit.__file__)
    print('hpekit from', hpekit.__file__)

    cfg = hpekit.get_config('%(name)s')
    print('get_config:', cfg.filename, cfg.codec.type, cfg.model.type)
    assert cfg.filename.endswith('mpii_hourglass/%(name)s.py'), cfg.filename
    assert cfg.default_scope == 'hpekit' and cfg.codec.type == 'MSRAHeatmap'

    import tempfile   # a config of the user's own inherits the shipped one: hpekit::
    with tempfile.TemporaryDirectory() as folder:
        mine = osp.join(folder, 'mine.py')
        with open(mine, 'w') as f:
            f.write("_base_ = ['hpekit::mpii_hourglass/%(name)s.py']\\n"
                    'train_cfg = dict(max_epochs=1)\\n')
        own = hpekit.get_config(mine)
        assert own.model == cfg.model and own.train_cfg.max_epochs == 1
    from hpekit.config.files import resolve_package_path
    print('package syntax:', resolve_package_path('hpekit::mpii_hourglass/%(name)s.py'))

    from hpekit.datasets import parse_pose_metainfo
    meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/mpii.py'))
    print('metainfo:', meta['dataset_name'], meta['num_keypoints'])
    assert meta['num_keypoints'] == 16

    from hpekit.cli import find_tool
    for name in ('train', 'test', 'demo'):
        print('tool:', find_tool(name))

    try:
        from hpekit.config.yacs import load_yacs_experiment
    except ImportError as err:
        print('converter: missing', err)
    else:
        from hpekit.config.files import find_config_file
        yaml = find_config_file('yacs_examples/res50_256x256_d256x3_adam_lr1e-3.yaml')
        converted, report = load_yacs_experiment(yaml)
        print('converter:', converted.model.type, converted.codec.type)
        assert converted.model.type == 'TopDownPoseEstimator'
    print('CHECKS PASSED')
''' % dict(name=CONFIG_NAME))


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP')}
    env.setdefault('MPLBACKEND', 'Agg')
    return env


def _run(cmd, cwd, timeout=300):
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                         env=_clean_env(), timeout=timeout)
    assert out.returncode == 0, (f'{cmd} failed ({out.returncode}):\n'
                                 f'{out.stdout[-3000:]}\n{out.stderr[-3000:]}')
    return out.stdout


def _copy_sources(dest):
    """The files git tracks or would track (untracked, not ignored) copied to dest."""
    if shutil.which('git') is None or not (ROOT / '.git').exists():
        pytest.skip('needs a git checkout (the source files to build from)')
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others',
                            '--exclude-standard'], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split('\0')
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():          # a tracked file deleted in the working tree: skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _fresh_venv(path):
    """A fresh venv seeing this environment's packages but not hpekit: the path
    of its python."""
    subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages', '--without-pip',
                    str(path)], check=True, env=_clean_env())
    python = path / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')
    purelib = subprocess.run([str(python), '-c', 'import sysconfig; '
                              'print(sysconfig.get_paths()["purelib"])'], check=True,
                             capture_output=True, text=True).stdout.strip()
    ours = [*site.getsitepackages(), sysconfig.get_paths()['purelib']]
    # Plain path lines: the folders join sys.path, their own .pth files (e.g. the
    # editable hpekit of this environment) are not run.
    Path(purelib, '_hpekit_test_outer_env.pth').write_text(
        '\n'.join(dict.fromkeys(p for p in ours if osp.isdir(p))) + '\n')
    return python


def _pip_install(python, *args, cwd):
    """pip of this environment installing into ``python``'s, offline, no dependencies."""
    return _run([sys.executable, '-m', 'pip', '--python', python, 'install', '--no-deps',
                 '--no-index', '--ignore-installed', '--no-build-isolation',
                 '--disable-pip-version-check', '-q', *args], cwd=cwd)


def _scripts(python):
    return Path(python).parent


def _check(python, root, outside):
    out = _run([python, '-c', CHECK_SCRIPT, root], cwd=outside)
    assert 'CHECKS PASSED' in out, out
    return out


def _skip_if_no_converter(out):
    if 'converter: missing' in out:
        pytest.skip('hpekit.config.yacs is not there: the YAML converter was not checked '
                    '(everything else passed)')


def _train_one_iteration(python, outside):
    """hpekit-train on a self-contained tiny config copied outside the repository."""
    config = outside / TINY_CONFIG.name
    shutil.copy(TINY_CONFIG, config)
    work_dir = outside / 'work_dir'
    _run([_scripts(python) / 'hpekit-train', config, '--work-dir', work_dir], cwd=outside)
    assert (work_dir / 'epoch_1.pth').is_file()
    assert (work_dir / 'metrics.json').is_file()


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """(sdist, wheel): the sdist of a copy of the sources, the wheel built from it."""
    base = tmp_path_factory.mktemp('packaging')
    src = _copy_sources(base / 'src')
    dist = base / 'dist'
    _run([sys.executable, '-c', 'import sys; from setuptools import build_meta; '
          'build_meta.build_sdist(sys.argv[1])', dist], cwd=src)
    sdist, = dist.glob('hpekit-*.tar.gz')
    with tarfile.open(sdist) as tar:
        safe = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
        tar.extractall(base / 'unpacked', **safe)
    unpacked, = (base / 'unpacked').iterdir()
    _run([sys.executable, '-m', 'pip', 'wheel', unpacked, '--no-deps', '--no-index',
          '--no-build-isolation', '--disable-pip-version-check', '-q', '-w', dist],
         cwd=base)
    wheel, = dist.glob('hpekit-*.whl')
    return src, sdist, wheel


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sdist_and_wheel_contents(built):
    _, sdist, wheel = built
    with tarfile.open(sdist) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
    for name in (f'configs/mpii_hourglass/{CONFIG_NAME}.py', 'tools/train.py',
                 'requirements/runtime.txt', 'requirements/coco.txt', 'pyproject.toml',
                 'hpekit/py.typed'):
        assert name in names, name
    assert not any('.mim' in n for n in names)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(f'hpekit-{__version__}.dist-info/METADATA').decode()
        entry_points = zf.read(f'hpekit-{__version__}.dist-info/entry_points.txt').decode()
    for name in (f'hpekit/.mim/configs/mpii_hourglass/{CONFIG_NAME}.py',
                 'hpekit/.mim/configs/_base_/datasets/mpii.py',
                 'hpekit/.mim/configs/yacs_examples/res50_256x256_d256x3_adam_lr1e-3.yaml',
                 'hpekit/.mim/tools/train.py', 'hpekit/.mim/tools/test.py',
                 'hpekit/.mim/tools/demo.py', 'hpekit/py.typed', 'hpekit/cli.py'):
        assert name in names, name
    assert not any('__pycache__' in n for n in names)
    extras = {line.split(': ')[1] for line in meta.splitlines()
              if line.startswith('Provides-Extra: ')}
    assert extras == EXTRAS
    # torch only constrained from below: an installed (CPU or CUDA) torch is kept
    assert 'Requires-Dist: torch>=2.1\n' in meta
    assert 'Requires-Dist: pycocotools>=2.0; extra == "coco"' in meta
    assert 'Requires-Dist: onnxruntime>=1.16; extra == "all"' in meta
    for script in ('hpekit-train = hpekit.cli:run_train', 'hpekit-test = hpekit.cli:run_test',
                   'hpekit-demo = hpekit.cli:run_demo'):
        assert script in entry_points


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_install_outside_the_repository(built, tmp_path):
    _, _, wheel = built
    python = _fresh_venv(tmp_path / 'venv')
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    _pip_install(python, wheel, cwd=outside)
    out = _check(python, tmp_path / 'venv', outside)
    assert '/.mim/configs/mpii_hourglass/' in out          # the packaged configs
    assert '/.mim/tools/train.py' in out
    _train_one_iteration(python, outside)
    _skip_if_no_converter(out)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_editable_install_outside_the_repository(built, tmp_path):
    src, _, _ = built
    python = _fresh_venv(tmp_path / 'venv')
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    _pip_install(python, '-e', src, cwd=outside)
    out = _check(python, src, outside)
    assert f'{src}/configs/mpii_hourglass/' in out          # the checkout's configs
    assert f'{src}/tools/train.py' in out
    assert not (src / 'hpekit' / '.mim').exists()           # nothing generated
    # the console script resolves the checkout's tools/train.py
    help_text = _run([_scripts(python) / 'hpekit-train', '--help'], cwd=outside)
    assert '--work-dir' in help_text
    _skip_if_no_converter(out)


def test_tools_accept_a_config_name():
    """load_config (every tool's) resolves a shipped config's name; a missing one names
    the places searched."""
    from hpekit.config.setup import load_config
    cfg = load_config(CONFIG_NAME)
    assert Path(cfg.filename) == ROOT / 'configs' / 'mpii_hourglass' / f'{CONFIG_NAME}.py'
    assert cfg.codec.type == 'MSRAHeatmap'
    with pytest.raises(FileNotFoundError, match='looked at: .*configs'):
        load_config('no-such-config_b1-1e_nowhere')


def test_get_config_is_lazy():
    out = subprocess.run([sys.executable, '-c', textwrap.dedent('''
        import sys, hpekit
        print('lazy:', 'hpekit.utils' not in sys.modules and 'torch' not in sys.modules)
        print('listed:', 'get_config' in dir(hpekit) and 'get_config' in hpekit.__all__)
        cfg = hpekit.get_config('%s')
        print('loaded:', cfg.model.type)
    ''' % CONFIG_NAME)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'lazy: True' in out.stdout and 'listed: True' in out.stdout
    assert 'loaded: TopDownPoseEstimator' in out.stdout
