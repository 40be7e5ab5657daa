"""Import HRNet / SimpleBaseline style yacs YAML experiments as hpekit MPII configs.

``tools/train.py experiment.yaml`` (and ``tools/test.py``, ``tools/print_config.py``)
read such a file through :func:`load_yacs_experiment`: the YAML is read with yacs'
``CfgNode``, flattened to dotted keys (``TRAIN.LR``), and every key is handled by
exactly one rule of :data:`RULES` (``MODEL.EXTRA.*`` by the rules of its
``MODEL.NAME``). A rule either

- **maps** the key onto the hpekit config (``MODEL.IMAGE_SIZE`` → the crop size of
  every ``TopdownAffine``, ``TRAIN.LR`` → ``optim_wrapper.optimizer.lr`` …),
- **ignores** it with a warning saying why it does not change what hpekit trains or
  evaluates (log paths, the GPU list, debug switches, COCO-only detection settings,
  settings hpekit replaces by its own fixed behaviour), or
- **rejects** it: a setting hpekit cannot reproduce that would change the model,
  the data, the targets, the loss or the optimisation (e.g. ``LOSS.USE_OHKM: true``,
  ``MODEL.NAME: pose_hrnet``, ``DATASET.DATASET: coco``), and every key no rule
  knows. All rejected keys are reported together in one :class:`YacsImportError`
  naming the file; nothing is silently dropped.

The result starts from the hpekit config of the model family
(``configs/mpii_hourglass/simplebaseline-res50_b32-140e_mpii-256.py`` for
``pose_resnet``, ``hg2-bottleneck_b24-20e_mpii-256.py`` for ``pose_hourglass``), so
every setting the YAML does not name keeps hpekit's value. Annotation files are the
MMPose-style names under ``DATASET.ROOT`` (``annotations/mpii_{train,val}.json``,
``annotations/mpii_gt_val.mat``: the same records as HRNet's ``annot/*.json``).
"""
import logging
import os.path as osp
from pathlib import Path

from mmengine.config import Config
from mmengine.logging import print_log
from yacs.config import CfgNode

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'mpii_hourglass'
BASE_CONFIGS = {'pose_resnet': 'simplebaseline-res50_b32-140e_mpii-256.py',
                'pose_hourglass': 'hg2-bottleneck_b24-20e_mpii-256.py'}
SPLIT_FILES = {'train': 'annotations/mpii_train.json',
               'trainval': 'annotations/mpii_trainval.json',
               'valid': 'annotations/mpii_val.json', 'val': 'annotations/mpii_val.json'}
GT_FILE = 'annotations/mpii_gt_val.mat'
OPTIMIZERS = {'adam': 'Adam', 'sgd': 'SGD', 'adamw': 'AdamW', 'rmsprop': 'RMSprop'}


class YacsImportError(ValueError):
    """A YAML experiment has keys or values hpekit cannot reproduce."""


class Map:
    """Rule outcome: hpekit settings (see :func:`apply_settings`) for one key."""

    def __init__(self, **settings):
        self.settings = settings


class Ignore:
    """Rule outcome: the key is not used; ``reason`` says why (reported as a warning)."""

    def __init__(self, reason):
        self.reason = reason


class Reject:
    """Rule outcome: the key asks for something hpekit cannot do (reported as an error)."""

    def __init__(self, reason):
        self.reason = reason


class ImportReport:
    """What happened to every key: ``mapped``, ``ignored`` and ``rejected`` dicts of
    dotted key → description (mapped: the settings; others: the reason)."""

    def __init__(self, source):
        self.source = source
        self.mapped, self.ignored, self.rejected = {}, {}, {}

    def warning_text(self):
        """One line per ignored key, or '' when none."""
        lines = [f'  {key}: {reason}' for key, reason in sorted(self.ignored.items())]
        return (f'{self.source}: {len(lines)} key(s) not mapped onto hpekit (no effect on '
                'what is trained or evaluated):\n' + '\n'.join(lines)) if lines else ''

    def error_text(self):
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


def _number(value, minimum=0.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise _BadValue(f'expected a number >= {minimum}, got {value!r}')
    return float(value)


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
def to(setting, check=None):
    """Rule: the value (checked/converted by ``check``) becomes hpekit ``setting``."""
    return lambda value, exp: Map(**{setting: check(value) if check else value})


def ignore(reason):
    """Rule: ignored whatever the value, with ``reason``."""
    return lambda value, exp: Ignore(reason)


def only(expected, reason, *, otherwise=Reject):
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
        f'{value!r}: only mpii is supported (hpekit has no COCO top-down pipeline)')


def _split(setting):
    def rule(value, exp):
        if value not in SPLIT_FILES:
            return Reject(f'{value!r}: expected one of {sorted(SPLIT_FILES)}')
        return Map(**{setting: SPLIT_FILES[value]})
    return rule


def _half_body_prob(value, exp):
    return Map(half_body_prob=max(0.0, _number(value, -1.0)))


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
                          'and so does the imported config')
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
    'DATASET.SCALE_FACTOR': to('scale_factor', _number),
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
        'NUM_LAYERS': to('resnet_depth', _int),
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


def _rule_for(key, exp):
    """The rule of a dotted key, or None when no rule knows it."""
    if key.startswith('MODEL.EXTRA.'):
        extra = EXTRA_RULES.get(exp.get('MODEL.NAME'), {})
        return extra.get(key[len('MODEL.EXTRA.'):])
    if key.startswith('DEBUG.'):
        return RULES['DEBUG.*']
    return RULES.get(key)


# ------------------------------------------------------------------ read + map
def read_yaml(path):
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


def map_experiment(exp, source='<yaml>'):
    """Flat dotted keys → (settings dict, :class:`ImportReport`). Raises
    :class:`YacsImportError` listing every rejected key (and every bad value)."""
    report, settings = ImportReport(source), {}
    if 'MODEL.NAME' not in exp:
        report.rejected['MODEL.NAME'] = (f'missing; expected one of '
                                         f'{sorted(BASE_CONFIGS)}')
    for key, value in exp.items():
        rule = _rule_for(key, exp)
        if rule is None:
            report.rejected[key] = 'unknown key (not an HRNet/SimpleBaseline setting '
            report.rejected[key] += 'hpekit knows for this MODEL.NAME)'
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


def load_yacs_experiment(path):
    """Read ``path`` (HRNet/SimpleBaseline YAML) → (mmengine ``Config``, report).

    Raises:
        FileNotFoundError: no such file.
        YacsImportError: unreadable YAML, or keys/values hpekit cannot map (all
            listed in the message, with the file name).
    """
    settings, report = map_experiment(read_yaml(path), source=path)
    cfg = Config.fromfile(str(CONFIG_DIR / BASE_CONFIGS[settings['model']]))
    apply_settings(cfg, settings)
    return cfg, report


# --------------------------------------------------------------- apply to cfg
def apply_settings(cfg, s):
    """Write the mapped settings ``s`` into the hpekit config ``cfg`` (in place)."""
    _apply_model(cfg.model, s)
    _apply_pipelines(cfg, s)
    _apply_data(cfg, s)
    _apply_schedule(cfg, s)
    _apply_runtime(cfg, s)
    return cfg


def _apply_model(model, s):
    backbone, head = model.backbone, model.head
    if 'resnet_depth' in s:
        backbone.depth = s['resnet_depth']
        head.in_channels = 512 if s['resnet_depth'] in (18, 34) else 2048
    for key in ('deconv_channels', 'deconv_kernels'):
        if key in s:
            head[key] = tuple(s[key])
    if 'final_kernel' in s:
        head.final_kernel = s['final_kernel']
    for name, key in (('num_stacks', 'num_stacks'), ('num_blocks', 'num_blocks'),
                      ('channels', 'channels'), ('hourglass_depth', 'depth')):
        if name in s:
            backbone[key] = s[name]
    if 'block' in s:
        backbone.block = dict(type=s['block'])
    if 'pretrained' in s:
        backbone.init_cfg = (dict(type='Pretrained', checkpoint=s['pretrained'])
                             if s['pretrained'] else None)
    if 'use_target_weight' in s:
        head.loss.use_target_weight = s['use_target_weight']
    if 'flip_test' in s:
        model.test_cfg.flip_test = s['flip_test']
    if 'shift_heatmap' in s:
        model.test_cfg.shift_heatmap = s['shift_heatmap']


def _apply_pipelines(cfg, s):
    """Crop/heatmap sizes, sigma and augmentation into every pipeline that has them."""
    for name in ('train_pipeline', 'val_pipeline'):
        pipeline = [dict(t) for t in cfg[name]]
        for t in pipeline:
            if t['type'] == 'TopdownAffine':
                _set_affine(t, s)
            elif t['type'] == 'GenerateHeatmaps':
                t['heatmap_size'] = tuple(s.get('heatmap_size', t['heatmap_size']))
                t['sigma'] = s.get('sigma', t['sigma'])
            elif t['type'] == 'RandomHalfBody':
                t['prob'] = s.get('half_body_prob', t.get('prob', 0.3))
                if 'half_body_joints' in s:  # HRNet: more than N visible joints
                    t['min_visible'] = s['half_body_joints'] + 1
        if name == 'train_pipeline' and s.get('half_body_prob', 1) == 0:
            pipeline = [t for t in pipeline if t['type'] != 'RandomHalfBody']
        cfg[name] = pipeline
    cfg.input_size = tuple(s.get('input_size', cfg.input_size))
    cfg.heatmap_size = tuple(s.get('heatmap_size', cfg.heatmap_size))


def _set_affine(t, s):
    if 'input_size' in s:
        t['input_size'] = tuple(s['input_size'])
    if t.get('augment', True) is False:
        return
    for key in ('scale_factor', 'rotate_factor'):
        t[key] = s.get(key, t.get(key))
    if 'flip' in s:
        t['flip_prob'] = 0.5 if s['flip'] else 0.0


def _apply_data(cfg, s):
    """Data root, annotation files, batch sizes, workers and the pipelines."""
    root = s.get('data_root', cfg.data_root)
    if root and not root.endswith('/'):
        root += '/'
    cfg.data_root = root
    loaders = dict(train=cfg.train_dataloader, val=cfg.val_dataloader,
                   test=cfg.test_dataloader)
    for split, loader in loaders.items():
        loader.dataset.data_root = root
        loader.dataset.pipeline = cfg.train_pipeline if split == 'train' else cfg.val_pipeline
        if 'num_workers' in s:
            loader.num_workers = s['num_workers']
            loader.persistent_workers = False
    if 'train_ann' in s:
        loaders['train'].dataset.ann_file = s['train_ann']
    if 'test_ann' in s:
        for split in ('val', 'test'):
            loaders[split].dataset.ann_file = s['test_ann']
    if 'batch_size' in s:
        loaders['train'].batch_size = s['batch_size']
    if 'test_batch_size' in s:
        loaders['val'].batch_size = loaders['test'].batch_size = s['test_batch_size']
    if 'shuffle' in s:
        loaders['train'].sampler.shuffle = s['shuffle']
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name].gt_file = root + GT_FILE


def _apply_schedule(cfg, s):
    """Epochs, optimizer and the step schedule (MultiStepLR)."""
    if 'max_epochs' in s:
        cfg.train_cfg.max_epochs = s['max_epochs']
    optimizer = cfg.optim_wrapper.optimizer
    if 'optimizer' in s:
        optimizer.type = s['optimizer']
    for key in ('lr', 'momentum', 'weight_decay', 'nesterov'):
        if key in s:
            optimizer[key] = s[key]
    if 'milestones' in s or 'gamma' in s:
        old = cfg.param_scheduler[0] if cfg.param_scheduler else {}
        cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=True,
                                    milestones=s.get('milestones', old.get('milestones')),
                                    gamma=s.get('gamma', old.get('gamma', 0.1)))]


def _apply_runtime(cfg, s):
    """Resume, logging interval, cuDNN switches."""
    if 'resume' in s:
        cfg.resume = s['resume']
    if 'load_from' in s:
        cfg.load_from = s['load_from']
    if 'log_interval' in s:
        cfg.default_hooks.logger.interval = s['log_interval']
    if 'cudnn_benchmark' in s:
        cfg.env_cfg.cudnn_benchmark = s['cudnn_benchmark']
    if 'deterministic' in s:
        cfg.randomness.deterministic = s['deterministic']


def warn_ignored(report):
    """Print the report's ignored keys as one warning (mmengine's current logger)."""
    text = report.warning_text()
    if text:
        print_log(text, logger='current', level=logging.WARNING)
