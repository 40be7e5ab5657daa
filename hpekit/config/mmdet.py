"""MMDetection 3.x RTMDet configs in hpekit: read as they are, translated into the
native detector config they mean.

An MMDetection config (``default_scope = 'mmdet'``, from its ``default_runtime.py``)
names MMDetection's parts. ``translate_mmdet_config`` keeps what inference needs, part
by part, under hpekit's names for the same networks (the parameter names are
MMDetection's, so its checkpoints load unchanged):

- ``model``: ``RTMDet`` with ``DetDataPreprocessor`` (mean, std, channel conversion,
  padding), ``CSPNeXt``, ``CSPNeXtPAFPN``, ``RTMDetSepBNHead`` and the ``test_cfg`` of
  the post-processing (``nms_pre``, ``score_thr``, ``min_bbox_size``, class-aware
  ``nms`` with ``iou_threshold``, ``max_per_img``);
- ``test_pipeline``: the test data loader's ``Resize`` and ``Pad`` (image loading and
  packing are hpekit's own; images are read as BGR, as MMDetection does);
- ``metainfo.classes``: the test dataset's class names (the COCO-80 names for
  MMDetection's ``CocoDataset`` without its own ``metainfo``).

Training parts are not translated (hpekit runs RTMDet for inference only): the train
and val loaders, losses, assigners (``train_cfg``), optimizer, schedules, hooks and
``batch_augments`` are left out. What cannot be built — another detector, neck or
head, an objectness branch, a softmax classifier, Soft-NMS, a test-pipeline step other
than loading, ``Resize``, ``Pad`` and packing — raises ``MMDetConfigError`` naming the
config key. ``SyncBN`` becomes ``BN`` (the same at test time); the backbone's
``init_cfg`` (a pretrained download that only training uses) is removed, as
MMDetection's ``init_detector`` does.

Configs that inherit MMDetection's package configs (``_base_ = 'mmdet::…'``, as
MMPose's ``demo/mmdetection_cfg`` files do) need MMDetection's config files to be read;
without mmdet installed give the dumped, complete config (``Config.dump``, or
``python tools/misc/print_config.py`` of MMDetection).
"""
import copy
import difflib
import importlib.util
import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from hpekit.config.checks import ConfigError

MMDET_SCOPE = 'mmdet'

#: The 80 class names of COCO detection, in MMDetection's order (label i = name i).
COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')

#: Arguments hpekit's parts take, per MMDetection type (the same names).
PART_ARGS = {
    'CSPNeXt': ('arch', 'deepen_factor', 'widen_factor', 'out_indices', 'frozen_stages',
                'use_depthwise', 'expand_ratio', 'arch_ovewrite', 'spp_kernel_sizes',
                'channel_attention', 'conv_cfg', 'norm_cfg', 'act_cfg', 'norm_eval',
                'init_cfg'),
    'CSPNeXtPAFPN': ('in_channels', 'out_channels', 'num_csp_blocks', 'use_depthwise',
                     'expand_ratio', 'upsample_cfg', 'conv_cfg', 'norm_cfg', 'act_cfg',
                     'init_cfg'),
    'RTMDetSepBNHead': ('num_classes', 'in_channels', 'feat_channels', 'stacked_convs',
                        'share_conv', 'use_depthwise', 'pred_kernel_size', 'exp_on_reg',
                        'with_objectness', 'anchor_generator', 'bbox_coder', 'conv_cfg',
                        'norm_cfg', 'act_cfg', 'init_cfg'),
}
#: Head arguments used only for training (left out).
HEAD_TRAINING_ARGS = ('loss_cls', 'loss_bbox', 'train_cfg', 'test_cfg')
PREPROCESSOR_ARGS = ('mean', 'std', 'pad_size_divisor', 'pad_value', 'bgr_to_rgb',
                     'rgb_to_bgr', 'non_blocking')
#: DetDataPreprocessor settings that act only in training (left out).
PREPROCESSOR_TRAINING_ARGS = ('batch_augments', 'boxtype2tensor', 'pad_mask',
                              'mask_pad_value', 'pad_seg', 'seg_pad_value')
TEST_CFG_ARGS = ('nms_pre', 'min_bbox_size', 'score_thr', 'nms', 'max_per_img')
#: Test-pipeline steps whose work hpekit does itself (image reading as BGR, packing).
PIPELINE_DROPPED = ('LoadImageFromFile', 'LoadImageFromNDArray', 'LoadImageFromWebcam',
                    'LoadAnnotations', 'PackDetInputs')
PIPELINE_STEPS = ('Resize', 'Pad') + PIPELINE_DROPPED


class MMDetConfigError(ConfigError):
    """An MMDetection config names something hpekit cannot build."""


def is_mmdet_config(cfg: Any) -> bool:
    """True for a config of MMDetection 3.x (its ``default_scope`` is 'mmdet')."""
    return isinstance(cfg, (dict, Config)) and cfg.get('default_scope') == MMDET_SCOPE


def check_mmdet_bases(path: Union[str, os.PathLike]) -> None:
    """Refuse, before mmengine tries, a config file that inherits MMDetection's package
    configs (``_base_ = 'mmdet::…'``) where mmdet is not installed, with what to do
    instead. Raises ``MMDetConfigError``; returns None otherwise."""
    path = os.fspath(path)
    if not path.endswith('.py') or not os.path.isfile(path):
        return
    with open(path, encoding='utf-8') as f:
        inherits = 'mmdet::' in f.read()
    if inherits and importlib.util.find_spec('mmdet') is None:
        raise MMDetConfigError(
            f"{path}: _base_: inherits MMDetection's package configs ('mmdet::…'), which "
            'only an installed mmdet can provide: pip install mmdet==3.3.0 --no-deps, or '
            "give the complete config as MMDetection dumps it (Config.fromfile(path)"
            ".dump('out.py') where mmdet is installed)")


def _plain(value: Any) -> Any:
    """ConfigDicts → dicts, lists and tuples kept, recursively (a deep copy)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return copy.deepcopy(value)


def _type(cfg: dict) -> str:
    """A part's type without MMDetection's ``mmdet.`` prefix."""
    return str(cfg.get('type', '')).split('.')[-1]


class _Translator:
    """One translation: the source (for messages) and the notes collected."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.notes: List[str] = []

    def fail(self, key: str, what: str, choices: Sequence[str] = (),
             name: Optional[str] = None) -> None:
        """Raise ``MMDetConfigError`` naming the key, what is wrong, and (for an
        unknown ``name``) the nearest of ``choices``."""
        close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.3) \
            if name else []
        nearest = f'; the nearest hpekit part is {close[0]!r}' if close else ''
        builds = f' (hpekit builds here: {", ".join(choices)})' if choices else ''
        raise MMDetConfigError(f'{self.source}: {key}: {what}{nearest}{builds}')

    def part(self, cfg: Any, key: str, types: Sequence[str]) -> dict:
        """A part under its MMDetection name, ``_scope_`` dropped, type checked."""
        if not isinstance(cfg, dict):
            self.fail(key, f'expected a dict with type=…, got {cfg!r}', types)
        cfg = {k: v for k, v in cfg.items() if k != '_scope_'}
        cfg['type'] = _type(cfg)
        if cfg['type'] not in types:
            self.fail(f'{key}.type', f"MMDetection's {cfg['type']!r} has no hpekit "
                      'counterpart', types, cfg['type'])
        return cfg

    def known_args(self, cfg: dict, key: str, allowed: Sequence[str]) -> None:
        unknown = sorted(set(cfg) - set(allowed) - {'type'})
        if unknown:
            self.fail(f'{key}.{unknown[0]}', f"{cfg['type']} has no argument "
                      f'{unknown[0]!r} in hpekit (it takes: {", ".join(allowed)})')

    def sync_bn(self, cfg: dict, key: str) -> None:
        norm = cfg.get('norm_cfg')
        if isinstance(norm, dict) and norm.get('type') == 'SyncBN':
            cfg['norm_cfg'] = dict(norm, type='BN')

    # -------------------------------------------------------------------- model
    def model(self, cfg: dict) -> dict:
        cfg = self.part(cfg, 'model', ('RTMDet', ))
        self.known_args(cfg, 'model', ('data_preprocessor', 'backbone', 'neck', 'bbox_head',
                                       'train_cfg', 'test_cfg', 'init_cfg', 'use_syncbn'))
        head = self.head(cfg['bbox_head'])
        return dict(type='RTMDet',
                    data_preprocessor=self.preprocessor(cfg.get('data_preprocessor') or {}),
                    backbone=self.backbone(cfg['backbone']),
                    neck=self.neck(cfg['neck']), bbox_head=head,
                    test_cfg=self.test_cfg(cfg.get('test_cfg') or
                                           cfg['bbox_head'].get('test_cfg') or {}))

    def preprocessor(self, cfg: dict) -> dict:
        cfg = self.part(dict(cfg, type=cfg.get('type', 'DetDataPreprocessor')),
                        'model.data_preprocessor', ('DetDataPreprocessor', ))
        self.known_args(cfg, 'model.data_preprocessor',
                        PREPROCESSOR_ARGS + PREPROCESSOR_TRAINING_ARGS)
        return {k: v for k, v in cfg.items() if k not in PREPROCESSOR_TRAINING_ARGS}

    def backbone(self, cfg: dict) -> dict:
        cfg = self.part(cfg, 'model.backbone', ('CSPNeXt', ))
        self.known_args(cfg, 'model.backbone', PART_ARGS['CSPNeXt'])
        self.sync_bn(cfg, 'model.backbone')
        cfg.pop('init_cfg', None)   # a pretrained download for training (as init_detector)
        return cfg

    def neck(self, cfg: dict) -> dict:
        cfg = self.part(cfg, 'model.neck', ('CSPNeXtPAFPN', ))
        self.known_args(cfg, 'model.neck', PART_ARGS['CSPNeXtPAFPN'])
        self.sync_bn(cfg, 'model.neck')
        return cfg

    def head(self, cfg: dict) -> dict:
        key = 'model.bbox_head'
        cfg = self.part(cfg, key, ('RTMDetSepBNHead', ))
        self.known_args(cfg, key, PART_ARGS['RTMDetSepBNHead'] + HEAD_TRAINING_ARGS)
        if cfg.get('with_objectness', True):
            self.fail(f'{key}.with_objectness', 'an objectness branch (MMDetection\'s '
                      'default with_objectness=True) is not built by hpekit; RTMDet\'s '
                      'configs set with_objectness=False')
        loss_cls = cfg.get('loss_cls') or {}
        if not loss_cls.get('use_sigmoid', True):
            self.fail(f'{key}.loss_cls.use_sigmoid', 'a softmax classifier '
                      '(use_sigmoid=False) is not built by hpekit (RTMDet: sigmoid)')
        cfg = {k: v for k, v in cfg.items() if k not in HEAD_TRAINING_ARGS}
        self.sync_bn(cfg, key)
        for arg, kind in (('anchor_generator', 'MlvlPointGenerator'),
                          ('bbox_coder', 'DistancePointBBoxCoder')):
            if arg in cfg:
                cfg[arg] = self.part(cfg[arg], f'{key}.{arg}', (kind, ))
        return cfg

    def test_cfg(self, cfg: dict) -> dict:
        cfg = dict(cfg)
        dropped = sorted(set(cfg) - set(TEST_CFG_ARGS))
        if dropped:
            self.notes.append(f'model.test_cfg: {dropped} not translated (no such setting '
                              "in hpekit's RTMDet post-processing)")
        nms = dict(cfg.get('nms') or {})
        if _type(dict(type=nms.get('type', 'nms'))) != 'nms' or 'iou_threshold' not in nms:
            self.fail('model.test_cfg.nms', f"{nms!r}: hpekit has plain NMS only, "
                      "dict(type='nms', iou_threshold=…)", ('nms', ))
        extra = sorted(set(nms) - {'type', 'iou_threshold', 'class_agnostic'})
        if extra:
            self.notes.append(f'model.test_cfg.nms: {extra} not translated (split_thr does '
                              'not change the result)')
        out = {k: cfg[k] for k in TEST_CFG_ARGS if k in cfg}
        out['nms'] = {k: nms[k] for k in ('iou_threshold', 'class_agnostic') if k in nms}
        out['nms']['type'] = 'nms'
        return out

    # ----------------------------------------------------------------- pipeline
    def pipeline(self, steps: Sequence[dict], key: str) -> List[dict]:
        out = []
        for i, step in enumerate(steps):
            kind = _type(step)
            if kind not in PIPELINE_STEPS:
                self.fail(f'{key}[{i}].type', f"the test transform {kind!r} is not one "
                          'hpekit applies', PIPELINE_STEPS, kind)
            if kind == 'Resize':
                out.append(self.resize(step, f'{key}[{i}]'))
            elif kind == 'Pad':
                out.append(self.pad(step, f'{key}[{i}]'))
        return out

    def resize(self, step: dict, key: str) -> dict:
        if step.get('scale') is None:
            self.fail(f'{key}.scale', 'a Resize without scale (scale_factor only) is not '
                      'translated')
        if step.get('interpolation', 'bilinear') != 'bilinear' or \
                step.get('backend', 'cv2') != 'cv2':
            self.fail(f'{key}.interpolation', "only bilinear cv2 resizing (MMDetection's "
                      'default) is translated')
        scale = step['scale']
        scale = tuple(scale) if isinstance(scale, (list, tuple)) else (scale, scale)
        return dict(type='Resize', scale=scale, keep_ratio=bool(step.get('keep_ratio', False)))

    def pad(self, step: dict, key: str) -> dict:
        if step.get('padding_mode', 'constant') != 'constant':
            self.fail(f'{key}.padding_mode', 'only constant padding is translated')
        pad_val = step.get('pad_val', dict(img=0, seg=255))
        if isinstance(pad_val, dict):
            pad_val = pad_val.get('img', 0)
        if step.get('size') is None and step.get('size_divisor') is None and \
                not step.get('pad_to_square', False):
            self.fail(key, 'a Pad needs size, size_divisor or pad_to_square')
        size = step.get('size')
        return dict(type='Pad', size=None if size is None else tuple(size),
                    size_divisor=step.get('size_divisor'),
                    pad_to_square=bool(step.get('pad_to_square', False)),
                    pad_val=tuple(pad_val) if isinstance(pad_val, (list, tuple)) else pad_val)

    # ------------------------------------------------------------------ classes
    def classes(self, dataset: dict, num_classes: int) -> Optional[tuple]:
        key = 'test_dataloader.dataset.metainfo.classes'
        classes = (dataset.get('metainfo') or {}).get('classes')
        if classes is None and _type(dataset) == 'CocoDataset':
            classes = COCO_CLASSES
        if classes is None:
            self.notes.append(f'{key}: not given; classes are named by number')
            return None
        classes = tuple(classes) if isinstance(classes, (list, tuple)) else (classes, )
        if len(classes) != num_classes:
            self.fail(key, f'{len(classes)} class names for a head with num_classes='
                      f'{num_classes}')
        return classes


def _test_dataset(cfg: dict, source: str) -> dict:
    """The test loader's dataset holding the pipeline (MMDetection's
    ``get_test_pipeline_cfg``: nested ``dataset`` / first of ``datasets``)."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset')
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        dataset = dataset.get('dataset') or (dataset.get('datasets') or [None])[0]
    if not isinstance(dataset, dict):
        raise MMDetConfigError(f'{source}: test_dataloader.dataset.pipeline: not found; the '
                               'test pipeline gives the input size (Resize, Pad)')
    return dataset


def translate_mmdet_config(cfg: Union[Config, dict], source: Optional[str] = None) -> Config:
    """The native hpekit detector config an MMDetection 3.x RTMDet config means.

    Args:
        cfg: the loaded MMDetection config (``is_mmdet_config``), complete (its
            ``_base_`` files merged, as ``Config.fromfile`` gives it).
        source: its file, for messages (default ``cfg.filename``).

    Returns:
        Config with ``default_scope='hpekit'``, ``model`` (``RTMDet``),
        ``test_pipeline`` (``Resize``/``Pad`` steps) and ``metainfo=dict(classes=…)``
        (when known). Notes on what changes behaviour are logged as warnings.

    Raises:
        MMDetConfigError: a part or setting hpekit cannot build, naming its key.
    """
    if not is_mmdet_config(cfg):
        raise MMDetConfigError(f"{source or '<config>'}: default_scope: expected 'mmdet' "
                               f"(an MMDetection config), got {cfg.get('default_scope')!r}")
    source = source or getattr(cfg, 'filename', None) or '<config>'
    src = _plain(cfg.to_dict() if isinstance(cfg, Config) else cfg)
    tr = _Translator(source)
    if not isinstance(src.get('model'), dict):
        tr.fail('model', 'missing')
    model = tr.model(src['model'])
    dataset = _test_dataset(src, source)
    key = 'test_dataloader.dataset.pipeline'
    out: Dict[str, Any] = dict(default_scope='hpekit', model=model,
                               test_pipeline=tr.pipeline(dataset['pipeline'], key))
    classes = tr.classes(dataset, model['bbox_head']['num_classes'])
    if classes is not None:
        out['metainfo'] = dict(classes=classes)
    for note in tr.notes:
        print_log(f'MMDetection config {source}: {note}', logger='current',
                  level=logging.WARNING)
    text = f'# hpekit translation of the MMDetection config {source}\n'
    return Config(ConfigDict(out), cfg_text=text, filename=source)
