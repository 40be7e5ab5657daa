"""The plugin tutorial's example package works through custom_imports, untouched hpekit."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'examples'
CONFIG = EXAMPLES / 'hpekit_plugin_example' / 'tiny_plugin_synthetic.py'


def test_plugin_parts_register_and_build(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    from hpekit.registry import MODELS
    import hpekit_plugin_example  # noqa: F401  (what custom_imports does)
    backbone = MODELS.build(dict(type='TinyConvNet', channels=(4, 8, 8, 16)))
    neck = MODELS.build(dict(type='TemporalSmoothingNeck', in_channels=16))
    feats = backbone(torch.randn(2, 3, 32, 32))
    assert feats[0].shape == (2, 16, 2, 2)
    assert neck(torch.randn(2, 5, 16)).shape == (2, 5, 16)
    with pytest.raises(ValueError, match='kernel_size must be odd'):
        MODELS.build(dict(type='TemporalSmoothingNeck', in_channels=16, kernel_size=2))


def test_config_uses_custom_imports():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.custom_imports['imports'] == ['hpekit_plugin_example']


def test_training_with_the_plugin_config(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(EXAMPLES)]),
               OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(CONFIG),
                           '--work-dir', str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / 'epoch_1.pth').is_file()
    history = json.loads((tmp_path / 'metrics.json').read_text())
    assert history[-1]['mpjpe'] > 0
