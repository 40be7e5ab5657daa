"""tools/print_config.py: the resolved config, as training would run it."""
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]


def load_tool(name):
    """Import tools/<name>.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


print_config = load_tool('print_config')


def test_prints_inherited_and_overridden_values_and_saves_a_loadable_file(tmp_path,
                                                                         capsys):
    out = tmp_path / 'resolved.py'
    cfg = print_config.main([str(ROOT / 'tests/configs/mpii_tiny.py'), '--cfg-options',
                             'train_dataloader.batch_size=3', '--out', str(out)])
    text = capsys.readouterr().out
    # From the base config two levels up, from the tiny config, from the flag:
    assert "type='StackedHourglass'" in text and 'channels=16' in text
    assert 'batch_size=3' in text and cfg.train_dataloader.batch_size == 3
    saved = Config.fromfile(str(out))
    assert saved.model.to_dict() == cfg.model.to_dict()
    assert saved.train_dataloader.batch_size == 3 and '_base_' not in saved


def test_yaml_experiment_is_printed_as_the_imported_config(capsys):
    print_config.main([str(ROOT / 'tests/data/hourglass_tiny.yaml')])
    text = capsys.readouterr().out
    assert "type='SGD'" in text and 'nesterov=True' in text and 'max_epochs=1' in text


def test_bad_arguments_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        print_config.main([str(tmp_path / 'nope.py')])
    with pytest.raises(ValueError, match='expected a .py file'):
        print_config.main([str(ROOT / 'tests/configs/mpii_tiny.py'), '--out', 'x.txt'])
