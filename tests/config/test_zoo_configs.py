"""The native configs of MMPose's model zoo (configs/coco/hrnet-*, rtmpose-*,
configs/mpii_hrnet/) and their quick synthetic versions: each loads, passes
``check_config`` / ``check_codec``, builds, crops on its codec's grid, and its stage-2
pipeline (RTMPose) uses its codec too.

Each zoo config is also compared with hpekit's translation of MMPose's shipped config
of the same name (``load_config(<MMPose's file>)``, ``hpekit.config.mmpose``), read
from an MMPose installation where there is one (``HPEKIT_MMPOSE_CONFIGS``, the
``mmpose`` package of this environment, or the reference venv of
tests/fixtures/mmpose/README.md; skipped otherwise): the same network (equal
arguments, equal parameter names and shapes, so MMPose's published checkpoints load),
codec, flip test, pipelines, optimizer, schedule, EMA / pipeline-switch hooks and
metric. The differences the configs' comments give are left out of the comparison:
the local ImageNet file in ``init_cfg`` (MMPose names a URL), hpekit's runtime
defaults (seed 0 where MMPose sets none, checkpoint interval), the batch of the MPII
config and W48's ``auto_scale_lr`` base.
"""
import glob
import importlib.util
import os
import os.path as osp
import re
from pathlib import Path

import pytest
import torch

from hpekit.config.checks import check_codec, check_config
from hpekit.config.setup import load_config
from hpekit.registry import KEYPOINT_CODECS, MODELS
from hpekit.utils import register_all_modules

register_all_modules()
ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'

# hpekit config → MMPose's shipped config of the same model (under body_2d_keypoint/)
ZOO = {
    'coco/hrnet-w32_b64-210e_coco-256x192.py':
        'topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    'coco/hrnet-w32_b64-210e_coco-384x288.py':
        'topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-384x288.py',
    'coco/hrnet-w48_b32-210e_coco-256x192.py':
        'topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py',
    'coco/hrnet-w48_b32-210e_coco-384x288.py':
        'topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-384x288.py',
    'coco/hrnet-w32-udp_b64-210e_coco-256x192.py':
        'topdown_heatmap/coco/td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192.py',
    'coco/hrnet-w32-dark_b64-210e_coco-256x192.py':
        'topdown_heatmap/coco/td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192.py',
    'mpii_hrnet/hrnet-w32_b64-210e_mpii-256x256.py':
        'topdown_heatmap/mpii/td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py',
    'coco/rtmpose-t_b256-420e_coco-256x192.py':
        'rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py',
    'coco/rtmpose-s_b256-420e_coco-256x192.py':
        'rtmpose/coco/rtmpose-s_8xb256-420e_coco-256x192.py',
    'coco/rtmpose-m_b256-420e_coco-256x192.py':
        'rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py',
    'coco/rtmpose-l_b256-420e_coco-256x192.py':
        'rtmpose/coco/rtmpose-l_8xb256-420e_coco-256x192.py',
}
QUICK = ('coco/hrnet_synthetic-quick.py', 'coco/rtmpose_synthetic-quick.py')


def mmpose_configs_dir():
    """MMPose's ``configs/body_2d_keypoint`` folder, or None where MMPose is absent."""
    candidates = [os.environ.get('HPEKIT_MMPOSE_CONFIGS', '')]
    spec = importlib.util.find_spec('mmpose')
    if spec is not None and spec.origin:
        candidates.append(osp.join(osp.dirname(spec.origin), '.mim', 'configs'))
    candidates += sorted(glob.glob(
        '/work/mmpose-ref/lib/python3*/site-packages/mmpose/.mim/configs'))
    for folder in candidates:
        folder = osp.join(folder, 'body_2d_keypoint') if folder else ''
        if folder and osp.isdir(folder):
            return folder
    return None


MMPOSE = mmpose_configs_dir()
needs_mmpose = pytest.mark.skipif(MMPOSE is None, reason="MMPose's configs are not "
                                  'installed (set HPEKIT_MMPOSE_CONFIGS)')


def plain(value):
    """Dicts, tuples (for lists too) and floats rounded to 9 places, recursively."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, float):
        return round(value, 9)
    return value


def model_cfg(cfg):
    """``cfg.model`` without the backbone's ``init_cfg`` (hpekit: a local ImageNet file
    or none; MMPose's URL is dropped by the translation)."""
    model = plain(cfg.model.to_dict())
    model['backbone'].pop('init_cfg', None)
    return model


def canonical(value):
    """A string equal for equal configs whatever the order of their keys."""
    if isinstance(value, dict):
        return '{' + ', '.join(f'{k!r}: {canonical(value[k])}' for k in sorted(value)) + '}'
    if isinstance(value, (list, tuple)):
        return '(' + ', '.join(canonical(v) for v in value) + ')'
    return repr(plain(value))


def build_on_meta(model):
    """The model built without allocating its tensors."""
    with torch.device('meta'):
        return MODELS.build(model)


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.fixture(scope='module', params=sorted(ZOO) + list(QUICK))
def native(request):
    return request.param, load_config(str(CONFIGS / request.param))


def test_every_zoo_config_is_listed():
    found = {str(p.relative_to(CONFIGS)) for p in CONFIGS.glob('coco/hrnet*.py')} | \
        {str(p.relative_to(CONFIGS)) for p in CONFIGS.glob('coco/rtmpose*.py')} | \
        {str(p.relative_to(CONFIGS)) for p in CONFIGS.glob('mpii_hrnet/*.py')}
    assert found == set(ZOO) | set(QUICK)


def test_checks_pass_and_the_model_builds(native):
    name, cfg = native
    check_config(cfg, loaders=())   # parts, arguments and values; no data needed
    check_codec(cfg)
    assert cfg.model.head.decoder == cfg.codec
    model = build_on_meta(cfg.model)   # built on the CPU in test_shipped_configs_build.py
    assert tuple(model.head.decoder.input_size) == tuple(cfg.codec.input_size)
    assert model.head.out_channels == (16 if 'mpii' in name else 17)


def _pipelines(cfg):
    """(key, pipeline) of the loaders and of the PipelineSwitchHooks."""
    found = [(key, cfg[key].dataset.pipeline) for key in
             ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    found += [(f'custom_hooks[{i}].switch_pipeline', hook.switch_pipeline)
              for i, hook in enumerate(cfg.custom_hooks) if 'switch_pipeline' in hook]
    return found


def test_crops_targets_and_stage2_use_the_codec(native):
    """Every crop on the codec's grid, every encoder the codec, also in the stage-2
    pipeline of a PipelineSwitchHook (which ``check_codec`` does not look at)."""
    _, cfg = native
    grid = KEYPOINT_CODECS.build(cfg.codec.to_dict()).grid
    for key, pipeline in _pipelines(cfg):
        crops = [t for t in pipeline if t.type == 'TopdownAffine']
        assert len(crops) == 1, key
        assert crops[0].grid == grid, key
        for transform in pipeline:
            if 'input_size' in transform:
                assert tuple(transform.input_size) == tuple(cfg.codec.input_size), key
            if 'encoder' in transform:
                assert transform.encoder == cfg.codec, key


@pytest.mark.parametrize('name', sorted(ZOO))
def test_header_names_mmposes_config_and_its_numbers(name):
    """The header comment names MMPose's config and (where its metadata is installed)
    the accuracy MMPose reports for it."""
    text = (CONFIGS / name).read_text(encoding='utf-8')
    header = text.split('\n_base_ = ', 1)[0]
    mmpose_name = Path(ZOO[name]).stem
    assert mmpose_name in header.replace('\n# ', '')
    said = re.search(r'MMPose reports (?:a mean PCKh@0\.5 of )?([\d.]+)', header)
    assert said, f'{name}: the header does not give MMPose\'s reported accuracy'
    if MMPOSE is None:
        return
    # MMPose's metadata files (.yml beside its configs) give each model's numbers
    entries = [text.split(f'Name: {mmpose_name}\n', 1)[1] for text in
               (p.read_text(encoding='utf-8') for p in
                Path(MMPOSE, ZOO[name]).parent.glob('*.yml'))
               if f'Name: {mmpose_name}\n' in text]
    assert len(entries) == 1, f'{mmpose_name}: {len(entries)} metadata entries'
    entry = entries[0]
    value = re.search(r'(?:AP|Mean): ([\d.]+)', entry).group(1)
    assert float(said.group(1)) == pytest.approx(100 * float(value), abs=0.05)


@pytest.fixture(scope='module', params=sorted(ZOO))
def pair(request):
    """(name, hpekit's config, the translation of MMPose's config of the same name)."""
    if MMPOSE is None:
        pytest.skip("MMPose's configs are not installed (set HPEKIT_MMPOSE_CONFIGS)")
    path = osp.join(MMPOSE, ZOO[request.param])
    if not osp.isfile(path):
        pytest.skip(f'{path} is missing')
    return request.param, load_config(str(CONFIGS / request.param)), load_config(path)


@needs_mmpose
def test_model_equals_mmposes(pair):
    """The same network arguments, parameter names and shapes (checkpoints load), the
    same number of parameters, codec and flip test."""
    name, cfg, reference = pair
    assert model_cfg(cfg) == model_cfg(reference), name
    assert plain(cfg.codec.to_dict()) == plain(reference.codec.to_dict())
    model, theirs = build_on_meta(cfg.model), build_on_meta(reference.model)
    assert shapes(model) == shapes(theirs)
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in theirs.parameters())


@needs_mmpose
def test_training_and_evaluation_equal_mmposes(pair):
    """Schedule, optimizer, pipelines, hooks and metric as MMPose's config."""
    name, cfg, reference = pair
    for key in ('optim_wrapper', 'param_scheduler'):
        assert plain(cfg[key]) == plain(reference[key]), key
    for key in ('max_epochs', 'val_interval'):
        assert cfg.train_cfg[key] == reference.train_cfg[key]
    if 'seed' in (reference.get('randomness') or {}):
        assert cfg.randomness.seed == reference.randomness.seed
    hooks = ('EMAHook', 'PipelineSwitchHook', 'SyncBuffersHook')
    assert sorted(canonical(h) for h in cfg.custom_hooks if h.type in hooks) == \
        sorted(canonical(h) for h in reference.custom_hooks if h.type in hooks)
    if 'mpii' in name:   # MMPose's MpiiDataset and metric are not translated
        assert set(reference.mmpose_untranslated) >= {'train_dataloader', 'val_evaluator'}
        return
    for key in ('train_dataloader', 'val_dataloader'):
        ours, theirs = cfg[key], reference[key]
        assert plain(ours.dataset.pipeline) == plain(theirs.dataset.pipeline), key
        assert ours.batch_size == theirs.batch_size, key
        assert ours.dataset.get('bbox_file') == theirs.dataset.get('bbox_file'), key
    ours, theirs = cfg.val_evaluator, reference.val_evaluator
    assert (ours.type, ours.nms_mode, ours.ann_file) == \
        (theirs.type, theirs.nms_mode, theirs.ann_file)
    assert cfg.default_hooks.checkpoint.save_best == \
        reference.default_hooks.checkpoint.save_best


def test_quick_configs_train_on_the_synthetic_twin_the_makefile_writes():
    makefile = (ROOT / 'Makefile').read_text(encoding='utf-8')
    assert '--out data/coco_synthetic ' in makefile
    for name in QUICK:
        cfg = load_config(str(CONFIGS / name))
        assert cfg.train_dataloader.dataset.data_root == 'data/coco_synthetic/'
        assert cfg.val_dataloader.dataset.bbox_file is None
        assert cfg.val_evaluator.ann_file.startswith('data/coco_synthetic/')
        target = 'demo-' + Path(name).stem.split('_')[0]
        assert re.search(rf'^[\w\s-]*\b{target}\b[\w\s-]*:', makefile, re.M), target
