"""mmengine's package syntax for hpekit's shipped configs: a config in a folder of the
user's own inherits ``hpekit::<path relative to configs/>`` (as ``mmpose::`` names
MMPose's), in a source checkout and in a wheel's ``hpekit/.mim/configs``; a wrong
path and a partial override without its base fail with clear errors."""
import shutil
import textwrap
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from tool_loader import load_tool

from hpekit.config import files
from hpekit.config.checks import ConfigError, check_config
from hpekit.config.setup import load_config, setup_train_config
from hpekit.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'
SHIPPED = sorted(p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob('*.py'))
QUICK = 'coco/rtmpose_synthetic-quick.py'


def write(folder, name, text):
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def _has_scope_key(node):
    if isinstance(node, dict):
        return '_scope_' in node or any(_has_scope_key(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_has_scope_key(v) for v in node)
    return False


def test_user_config_inherits_the_runtime_base(tmp_path):
    register_all_modules()
    path = write(tmp_path, 'mine.py', """
        _base_ = ['hpekit::_base_/default_runtime.py']
        default_hooks = dict(checkpoint=dict(interval=10))
        log_level = 'WARNING'
        """)
    resolver = Config.__dict__['_get_cfg_path']
    cfg = load_config(path)
    base = Config.fromfile(str(CONFIGS / '_base_' / 'default_runtime.py'))
    # The override merged into the base's hook; everything else as the base says.
    assert cfg.default_hooks.checkpoint == dict(base.default_hooks.checkpoint, interval=10)
    assert cfg.default_hooks.checkpoint.interval == 10 != base.default_hooks.checkpoint.interval
    assert cfg.custom_hooks == base.custom_hooks and cfg.visualizer == base.visualizer
    assert cfg.log_level == 'WARNING' and cfg.default_scope == 'hpekit'
    # Read as when named by a relative path: no `_scope_` added to the base's dicts.
    assert not _has_scope_key(cfg.to_dict())
    check_config(cfg, loaders=())
    # mmengine is as it was after the load (the hook is scoped to hpekit's loader).
    assert Config.__dict__['_get_cfg_path'] is resolver


def test_user_config_inherits_a_shipped_experiment(tmp_path):
    """A shipped experiment (itself inheriting shipped bases by relative paths) through
    a local base of the user's: ``{{_base_.x}}`` and ``_base_.x`` resolve."""
    register_all_modules()
    write(tmp_path, 'bases/quick.py', f"""
        _base_ = ['hpekit::{QUICK}']
        train_cfg = dict(max_epochs=3, val_interval=1)
        """)
    path = write(tmp_path, 'exp/mine.py', """
        _base_ = ['../bases/quick.py']
        codec_copy = {{_base_.codec}}
        input_size = _base_.codec['input_size']
        """)
    cfg = load_config(path)
    shipped = load_config(str(CONFIGS / QUICK))
    assert cfg.train_cfg.max_epochs == 3 != shipped.train_cfg.max_epochs
    assert cfg.model == shipped.model and cfg.train_dataloader == shipped.train_dataloader
    assert cfg.codec_copy == shipped.codec and cfg.input_size == shipped.codec.input_size
    assert not _has_scope_key(cfg.to_dict())
    check_config(cfg, loaders=())


def test_load_config_takes_the_package_syntax_directly():
    cfg = load_config(f'hpekit::{QUICK}')
    assert Path(cfg.filename).samefile(CONFIGS / QUICK)
    assert cfg.model == load_config(str(CONFIGS / QUICK)).model


@pytest.mark.parametrize('rel', SHIPPED)
def test_every_shipped_config_is_reachable(rel, tmp_path):
    """Every shipped base and experiment is a base of a user config as ``hpekit::<rel>``
    (the shipped file's own relative bases resolved from where it lies)."""
    child = load_config(write(tmp_path, 'child.py', f"""
        _base_ = ['hpekit::{rel}']
        mine = 1
        """))
    assert child.mine == 1
    # Config.text lists every file read: the shipped file, under its own path.
    assert f'{CONFIGS / rel}\n' in child.text


def test_runner_builds_from_a_user_config_through_the_package_syntax(tmp_path):
    register_all_modules()
    path = write(tmp_path, 'mine.py', f"""
        _base_ = ['hpekit::{QUICK}']
        default_hooks = dict(checkpoint=dict(interval=10))
        """)
    cfg = setup_train_config(load_config(path), path, work_dir=str(tmp_path / 'work'))
    check_config(cfg, loaders=())
    runner = Runner.from_cfg(cfg)
    assert type(runner.model).__name__ == 'TopDownPoseEstimator'
    assert isinstance(runner.model, torch.nn.Module)
    checkpoint = [h for h in runner.hooks if type(h).__name__ == 'SafeCheckpointHook']
    assert len(checkpoint) == 1 and checkpoint[0].interval == 10


def test_wrong_package_path_names_the_path_and_where_it_looked(tmp_path):
    path = write(tmp_path, 'mine.py', """
        _base_ = ['hpekit::_base_/default_runtme.py']
        """)
    with pytest.raises(FileNotFoundError) as err:
        load_config(path)
    message = str(err.value)
    assert "'hpekit::_base_/default_runtme.py'" in message and path in message
    for root in files.config_roots():
        assert str(Path(root) / '_base_' / 'default_runtme.py') in message
    with pytest.raises(FileNotFoundError, match=r"hpekit::coco/nope\.py.*looked at: .*"
                                               r"coco/nope\.py"):
        load_config('hpekit::coco/nope.py')
    with pytest.raises(ValueError, match='inside'):
        load_config('hpekit::../setup.py')


def test_wheel_layout_resolves_from_the_packaged_configs(tmp_path, monkeypatch):
    """A wheel holds the configs as hpekit/.mim/configs: the package syntax reads them
    there (the first of ``config_roots``), not from a checkout."""
    packaged = tmp_path / 'site' / 'hpekit' / '.mim' / 'configs'
    shutil.copytree(CONFIGS / '_base_', packaged / '_base_')
    shutil.copytree(CONFIGS / 'coco', packaged / 'coco')
    monkeypatch.setattr(files, 'config_roots', lambda: [str(packaged)])
    path = write(tmp_path / 'user', 'mine.py', f"""
        _base_ = ['hpekit::{QUICK}']
        marker = 1
        """)
    cfg = load_config(path)
    # Config.text: each file read, under its path (the experiment's relative bases too).
    for read in (QUICK, 'coco/rtmpose-m_b256-420e_coco-256x192.py',
                 '_base_/default_runtime.py'):
        assert str(packaged / read) in cfg.text
    assert str(CONFIGS) not in cfg.text   # nothing read from the checkout
    assert cfg.model == load_config(str(CONFIGS / QUICK)).model
    with pytest.raises(FileNotFoundError, match=str(packaged / 'mpii_hourglass')):
        load_config('hpekit::mpii_hourglass/hg2_synthetic-quick.py')


def test_partial_override_without_its_base_is_a_clear_error(tmp_path, monkeypatch):
    register_all_modules()
    path = write(tmp_path, 'mine.py', """
        default_hooks = dict(checkpoint=dict(interval=10))
        """)
    expected = (r"default_hooks\.checkpoint: no hook type given \(found \{'interval': 10\}\)"
                r": a partial override needs the base it overrides.*"
                r"_base_ = \['hpekit::_base_/default_runtime\.py'\]")
    with pytest.raises(ConfigError, match=expected):
        check_config(load_config(path), loaders=())
    train = load_tool('train')
    monkeypatch.setattr(train.Runner, 'from_cfg', staticmethod(
        lambda cfg: pytest.fail('the Runner was built despite a partial override')))
    with pytest.raises(ConfigError, match=expected):
        train.main([path, '--work-dir', str(tmp_path / 'work')])


@pytest.mark.parametrize('text, key', [
    ("visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])", 'visualizer'),
    ('optim_wrapper = dict(optimizer=dict(lr=1e-3))', r'optim_wrapper\.optimizer'),
    ('default_hooks = dict(my_hook=dict(interval=3))', r'default_hooks\.my_hook'),
])
def test_other_partial_overrides_name_the_base(text, key, tmp_path):
    register_all_modules()
    cfg = load_config(write(tmp_path, 'mine.py', text + '\n'))
    with pytest.raises(ConfigError, match=rf'{key}: no \w+ type given.*'
                                          r"hpekit::_base_/default_runtime\.py"):
        check_config(cfg, loaders=())
