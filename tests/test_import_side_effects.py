"""Importing hpekit changes nothing in mmengine; hpekit's set-up is explicit."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: snapshot mmengine's checkpoint loaders and file backends,
# import every hpekit package, compare; then call the documented set-up.
SCRIPT = textwrap.dedent('''
    import importlib, pkgutil
    from mmengine.fileio.backends import registry_utils as files
    from mmengine.runner.checkpoint import CheckpointLoader

    def snapshot():
        return (dict(CheckpointLoader._schemes), dict(files.backends),
                dict(files.prefix_to_backends))

    before = snapshot()
    import hpekit
    for info in pkgutil.walk_packages(hpekit.__path__, 'hpekit.'):
        importlib.import_module(info.name)
    after_import = snapshot()
    print('import unchanged:', after_import == before)

    from hpekit.utils import register_all_modules
    from hpekit.checkpoint.loading import AtomicLocalBackend, load_checkpoint_file
    register_all_modules()
    schemes, backends, prefixes = snapshot()
    print('setup installs loader:', schemes[''].__module__ == 'hpekit.checkpoint.loading')
    print('setup installs atomic backend:', prefixes[''] is AtomicLocalBackend)
''')


def test_import_leaves_mmengine_untouched_and_setup_installs():
    out = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                         check=True).stdout
    assert 'import unchanged: True' in out
    assert 'setup installs loader: True' in out
    assert 'setup installs atomic backend: True' in out


RUNNER_SCRIPT = textwrap.dedent('''
    import sys
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader
    cfg = Config.fromfile(sys.argv[1])
    cfg.work_dir = sys.argv[2]
    print('before runner:', CheckpointLoader._schemes[''].__module__)
    Runner.from_cfg(cfg)        # no hpekit import in this script
    print('after runner:', CheckpointLoader._schemes[''].__module__)
''')


def test_a_runner_built_from_an_hpekit_config_sets_hpekit_up(tmp_path):
    """A user's own script: Runner.from_cfg of an hpekit config, hpekit never imported."""
    config = Path(__file__).parent / 'configs' / 'video_tiny.py'
    out = subprocess.run([sys.executable, '-c', RUNNER_SCRIPT, str(config), str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'before runner: mmengine' in out.stdout
    assert 'after runner: hpekit.checkpoint.loading' in out.stdout
