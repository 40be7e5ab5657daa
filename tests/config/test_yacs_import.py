"""HRNet / SimpleBaseline YAML experiments converted into hpekit Python configs
(hpekit.config.yacs, tools/misc/yacs2py.py)."""
import ast
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from hpekit.config.checks import check_config
from hpekit.config.files import config_roots
from hpekit.config.setup import load_config
from hpekit.config.yacs import YacsImportError, load_yacs_experiment, read_yaml, yacs_to_config_text
from hpekit.config.yacs2py import main as yacs2py_main
from hpekit.datasets.synthetic.mpii import write_mpii_split
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / 'configs' / 'yacs_examples' / 'res50_256x256_d256x3_adam_lr1e-3.yaml'
TINY = ROOT / 'tests' / 'data' / 'hourglass_tiny.yaml'
SIMPLEBASELINE = ROOT / 'configs' / 'mpii_hourglass' / 'simplebaseline-res50_b32-140e_mpii-256.py'
HOURGLASS = ROOT / 'configs' / 'mpii_hourglass' / 'hg2-bottleneck_b24-20e_mpii-256.py'


def transforms(pipeline, name):
    return [t for t in pipeline if t['type'] == name]


def write_yaml(tmp_path, text, name='exp.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def convert(tmp_path, yaml_path, name='converted.py'):
    """Convert ``yaml_path`` and write the config: (path, text, report)."""
    text, report = yacs_to_config_text(str(yaml_path))
    path = tmp_path / name
    path.write_text(text)
    return str(path), text, report


def base_entries(text):
    """The ``_base_`` list of a config text (read as mmengine reads it)."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_':
            return ast.literal_eval(node.value)
    return None


def build(cfg_model):
    register_all_modules()
    return MODELS.build(cfg_model)


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def shapes(model):
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def test_simplebaseline_example_converts_to_a_config_that_loads_and_builds(tmp_path):
    path, text, report = convert(tmp_path, EXAMPLE)
    # A standalone config: inherits the shipped SimpleBaseline config by absolute path.
    (base, ) = base_entries(text)
    assert osp.isabs(base) and osp.samefile(base, SIMPLEBASELINE)
    assert any(base.startswith(root) for root in config_roots())
    assert ("codec = dict(type='MSRAHeatmap', input_size=(256, 256), "
            "heatmap_size=(64, 64), sigma=2)") in text
    # Sizes are written once, in the codec; the parts are given it. The YAML keeps the
    # base's codec, so the base's val pipeline and head (which hold it) are kept.
    assert 'GenerateHeatmaps' not in text and text.count('input_size=(') == 1
    assert text.count("input_size=codec['input_size']") == 2   # LoadImage, TopdownAffine
    assert "dict(type='GenerateTarget', encoder=codec)" in text
    assert 'val_pipeline' not in text and 'decoder=' not in text
    for key in report.ignored:   # every key that was not converted is named, with why
        assert f'#   {key}: ' in text
    compile(text, path, 'exec')

    cfg = load_config(path)   # mmengine's Config.fromfile, --cfg-options, default scope
    check_config(cfg, loaders=())   # every part is given the config's codec
    train = cfg.train_dataloader
    assert train.batch_size == 32 and train.num_workers == 4 and train.sampler.shuffle
    pipeline = train.dataset.pipeline
    assert [t['type'] for t in pipeline] == ['LoadImage', 'TopdownAffine', 'GenerateTarget',
                                             'PackPoseInputs']  # PROB_HALF_BODY -1: none
    affine = transforms(pipeline, 'TopdownAffine')[0]
    assert tuple(affine.input_size) == (256, 256)
    assert (affine.scale_factor, affine.rotate_factor, affine.flip_prob) == (0.25, 30, 0.5)
    assert transforms(pipeline, 'LoadImage')[0].min_box_scale == 0.75
    assert transforms(pipeline, 'GenerateTarget')[0].encoder == cfg.codec
    assert cfg.val_dataloader.dataset.ann_file == 'annotations/mpii_val.json'
    assert cfg.test_dataloader.batch_size == 32
    assert cfg.val_evaluator.gt_file == 'data/mpii/annotations/mpii_gt_val.mat'
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=0.001)  # no WD for Adam
    assert cfg.param_scheduler == [dict(type='MultiStepLR', by_epoch=True,
                                        milestones=[90, 120], gamma=0.1)]
    assert cfg.train_cfg.max_epochs == 140 and cfg.resume is True
    assert cfg.default_hooks.logger.interval == 100
    assert cfg.default_hooks.checkpoint.save_best == 'PCKh'   # kept from the base
    # SHIFT_HEATMAP true is HRNet's flip compensation: reported, not copied.
    assert cfg.model.test_cfg == dict(flip_test=True, shift_heatmap=False)
    assert {'TEST.SHIFT_HEATMAP', 'GPUS', 'TRAIN.WD', 'OUTPUT_DIR'} <= set(report.ignored)
    assert cfg.model.backbone.init_cfg.checkpoint == 'checkpoints/resnet50_imagenet.pth'
    assert cfg.model.head.decoder == cfg.codec

    # The YAML is the shipped SimpleBaseline experiment: the same network (34.0 M).
    model = build(cfg.model)
    shipped = build(load_config(str(SIMPLEBASELINE)).model)
    assert shapes(model) == shapes(shipped)
    assert round(num_params(model) / 1e6, 1) == 34.0


@pytest.mark.parametrize('path', [EXAMPLE, TINY])
def test_every_key_is_either_mapped_or_reported(path):
    _, report = yacs_to_config_text(str(path))
    keys = set(read_yaml(str(path)))
    assert set(report.mapped) | set(report.ignored) == keys
    assert not set(report.mapped) & set(report.ignored)
    assert not report.rejected
    text = report.warning_text()
    assert str(path) in text and all(f'  {key}:' in text for key in report.ignored)


def test_tiny_hourglass_builds_the_expected_network(tmp_path):
    path, text, _ = convert(tmp_path, TINY)
    assert osp.samefile(base_entries(text)[0], HOURGLASS)
    cfg = load_config(path)
    assert cfg.codec == dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
                             sigma=1)
    assert cfg.model.backbone.channels == 16 and cfg.model.backbone.depth == 2
    assert cfg.model.backbone.init_cfg is None   # PRETRAINED ''
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.8,
                                               weight_decay=0.0005, nesterov=True)
    assert cfg.param_scheduler[0].milestones == [1] and cfg.param_scheduler[0].gamma == 0.5
    pipeline = cfg.train_dataloader.dataset.pipeline
    affine = transforms(pipeline, 'TopdownAffine')[0]
    assert (affine.input_size, affine.flip_prob, affine.scale_factor) == ((64, 64), 0.0, 0.1)
    assert transforms(pipeline, 'LoadImage')[0].min_box_scale == 0.9   # 1 - SCALE_FACTOR
    assert not transforms(pipeline, 'RandomHalfBody')                    # PROB_HALF_BODY 0
    assert transforms(cfg.val_dataloader.dataset.pipeline,
                      'TopdownAffine')[0].input_size == (64, 64)
    # Another codec than the base's: every part that uses it is re-stated with it.
    check_config(cfg, loaders=())
    assert cfg.model.head.decoder == cfg.codec
    assert transforms(pipeline, 'GenerateTarget')[0].encoder == cfg.codec
    assert 'val_pipeline = [' in text and 'decoder=codec' in text
    # The same network as the shipped hourglass config with the YAML's sizes.
    reference = load_config(str(HOURGLASS), {
        'model.backbone.channels': 16, 'model.backbone.depth': 2,
        'model.head.decoder.input_size': (64, 64),
        'model.head.decoder.heatmap_size': (16, 16)})
    model = build(cfg.model).eval()
    assert shapes(model) == shapes(build(reference.model))
    assert num_params(model) == num_params(build(reference.model))
    assert build(reference.model).spec == model.spec   # the decoder too: 64 px crops
    with torch.no_grad():
        heatmaps = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert len(heatmaps) == 2 and heatmaps[-1].shape == (1, 16, 16, 16)


def test_resnet18_depth_sets_head_channels_and_builds(tmp_path):
    text = EXAMPLE.read_text().replace('NUM_LAYERS: 50', 'NUM_LAYERS: 18') \
        .replace("PRETRAINED: 'checkpoints/resnet50_imagenet.pth'", "PRETRAINED: ''")
    cfg = load_config(convert(tmp_path, write_yaml(tmp_path, text))[0])
    assert cfg.model.head.in_channels == 512 and cfg.model.backbone.init_cfg is None
    model = build(cfg.model).eval()
    with torch.no_grad():
        heatmaps = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert heatmaps[-1].shape == (1, 16, 16, 16)


def test_init_weights_false_drops_the_pretrained_backbone(tmp_path):
    text = EXAMPLE.read_text().replace('NAME: pose_resnet',
                                       'NAME: pose_resnet\n  INIT_WEIGHTS: false')
    path, _, report = convert(tmp_path, write_yaml(tmp_path, text))
    assert load_config(path).model.backbone.init_cfg is None
    assert 'MODEL.PRETRAINED' in report.ignored


def test_unmappable_keys_fail_together_naming_file_and_keys(tmp_path):
    text = (EXAMPLE.read_text().replace('NAME: pose_resnet', 'NAME: pose_resnet\n'
                                        '  TAG_PER_JOINT: true')
            .replace('USE_TARGET_WEIGHT: true', 'USE_TARGET_WEIGHT: true\n'
                     '  USE_OHKM: true')
            .replace('  - 64\n  - 64', '  - 48\n  - 64')
            .replace('DATASET: mpii', 'DATASET: coco')
            .replace('SCALE_FACTOR: 0.25', 'SCALE_FACTOR: 1.5')
            .replace('NUM_LAYERS: 50', 'NUM_LAYERS: 152')
            + 'FOO:\n  BAR: 1\n')
    path = write_yaml(tmp_path, text)
    with pytest.raises(YacsImportError) as err:
        yacs_to_config_text(path)
    message = str(err.value)
    assert path in message
    for key in ('LOSS.USE_OHKM', 'MODEL.HEATMAP_SIZE', 'DATASET.DATASET', 'FOO.BAR',
                'DATASET.SCALE_FACTOR', 'MODEL.EXTRA.NUM_LAYERS'):
        assert f'  {key}:' in message
    assert 'MODEL.TAG_PER_JOINT' not in message  # ignorable: a warning, not an error


def test_unknown_model_and_bad_values_are_errors(tmp_path):
    path = write_yaml(tmp_path, 'MODEL:\n  NAME: pose_hrnet\n  EXTRA:\n    STAGE2: 1\n'
                      'TRAIN:\n  LR: fast\n  OPTIMIZER: lion\n')
    with pytest.raises(YacsImportError) as err:
        yacs_to_config_text(path)
    message = str(err.value)
    assert "MODEL.NAME: 'pose_hrnet'" in message and 'MODEL.EXTRA.STAGE2' in message
    assert "TRAIN.LR: expected a number >= 1e-12, got 'fast'" in message
    assert "TRAIN.OPTIMIZER: 'lion'" in message
    with pytest.raises(FileNotFoundError, match='missing.yaml'):
        yacs_to_config_text(str(tmp_path / 'missing.yaml'))
    broken = write_yaml(tmp_path, 'MODEL: [unclosed\n', 'broken.yaml')
    with pytest.raises(YacsImportError, match='broken.yaml'):
        yacs_to_config_text(broken)


def test_yacs2py_writes_once_and_prints_what_was_not_converted(tmp_path, capsys):
    out = tmp_path / 'configs' / 'tiny.py'
    assert yacs2py_main([str(TINY), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert f'Wrote {out}' in printed and '6 not converted' in printed
    assert 'TEST.NMS_THRE: COCO person-detector setting' in printed
    assert out.read_text() == yacs_to_config_text(str(TINY))[0]
    # Written once: an existing file is kept unless --force.
    out.write_text('# edited by hand\n')
    assert yacs2py_main([str(TINY), '--out', str(out)]) == 1
    assert 'exists; give --force' in capsys.readouterr().err
    assert out.read_text() == '# edited by hand\n'
    assert yacs2py_main([str(TINY), '--out', str(out), '--force']) == 0
    assert out.read_text().startswith('# hpekit config converted')
    # Rejected keys: all printed, nothing written.
    bad = write_yaml(tmp_path, TINY.read_text() + 'FOO: 1\n', 'bad.yaml')
    assert yacs2py_main([bad, '--out', str(tmp_path / 'bad.py')]) == 1
    assert '  FOO: unknown key' in capsys.readouterr().err
    assert not (tmp_path / 'bad.py').exists()


def test_load_config_converts_a_yaml_in_memory_with_a_hint(tmp_path, capsys):
    cfg = load_config(str(TINY), {'train_dataloader.batch_size': 3})
    assert 'convert it once into an editable config: python tools/misc/yacs2py.py' in \
        capsys.readouterr().out
    assert cfg.default_scope == 'hpekit'
    assert cfg.train_dataloader.batch_size == 3
    converted = load_config(convert(tmp_path, TINY)[0], {'train_dataloader.batch_size': 3})
    assert cfg.to_dict() == converted.to_dict()   # the same config as the written .py
    assert load_yacs_experiment(str(TINY))[0].filename.endswith('hourglass_tiny.py')


def tiny_experiment(tmp_path):
    """The tiny hourglass YAML on 3 + 1 synthetic MPII records."""
    data = tmp_path / 'mpii'
    write_mpii_split(str(data), num_train=3, num_val=1, image_size=(320, 192), seed=5,
                     progress=False)
    return write_yaml(tmp_path, TINY.read_text().replace("'data/mpii/'", f"'{data}'"),
                      'hg_tiny.yaml')


def run(command, cwd, pythonpath, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(pythonpath), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *map(str, command)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def check_trained(work):
    assert (work / 'epoch_1.pth').is_file()
    history = json.loads((work / 'metrics.json').read_text())
    assert [h['epoch'] for h in history] == [1] and 0.0 <= history[0]['PCKh'] <= 100.0


def test_train_tool_runs_the_converted_config(tmp_path):
    exp = tiny_experiment(tmp_path)
    config = tmp_path / 'hg_tiny.py'
    out = run([ROOT / 'tools' / 'misc' / 'yacs2py.py', exp, '--out', config], ROOT, ROOT)
    assert f'Wrote {config}' in out
    work = tmp_path / 'work'
    run([ROOT / 'tools' / 'train.py', config, '--work-dir', work], ROOT, ROOT)
    check_trained(work)


def test_train_tool_still_runs_a_yaml_experiment(tmp_path):
    # Failed after the codec change (92adda5): the old importer set sizes on
    # `input_size` / `GenerateHeatmaps`, which the configs no longer have.
    exp = tiny_experiment(tmp_path)
    work = tmp_path / 'work'
    out = run([ROOT / 'tools' / 'train.py', exp, '--work-dir', work], ROOT, ROOT)
    assert 'not mapped onto hpekit' in out and 'TEST.NMS_THRE' in out
    assert 'python tools/misc/yacs2py.py' in out   # the hint to convert once
    check_trained(work)


def test_conversion_works_from_a_non_editable_install(tmp_path):
    """hpekit copied into a site dir as an installed package is laid out: the shipped
    configs under hpekit/.mim/configs, no repository configs/ beside it; used from a
    directory that is not the repository."""
    site = tmp_path / 'site'
    shutil.copytree(ROOT / 'hpekit', site / 'hpekit',
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    shutil.copytree(ROOT / 'configs', site / 'hpekit' / '.mim' / 'configs')
    elsewhere = tmp_path / 'project'
    elsewhere.mkdir()
    shutil.copy(TINY, elsewhere / 'tiny.yaml')
    out = run(['-m', 'hpekit.config.yacs2py', 'tiny.yaml', '--out', 'tiny.py'],
              elsewhere, site)
    assert 'Wrote tiny.py' in out
    text = (elsewhere / 'tiny.py').read_text()
    packaged = site / 'hpekit' / '.mim' / 'configs'
    assert base_entries(text) == [
        str(packaged / 'mpii_hourglass' / 'hg2-bottleneck_b24-20e_mpii-256.py')]
    check = (
        'import hpekit, torch\n'
        'from hpekit.config.setup import load_config\n'
        'from hpekit.registry import MODELS\n'
        'from hpekit.utils import register_all_modules\n'
        'from hpekit.config.files import config_roots\n'
        'print("package", hpekit.__file__)\n'
        'print("roots", config_roots())\n'
        'register_all_modules()\n'
        'for path in ("tiny.py", "tiny.yaml"):\n'
        '    cfg = load_config(path)\n'
        '    model = MODELS.build(cfg.model)\n'
        '    print("params", path, sum(p.numel() for p in model.parameters()))\n')
    out = run(['-c', check], elsewhere, site)
    assert f'package {site / "hpekit" / "__init__.py"}' in out
    assert f'roots {[str(packaged)]}' in out
    cfg = Config.fromfile(str(elsewhere / 'tiny.py'))   # loads here, too: absolute base
    expected = num_params(build(load_config(convert(tmp_path, TINY)[0]).model))
    assert f'params tiny.py {expected}' in out and f'params tiny.yaml {expected}' in out
    assert cfg.model.backbone.channels == 16
