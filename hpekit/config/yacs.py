"""Convert an HRNet / SimpleBaseline yacs YAML experiment into an hpekit Python config.

Convert once, then work with the ``.py`` like any other config::

    python tools/misc/yacs2py.py experiment.yaml --out configs/my_experiment.py
    python -m hpekit.config.yacs2py experiment.yaml --out my_experiment.py
    python tools/train.py configs/my_experiment.py

The YAML is read with yacs' ``CfgNode`` and flattened to dotted keys (``TRAIN.LR``);
every key is handled by exactly one rule of :data:`RULES` (``MODEL.EXTRA.*`` by the
rules of its ``MODEL.NAME``). A rule either

- **maps** the key onto the hpekit config (``MODEL.IMAGE_SIZE`` → the ``codec``'s
  ``input_size``, ``TRAIN.LR`` → ``optim_wrapper.optimizer.lr`` …),
- **ignores** it with a reason: it does not change what hpekit trains or evaluates
  (log paths, the GPU list, debug switches, COCO-only detection settings, settings
  hpekit replaces by its own fixed behaviour), or
- **rejects** it: a setting hpekit cannot reproduce that would change the model, the
  data, the targets, the loss or the optimisation (e.g. ``LOSS.USE_OHKM: true``,
  ``MODEL.NAME: pose_hrnet``, ``DATASET.DATASET: coco``), and every key no rule knows.
  All rejected keys are reported together in one :class:`YacsImportError` naming the
  file; nothing is silently dropped.

The written config (:func:`yacs_to_config_text`) inherits, through ``_base_``, hpekit's
shipped config of the model family (``mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py``
for ``pose_resnet``, ``mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py`` for
``pose_hourglass``) and sets only what the YAML names, in today's vocabulary: one
``codec = dict(type='MSRAHeatmap', input_size=..., heatmap_size=..., sigma=...)``
from ``MODEL.IMAGE_SIZE`` / ``HEATMAP_SIZE`` / ``SIGMA``, a train pipeline where the
augmentation or the codec changes, and partial dicts that mmengine merges into the
base. Nothing fills a config's parts from its ``codec``, and the base's pipelines and
head hold the base's codec: when the codec differs from the base's, the written config
re-states every part that uses it (the train and val pipelines with
``input_size=codec['input_size']`` and ``GenerateTarget(encoder=codec)``, and the
head's ``decoder=codec``), as MMPose configs do. Comments name the YAML keys behind
each setting and list the keys that were not converted, with the reason.

**Where the base config is found.** mmengine resolves a ``_base_`` entry as a file
path relative to the config (its ``package::path`` form knows only OpenMMLab's own
packages), so the converter writes the *absolute* path of the shipped file, found
under :func:`hpekit.config.files.config_roots`: ``hpekit/.mim/configs`` of an
installed package first, then a source checkout's ``configs/``. The converted config
thus loads from any working directory and from a non-editable install. After hpekit
moves (another virtual environment or machine), convert again or edit the ``_base_``
line; the comment above it names the shipped file relative to ``configs/``.

Annotation files are the MMPose-style names under ``DATASET.ROOT``
(``annotations/mpii_{train,val}.json``, ``annotations/mpii_gt_val.mat``: the same
records as HRNet's ``annot/*.json``).
"""
import keyword
import logging
import os.path as osp
import tempfile
import textwrap
from typing import Any, Callable, Dict, Optional, Tuple, Type, Union

from mmengine.config import Config
from mmengine.logging import print_log
from yacs.config import CfgNode

from hpekit.config.files import config_roots

BASE_CONFIGS = {'pose_resnet': 'mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py',
                'pose_hourglass': 'mpii_hourglass/hg2-bottleneck_b24-20e_mpii-256.py'}
SPLIT_FILES = {'train': 'annotations/mpii_train.json',
               'trainval': 'annotations/mpii_trainval.json',
               'valid': 'annotations/mpii_val.json', 'val': 'annotations/mpii_val.json'}
GT_FILE = 'annotations/mpii_gt_val.mat'
OPTIMIZERS = {'adam': 'Adam', 'sgd': 'SGD', 'adamw': 'AdamW', 'rmsprop': 'RMSprop'}
RESNET_DEPTHS = (18, 34, 50, 101)   # hpekit's ResNet.arch_settings
TOOL = 'tools/misc/yacs2py.py'


class YacsImportError(ValueError):
    """A YAML experiment has keys or values hpekit cannot reproduce."""


class Map:
    """Rule outcome: hpekit settings (see :data:`TARGETS`) for one key; no settings
    when the value is what hpekit does anyway."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings


class Ignore:
    """Rule outcome: the key is not used; ``reason`` says why (reported as a warning)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Reject:
    """Rule outcome: the key asks for something hpekit cannot do (reported as an error)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


#: A rule: (the key's value, the whole flat experiment) → its outcome.
Rule = Callable[[Any, Dict[str, Any]], Union[Map, Ignore, Reject]]


class ImportReport:
    """What happened to every key: ``mapped``, ``ignored`` and ``rejected`` dicts of
    dotted key → description (mapped: the settings; others: the reason)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.mapped, self.ignored, self.rejected = {}, {}, {}

    def warning_text(self) -> str:
        """One line per ignored key, or '' when none."""
        lines = [f'  {key}: {reason}' for key, reason in sorted(self.ignored.items())]
        return (f'{self.source}: {len(lines)} key(s) not mapped onto hpekit (no effect on '
                'what is trained or evaluated):\n' + '\n'.join(lines)) if lines else ''

    def error_text(self) -> str:
        """One line per rejected key, under a line naming the file."""
        lines = [f'  {key}: {reason}' for key, reason in sorted(self.rejected.items())]
        return (f'{self.source}: {len(lines)} key(s) cannot be mapped onto an hpekit '
                'config; remove them or change their values:\n' + '\n'.join(lines))


# ------------------------------------------------------------------ value checks
class _BadValue(Exception):
    pass


def _int(value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _BadValue(f'expected an integer >= {minimum}, got {value!r}')
    return value


def _number(value, minimum=0.0, below=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum \
            or (below is not None and value >= below):
        upper = f' and < {below}' if below is not None else ''
        raise _BadValue(f'expected a number >= {minimum}{upper}, got {value!r}')
    return value


def _bool(value):
    if not isinstance(value, bool):
        raise _BadValue(f'expected true or false, got {value!r}')
    return value


def _ints(value, length=None, minimum=1):
    if not isinstance(value, (list, tuple)) or (length and len(value) != length):
        size = f'{length} ' if length else ''
        raise _BadValue(f'expected a list of {size}integers, got {value!r}')
    return [_int(v, minimum) for v in value]


def _str(value):
    if not isinstance(value, str):
        raise _BadValue(f'expected a string, got {value!r}')
    return value


# ------------------------------------------------------------------------ rules
def to(setting: str, check: Optional[Callable[[Any], Any]] = None) -> Rule:
    """Rule: the value (checked/converted by ``check``) becomes hpekit ``setting``."""
    return lambda value, exp: Map(**{setting: check(value) if check else value})


def ignore(reason: str) -> Rule:
    """Rule: ignored whatever the value, with ``reason``."""
    return lambda value, exp: Ignore(reason)


def only(expected: Any, reason: str, *,
         otherwise: Union[Type[Reject], Type[Ignore]] = Reject) -> Rule:
    """Rule: fine (hpekit's fixed behaviour) when the value is ``expected``; any other
    value is ``otherwise`` (Reject or Ignore) with ``reason``."""
    def rule(value, exp):
        if value == expected:
            return Map()
        return otherwise(f'{value!r}: {reason}')
    return rule


def _model_name(value, exp):
    if value not in BASE_CONFIGS:
        return Reject(f'{value!r}: expected one of {sorted(BASE_CONFIGS)} (other '
                      'architectures, e.g. pose_hrnet, are not in hpekit)')
    return Map(model=value)


def _num_joints(value, exp):
    return Map() if value == 16 else Reject(f'{value!r}: MPII has 16 joints')


def _dataset(value, exp):
    return Map() if str(value).lower() == 'mpii' else Reject(
        f'{value!r}: only mpii is supported (the importer maps onto the MPII configs)')


def _split(setting):
    def rule(value, exp):
        if value not in SPLIT_FILES:
            return Reject(f'{value!r}: expected one of {sorted(SPLIT_FILES)}')
        return Map(**{setting: SPLIT_FILES[value]})
    return rule


def _half_body_prob(value, exp):
    return Map(half_body_prob=max(0.0, _number(value, -1.0)))


def _resnet_depth(value, exp):
    if value not in RESNET_DEPTHS or isinstance(value, bool):
        return Reject(f'{value!r}: expected one of {list(RESNET_DEPTHS)}')
    return Map(resnet_depth=value)


def _optimizer(value, exp):
    name = str(value).lower()
    if name not in OPTIMIZERS:
        return Reject(f'{value!r}: expected one of {sorted(OPTIMIZERS)}')
    return Map(optimizer=OPTIMIZERS[name])


def _sgd_only(setting, check):
    """MOMENTUM / WD / NESTEROV: HRNet passes them to SGD only (Adam gets just LR)."""
    def rule(value, exp):
        if str(exp.get('TRAIN.OPTIMIZER', 'adam')).lower() != 'sgd':
            return Ignore('HRNet passes it to SGD only; its Adam gets just TRAIN.LR, '
                          'and so does the converted config')
        return Map(**{setting: check(value)})
    return rule


def _begin_epoch(value, exp):
    return Map() if value == 0 else Reject(
        f'{value!r}: hpekit counts epochs from 0; continue a run with --resume')


def _checkpoint(value, exp):
    return Map(load_from=value) if value else Map()


def _init_weights(value, exp):
    """false: no pretrained weights, whatever MODEL.PRETRAINED or the base config say."""
    return Map() if _bool(value) else Map(pretrained='')


def _pretrained(value, exp):
    if exp.get('MODEL.INIT_WEIGHTS', True) is False:
        return Ignore('MODEL.INIT_WEIGHTS is false, so HRNet does not load it either')
    return Map(pretrained=_str(value))


def _topk(value, exp):
    if exp.get('LOSS.USE_OHKM', False):
        return Map()  # LOSS.USE_OHKM: true is rejected by its own rule
    return Ignore('only used by online hard keypoint mining (LOSS.USE_OHKM), which is off')


def _shift_heatmap(value, exp):
    if value is False:
        return Map(shift_heatmap=False)
    return Ignore("true compensates HRNet's x -> W - x flip; hpekit's affine flips "
                  'exactly (x -> W - 1 - x), so models trained in hpekit keep '
                  'shift_heatmap=False (docs/mpii.md, Flip test)')


COCO_ONLY = 'COCO person-detector setting; MPII crops come from the annotated boxes'
BOOKKEEPING = 'bookkeeping: hpekit writes logs and checkpoints to --work-dir'

RULES = {
    'AUTO_RESUME': to('resume', _bool),
    'CUDNN.BENCHMARK': to('cudnn_benchmark', _bool),
    'CUDNN.DETERMINISTIC': to('deterministic', _bool),
    'CUDNN.ENABLED': only(True, 'hpekit always lets torch use cuDNN',
                          otherwise=Ignore),
    'DATA_DIR': ignore(BOOKKEEPING),
    'OUTPUT_DIR': ignore(BOOKKEEPING),
    'LOG_DIR': ignore(BOOKKEEPING),
    'GPUS': ignore('the GPU count comes from the launcher (tools/dist_train.sh, '
                   'torchrun --nproc-per-node N tools/train.py ... --launcher pytorch)'),
    'WORKERS': to('num_workers', _int),
    'PIN_MEMORY': ignore('hpekit copies uint8 batches to the device itself'),
    'PRINT_FREQ': to('log_interval', lambda v: _int(v, 1)),
    'RANK': ignore('set by the launcher'),
    'MODEL.NAME': _model_name,
    'MODEL.INIT_WEIGHTS': _init_weights,
    'MODEL.PRETRAINED': _pretrained,
    'MODEL.NUM_JOINTS': _num_joints,
    'MODEL.TAG_PER_JOINT': ignore('associative-embedding setting; unused by top-down '
                                  'heatmap models'),
    'MODEL.TARGET_TYPE': only('gaussian', 'hpekit only generates Gaussian heatmaps'),
    'MODEL.IMAGE_SIZE': to('input_size', lambda v: _ints(v, 2)),
    'MODEL.HEATMAP_SIZE': to('heatmap_size', lambda v: _ints(v, 2)),
    'MODEL.SIGMA': to('sigma', lambda v: _number(v, 1e-6)),
    'LOSS.USE_TARGET_WEIGHT': to('use_target_weight', _bool),
    'LOSS.USE_OHKM': only(False, 'online hard keypoint mining is not in hpekit'),
    'LOSS.TOPK': _topk,
    'LOSS.USE_DIFFERENT_JOINTS_WEIGHT': only(False, 'per-joint loss weights are not '
                                             'in hpekit'),
    'DATASET.ROOT': to('data_root', _str),
    'DATASET.DATASET': _dataset,
    'DATASET.TRAIN_SET': _split('train_ann'),
    'DATASET.TEST_SET': _split('test_ann'),
    'DATASET.DATA_FORMAT': ignore('hpekit reads the image files the JSON names'),
    'DATASET.HYBRID_JOINTS_TYPE': only('', 'hybrid joint sets are not in hpekit'),
    'DATASET.SELECT_DATA': only(False, 'COCO sample selection is not in hpekit'),
    'DATASET.FLIP': to('flip', _bool),
    'DATASET.SCALE_FACTOR': to('scale_factor', lambda v: _number(v, 0.0, below=1.0)),
    'DATASET.ROT_FACTOR': to('rotate_factor', _number),
    'DATASET.PROB_HALF_BODY': _half_body_prob,
    'DATASET.NUM_JOINTS_HALF_BODY': to('half_body_joints', _int),
    'DATASET.COLOR_RGB': only(True, 'HRNet then feeds BGR images; hpekit always feeds '
                              'RGB (the order torchvision ImageNet weights expect)',
                              otherwise=Ignore),
    'TRAIN.BATCH_SIZE_PER_GPU': to('batch_size', lambda v: _int(v, 1)),
    'TRAIN.SHUFFLE': to('shuffle', _bool),
    'TRAIN.BEGIN_EPOCH': _begin_epoch,
    'TRAIN.END_EPOCH': to('max_epochs', lambda v: _int(v, 1)),
    'TRAIN.OPTIMIZER': _optimizer,
    'TRAIN.LR': to('lr', lambda v: _number(v, 1e-12)),
    'TRAIN.LR_FACTOR': to('gamma', lambda v: _number(v, 1e-12)),
    'TRAIN.LR_STEP': to('milestones', lambda v: _ints(v, None, 0)),
    'TRAIN.MOMENTUM': _sgd_only('momentum', _number),
    'TRAIN.WD': _sgd_only('weight_decay', _number),
    'TRAIN.NESTEROV': _sgd_only('nesterov', _bool),
    'TRAIN.GAMMA1': ignore('unused by the HRNet code'),
    'TRAIN.GAMMA2': ignore('unused by the HRNet code'),
    'TRAIN.RESUME': to('resume', _bool),
    'TRAIN.CHECKPOINT': _checkpoint,
    'TEST.BATCH_SIZE_PER_GPU': to('test_batch_size', lambda v: _int(v, 1)),
    'TEST.FLIP_TEST': to('flip_test', _bool),
    'TEST.SHIFT_HEATMAP': _shift_heatmap,
    'TEST.POST_PROCESS': only(True, 'hpekit always decodes with the quarter-pixel '
                              'shift towards the higher neighbour', otherwise=Ignore),
    'TEST.USE_GT_BBOX': only(True, COCO_ONLY, otherwise=Ignore),
    'TEST.MODEL_FILE': ignore('give the checkpoint to tools/test.py CONFIG CHECKPOINT'),
    **{f'TEST.{key}': ignore(COCO_ONLY) for key in (
        'IMAGE_THRE', 'NMS_THRE', 'SOFT_NMS', 'OKS_THRE', 'IN_VIS_THRE',
        'COCO_BBOX_FILE', 'BBOX_THRE')},
    'DEBUG.*': ignore('debug image dumps; hpekit draws predictions with '
                      'tools/visualize_predictions.py'),
}

EXTRA_RULES = {
    'pose_resnet': {
        'NUM_LAYERS': _resnet_depth,
        'NUM_DECONV_LAYERS': to('num_deconv', _int),
        'NUM_DECONV_FILTERS': to('deconv_channels', _ints),
        'NUM_DECONV_KERNELS': to('deconv_kernels', _ints),
        'FINAL_CONV_KERNEL': to('final_kernel', _int),
        'DECONV_WITH_BIAS': only(False, 'hpekit deconvs have no bias (BN follows)'),
        'TARGET_TYPE': only('gaussian', 'hpekit only generates Gaussian heatmaps'),
    },
    'pose_hourglass': {
        'NUM_STACKS': to('num_stacks', lambda v: _int(v, 1)),
        'NUM_BLOCKS': to('num_blocks', lambda v: _int(v, 1)),
        'NUM_FEATURES': to('channels', lambda v: _int(v, 2)),
        'DEPTH': to('hourglass_depth', lambda v: _int(v, 1)),
        'BLOCK': to('block', _str),
    },
}

# Which variable of the written config each setting goes to (for its comment).
TARGETS = {
    'codec': ('input_size', 'heatmap_size', 'sigma'),
    'model': ('resnet_depth', 'deconv_channels', 'deconv_kernels', 'final_kernel',
              'num_stacks', 'num_blocks', 'channels', 'hourglass_depth', 'block',
              'pretrained', 'use_target_weight', 'flip_test', 'shift_heatmap'),
    'data_root': ('data_root', ),
    'train_pipeline': ('scale_factor', 'rotate_factor', 'flip', 'half_body_prob',
                       'half_body_joints'),
    'train_dataloader': ('batch_size', 'num_workers', 'shuffle', 'train_ann'),
    'val_dataloader': ('test_batch_size', 'num_workers', 'test_ann'),
    'train_cfg': ('max_epochs', ),
    'optim_wrapper': ('optimizer', 'lr', 'momentum', 'weight_decay', 'nesterov'),
    'param_scheduler': ('milestones', 'gamma'),
    'resume': ('resume', ),
    'load_from': ('load_from', ),
    'default_hooks': ('log_interval', ),
    'env_cfg': ('cudnn_benchmark', ),
    'randomness': ('deterministic', ),
}


def _rule_for(key, exp):
    """The rule of a dotted key, or None when no rule knows it."""
    if key.startswith('MODEL.EXTRA.'):
        extra = EXTRA_RULES.get(exp.get('MODEL.NAME'), {})
        return extra.get(key[len('MODEL.EXTRA.'):])
    if key.startswith('DEBUG.'):
        return RULES['DEBUG.*']
    return RULES.get(key)


# ------------------------------------------------------------------ read + map
def read_yaml(path: str) -> Dict[str, Any]:
    """A YAML experiment file → flat dict of dotted key → value (read by yacs)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'experiment file {path} does not exist')
    with open(path) as f:
        try:
            node = CfgNode.load_cfg(f)
        except Exception as err:  # yaml syntax errors, a top level that is no mapping
            raise YacsImportError(f'{path}: not a yacs YAML experiment: {err}') from err
    return _flatten(node)


def _flatten(node, prefix=''):
    flat = {}
    for key, value in node.items():
        if isinstance(value, CfgNode):
            flat.update(_flatten(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def map_experiment(exp: Dict[str, Any],
                   source: str = '<yaml>') -> Tuple[Dict[str, Any], ImportReport]:
    """Flat dotted keys → (settings dict, :class:`ImportReport`). Raises
    :class:`YacsImportError` listing every rejected key (and every bad value)."""
    report, settings = ImportReport(source), {}
    if 'MODEL.NAME' not in exp:
        report.rejected['MODEL.NAME'] = (f'missing; expected one of '
                                         f'{sorted(BASE_CONFIGS)}')
    for key, value in exp.items():
        rule = _rule_for(key, exp)
        if rule is None:
            report.rejected[key] = ('unknown key (not an HRNet/SimpleBaseline setting '
                                    'hpekit knows for this MODEL.NAME)')
            continue
        try:
            outcome = rule(value, exp)
        except _BadValue as err:
            outcome = Reject(str(err))
        if isinstance(outcome, Map):
            settings.update(outcome.settings)
            report.mapped[key] = outcome.settings
        elif isinstance(outcome, Ignore):
            report.ignored[key] = outcome.reason
        else:
            report.rejected[key] = outcome.reason
    _check_sizes(settings, report)
    _check_deconvs(settings, report)
    if report.rejected:
        raise YacsImportError(report.error_text())
    return settings, report


def _check_sizes(settings, report):
    """Both models output heatmaps at 1/4 of the input: IMAGE_SIZE = 4 × HEATMAP_SIZE."""
    size, heat = settings.get('input_size'), settings.get('heatmap_size')
    if size and heat and [4 * h for h in heat] != list(size):
        report.rejected['MODEL.HEATMAP_SIZE'] = (
            f'{heat}: the models output heatmaps at 1/4 of MODEL.IMAGE_SIZE {size}; '
            f'expected {[s // 4 for s in size]}')


def _check_deconvs(settings, report):
    """NUM_DECONV_LAYERS must equal the length of the filter and kernel lists."""
    if 'num_deconv' not in settings:
        return
    num = settings['num_deconv']
    for key, name in (('deconv_channels', 'NUM_DECONV_FILTERS'),
                      ('deconv_kernels', 'NUM_DECONV_KERNELS')):
        values = settings.get(key, (256, 256, 256) if key == 'deconv_channels' else (4, 4, 4))
        if len(values) != num:
            report.rejected[f'MODEL.EXTRA.{name}'] = (
                f'{list(values)}: expected {num} values (MODEL.EXTRA.NUM_DECONV_LAYERS)')


# ------------------------------------------------------------------ base config
def base_config_path(model_name: str) -> str:
    """Absolute path of hpekit's shipped config for ``MODEL.NAME`` ``model_name``.

    Looked up in :func:`hpekit.config.files.config_roots` (the installed
    package's ``.mim/configs`` first, then a source checkout's ``configs/``), never
    relative to the working directory.

    Raises:
        FileNotFoundError: no root holds the file (every place tried is named).
    """
    rel = BASE_CONFIGS[model_name]
    tried = []
    for root in config_roots():
        candidate = osp.join(root, rel)
        if osp.isfile(candidate):
            return osp.abspath(candidate)
        tried.append(candidate)
    raise FileNotFoundError(
        f'hpekit base config {rel!r} for MODEL.NAME {model_name} not found; looked at: '
        f'{", ".join(tried) or "no configs folder (hpekit/.mim/configs or configs/)"}')


# ------------------------------------------------------------ settings → config
class _Code:
    """A Python expression written as is (a config variable, a sum of strings)."""

    def __init__(self, code):
        self.code = code

    def __repr__(self):
        return self.code


def _plain(value):
    """ConfigDicts and lists of them → plain dicts and lists (tuples kept)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _model(s):
    backbone, head, model = {}, {}, {}
    if 'resnet_depth' in s:
        backbone['depth'] = s['resnet_depth']
        head['in_channels'] = 512 if s['resnet_depth'] in (18, 34) else 2048
    for name, key in (('num_stacks', 'num_stacks'), ('num_blocks', 'num_blocks'),
                      ('channels', 'channels'), ('hourglass_depth', 'depth')):
        if name in s:
            backbone[key] = s[name]
    if 'block' in s:
        backbone['block'] = dict(type=s['block'])
    if 'pretrained' in s:
        backbone['init_cfg'] = (dict(type='Pretrained', checkpoint=s['pretrained'])
                                if s['pretrained'] else None)
    for key in ('deconv_channels', 'deconv_kernels'):
        if key in s:
            head[key] = tuple(s[key])
    if 'final_kernel' in s:
        head['final_kernel'] = s['final_kernel']
    if 'use_target_weight' in s:
        head['loss'] = dict(use_target_weight=s['use_target_weight'])
    test_cfg = {key: s[key] for key in ('flip_test', 'shift_heatmap') if key in s}
    for name, part in (('backbone', backbone), ('head', head), ('test_cfg', test_cfg)):
        if part:
            model[name] = part
    return model


def _with_codec(t):
    """A transform config of the base whose codec arguments use the written config's
    ``codec`` (the base's hold the base's codec's values)."""
    t = dict(t)
    if 'input_size' in t:
        t['input_size'] = _Code("codec['input_size']")
    for key in ('encoder', 'decoder'):
        if key in t:
            t[key] = _Code('codec')
    return t


def _train_pipeline(s, base, codec_changed):
    """The base train pipeline with HRNet's augmentation settings and the written
    config's codec, or None if neither changes it."""
    if not codec_changed and not any(key in s for key in TARGETS['train_pipeline']):
        return None
    pipeline = []
    for t in _plain(base.train_pipeline):
        if t['type'] == 'RandomHalfBody':
            if s.get('half_body_prob', 1) == 0:
                continue     # PROB_HALF_BODY <= 0: no half-body crops
            t['prob'] = s.get('half_body_prob', t.get('prob', 0.3))
            if 'half_body_joints' in s:   # HRNet: more than N visible joints
                t['min_visible'] = s['half_body_joints'] + 1
        elif t['type'] == 'LoadImage' and 'scale_factor' in s:
            # decode reduction keeps the input's resolution down to the smallest scale
            t['min_box_scale'] = round(1.0 - s['scale_factor'], 6)
        elif t['type'] == 'TopdownAffine' and t.get('augment', True):
            for key in ('scale_factor', 'rotate_factor'):
                if key in s:
                    t[key] = s[key]
            if 'flip' in s:
                t['flip_prob'] = 0.5 if s['flip'] else 0.0
        pipeline.append(_with_codec(t))
    return pipeline


def _schedule(s, base):
    out = {}
    if 'max_epochs' in s:
        out['train_cfg'] = dict(max_epochs=s['max_epochs'])
    optimizer = {key: s[key] for key in ('lr', 'momentum', 'weight_decay', 'nesterov')
                 if key in s}
    if 'optimizer' in s:
        # the whole optimizer, so that no argument of the base's optimizer carries over
        optimizer = dict(_delete_=True, type=s['optimizer'],
                         lr=s.get('lr', base.optim_wrapper.optimizer.get('lr')),
                         **{k: v for k, v in optimizer.items() if k != 'lr'})
    if optimizer:
        out['optim_wrapper'] = dict(optimizer=optimizer)
    if 'milestones' in s or 'gamma' in s:
        old = _plain(base.param_scheduler[0]) if base.get('param_scheduler') else {}
        out['param_scheduler'] = [dict(type='MultiStepLR', by_epoch=True,
                                       milestones=s.get('milestones', old.get('milestones')),
                                       gamma=s.get('gamma', old.get('gamma', 0.1)))]
    return out


def _overrides(s, base):
    """The settings ``s`` as top-level config variables (in an order where every
    variable is defined before it is used): name → value."""
    out = {}
    codec = _plain(base.codec)
    for key in ('input_size', 'heatmap_size'):
        if key in s:
            codec[key] = tuple(s[key])
    if 'sigma' in s:
        codec['sigma'] = s['sigma']
    out['codec'] = codec
    # The base's pipelines and head hold the base's codec: another one re-states them.
    codec_changed = codec != _plain(base.codec)
    model = _model(s)
    if codec_changed:
        model.setdefault('head', {})['decoder'] = _Code('codec')
    if model:
        out['model'] = model
    if 'data_root' in s:
        root = s['data_root']
        out['data_root'] = root if not root or root.endswith('/') else root + '/'
    root = _Code('data_root') if 'data_root' in s else None
    pipeline = _train_pipeline(s, base, codec_changed)
    if pipeline is not None:
        out['train_pipeline'] = pipeline
    if codec_changed:
        out['val_pipeline'] = [_with_codec(t) for t in _plain(base.val_pipeline)]
    train = _loader(s, root, 'batch_size', 'train_ann')
    if 'shuffle' in s:
        train['sampler'] = dict(shuffle=s['shuffle'])
    if pipeline is not None:
        train.setdefault('dataset', {})['pipeline'] = _Code('train_pipeline')
    if train:
        out['train_dataloader'] = train
    val = _loader(s, root, 'test_batch_size', 'test_ann')
    if codec_changed:
        val.setdefault('dataset', {})['pipeline'] = _Code('val_pipeline')
    if val:
        out['val_dataloader'] = val
        out['test_dataloader'] = _Code('val_dataloader')
    if root is not None:
        out['val_evaluator'] = dict(gt_file=_Code(f'data_root + {GT_FILE!r}'))
        out['test_evaluator'] = _Code('val_evaluator')
    out.update(_schedule(s, base))
    for key in ('resume', 'load_from'):
        if key in s:
            out[key] = s[key]
    if 'log_interval' in s:
        out['default_hooks'] = dict(logger=dict(interval=s['log_interval']))
    if 'cudnn_benchmark' in s:
        out['env_cfg'] = dict(cudnn_benchmark=s['cudnn_benchmark'])
    if 'deterministic' in s:
        out['randomness'] = dict(deterministic=s['deterministic'])
    return out


def _loader(s, root, batch_key, ann_key):
    loader, dataset = {}, {}
    if batch_key in s:
        loader['batch_size'] = s[batch_key]
    if 'num_workers' in s:
        loader['num_workers'] = s['num_workers']
    if root is not None:
        dataset['data_root'] = root
    if ann_key in s:
        dataset['ann_file'] = s[ann_key]
    if dataset:
        loader['dataset'] = dataset
    return loader


# ------------------------------------------------------------------ Python text
WIDTH = 88


def _one_line(value):
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k)
               for k in value):
            return 'dict(' + ', '.join(f'{k}={_one_line(v)}' for k, v in value.items()) + ')'
        return '{' + ', '.join(f'{k!r}: {_one_line(v)}' for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(_one_line(v) for v in value) + ']'
    if isinstance(value, tuple):
        return '(' + ', '.join(_one_line(v) for v in value) + (', )' if len(value) == 1
                                                               else ')')
    return repr(value)


def _format(value, col=0, indent=0):
    """``value`` as Python source starting at column ``col`` of a line indented by
    ``indent``: one line where it fits in :data:`WIDTH` columns, else a dict of plain
    values fills lines aligned after ``dict(``, and other dicts and lists put one item
    a line, 4 spaces deeper."""
    one = _one_line(value)
    if col + len(one) + 1 <= WIDTH or not isinstance(value, (dict, list)):
        return one
    if isinstance(value, dict) and one.startswith('dict('):
        items = [(f'{k}=', v) for k, v in value.items()]
        if not any(isinstance(v, (dict, list)) for v in value.values()):
            return 'dict(' + _fill([k + _one_line(v) for k, v in items], col + 5) + ')'
        opening, closing = 'dict(', ')'
    elif isinstance(value, dict):
        items = [(f'{k!r}: ', v) for k, v in value.items()]
        opening, closing = '{', '}'
    else:
        items = [('', v) for v in value]
        opening, closing = '[', ',\n' + ' ' * indent + ']'
    deeper = indent + 4
    lines = [' ' * deeper + k + _format(v, deeper + len(k), deeper) for k, v in items]
    return opening + '\n' + ',\n'.join(lines) + closing


def _fill(parts, col):
    """``parts`` joined by ', ', wrapped before :data:`WIDTH` onto lines that start at
    column ``col``."""
    lines, line = [], ''
    for part in parts:
        if line and col + len(line) + len(part) + 3 > WIDTH:
            lines.append(line + ',')
            line = ''
        line = f'{line}, {part}' if line else part
    lines.append(line)
    return ('\n' + ' ' * col).join(lines)


def _comment(text, first='# ', rest='#   '):
    return textwrap.fill(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


def _sources(report):
    """setting → the YAML keys that set it."""
    sources = {}
    for key, settings in report.mapped.items():
        for setting in settings:
            sources.setdefault(setting, []).append(key)
    return sources


def _header(report, model_name, base_path):
    fixed = sorted(key for key, settings in report.mapped.items() if not settings)
    lines = [
        '# hpekit config converted from the HRNet / SimpleBaseline YAML experiment',
        f'#   {report.source}',
        f'# by hpekit.config.yacs ({TOOL}). It is an ordinary hpekit',
        '# config: edit it, train it with  python tools/train.py THIS_FILE.py',
        '#',
        _comment(f'MODEL.NAME {model_name}: it inherits hpekit\'s shipped config '
                 f'{BASE_CONFIGS[model_name]} (under hpekit/.mim/configs or configs/); '
                 'what follows overrides it and every other setting keeps that '
                 "config's value. mmengine needs a real path in _base_, so this is "
                 'where the file was at conversion time: after moving hpekit, convert '
                 'again or edit the path.', rest='# '),
        f'_base_ = [{base_path!r}]',
    ]
    if fixed:
        lines += ['', _comment("Already hpekit's behaviour, nothing to set: "
                               + ', '.join(fixed) + '.')]
    if report.ignored:
        lines += ['', '# Not converted (no effect on what hpekit trains or evaluates):']
        lines += [_comment(f'{key}: {reason}', first='#   ', rest='#     ')
                  for key, reason in sorted(report.ignored.items())]
    return lines


def _body(overrides, sources):
    lines = []
    for name, value in overrides.items():
        keys = sorted({key for setting in TARGETS.get(name, ())
                       for key in sources.get(setting, ())})
        if name in ('test_dataloader', 'test_evaluator'):
            keys = []
        lines.append('')
        if name == 'codec':
            lines.append('# The target geometry, once; every part below that uses it is '
                         'given it.')
        if keys:
            lines.append(_comment('From ' + ', '.join(keys)))
        lines.append(f'{name} = {_format(value, len(name) + 3)}')
    return lines


def yacs_to_config_text(path: str) -> Tuple[str, ImportReport]:
    """Convert the YAML experiment ``path`` into the text of an hpekit Python config.

    Returns:
        (str, ImportReport): the config text (``_base_`` names the absolute path of
        hpekit's shipped config of the model family, see the module doc) and what
        happened to every key.

    Raises:
        FileNotFoundError: no such file, or no shipped base config found.
        YacsImportError: unreadable YAML, or keys/values hpekit cannot map (all
            listed in the message, with the file name).
    """
    settings, report = map_experiment(read_yaml(path), source=path)
    base_path = base_config_path(settings['model'])
    base = Config.fromfile(base_path)
    overrides = _overrides(settings, base)
    lines = _header(report, settings['model'], base_path)
    lines += _body(overrides, _sources(report))
    return '\n'.join(lines) + '\n', report


def load_yacs_experiment(path: str) -> Tuple[Config, ImportReport]:
    """Convert ``path`` in memory and load it: (mmengine ``Config``, report).

    The config is the one :func:`yacs_to_config_text` writes, loaded from a
    temporary ``<yaml name>.py`` (so a Runner names its logs after the YAML).
    """
    text, report = yacs_to_config_text(path)
    name = osp.splitext(osp.basename(path))[0] + '.py'
    with tempfile.TemporaryDirectory(prefix='hpekit_yacs_') as tmp:
        converted = osp.join(tmp, name)
        with open(converted, 'w', encoding='utf-8') as f:
            f.write(text)
        cfg = Config.fromfile(converted)
    return cfg, report


def warn_ignored(report: ImportReport) -> None:
    """Print the report's ignored keys as one warning (mmengine's current logger)."""
    text = report.warning_text()
    if text:
        print_log(text, logger='current', level=logging.WARNING)


def convert_hint(path: str) -> str:
    """The one-line hint printed when a YAML experiment is loaded directly."""
    out = osp.splitext(osp.basename(path))[0] + '.py'
    return (f'{path}: YAML experiment converted in memory; convert it once into an '
            f'editable config: python {TOOL} {path} --out {out} (or python -m '
            f'hpekit.config.yacs2py ...)')
