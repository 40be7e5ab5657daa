"""MMPose 1.x configs in hpekit: read as they are, translated into the native config
they mean.

An MMPose config (``default_scope = 'mmpose'``, as every MMPose config inherits from
its ``default_runtime.py``) names MMPose's parts. ``from_mmpose`` rewrites it, part by
part, into hpekit's: the same network with the same parameter names (so MMPose's
published checkpoints load unchanged), MMPose's crop and codec geometry
(``TopdownAffine(grid='origin')`` / ``'corners'`` for ``use_udp=True``,
``MSRAHeatmap(grid='origin')``), the same flip test, datasets, metric, schedule and
hooks. ``load_config`` calls it, so every entry point (``init_model``,
``tools/train.py``, ``tools/test.py``, ``tools/demo.py``, ``tools/export_onnx.py``)
takes an MMPose config file; ``tools/misc/mmpose2hpekit.py`` writes the result as a
native config file to edit.

What has no hpekit counterpart is refused before any work: ``MMPoseConfigError``
names the config key, the MMPose type and the nearest hpekit part — at once for the
model, and for a data loader, metric or hook when a tool needs it (``UNTRANSLATED``),
so a published checkpoint whose training set hpekit cannot build still runs. What hpekit does
slightly differently is translated and listed in ``notes`` (logged once by
``load_config``), never dropped silently.
"""
import copy
import difflib
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict

from hpekit.config.checks import ConfigError

MMPOSE_SCOPE = 'mmpose'

#: The MMPose type names hpekit builds, per config slot (same name in hpekit).
SAME_NAME = {
    'model.backbone': ('HRNet', 'ResNet', 'CSPNeXt'),
    'model.head': ('HeatmapHead', 'RTMCCHead'),
    'model.head.loss': ('KeypointMSELoss', 'KLDiscretLoss'),
    'codec': ('MSRAHeatmap', 'UDPHeatmap', 'SimCCLabel'),
    'dataset': ('CocoDataset', ),
    'evaluator': ('CocoMetric', 'PCKAccuracy', 'AUC', 'EPE'),
}
RENAMED = {'TopdownPoseEstimator': 'TopDownPoseEstimator',
           'PoseDataPreprocessor': 'ImageDataPreprocessor'}
#: Pipeline steps hpekit folds into others: the dataset computes each person's crop
#: box (``GetBBoxCenterScale``); ``TopdownAffine`` draws the flip and the box jitter.
PIPELINE_STEPS = ('LoadImage', 'GetBBoxCenterScale', 'RandomFlip', 'RandomHalfBody',
                  'RandomBBoxTransform', 'TopdownAffine', 'GenerateTarget', 'PackPoseInputs',
                  'YOLOXHSVRandomAug', 'Albumentation')
#: ``CombinedDataset``'s own arguments besides its parts (MMPose passes the rest of its
#: keyword arguments to mmengine's ``BaseDataset``).
COMBINED_KEYS = ('type', 'metainfo', 'datasets', 'pipeline', 'sample_ratio_factor',
                 'data_root', 'test_mode', 'lazy_init', 'max_refetch')
#: The steps of a sub-dataset's own pipeline in a ``CombinedDataset``.
SUB_PIPELINE_STEPS = ('KeypointConverter', )
#: The metainfo hpekit's test pipelines keep (CocoMetric reads the ids and scores).
TEST_META_KEYS = ('sample_idx', 'image_id', 'center', 'bbox_size', 'input_size',
                  'heatmap_size', 'flip_indices', 'img_scale', 'id', 'img_id',
                  'category_id', 'bbox', 'bbox_score')
#: Top-level keys taken over as they are.
KEPT = ('train_cfg', 'val_cfg', 'test_cfg', 'optim_wrapper', 'param_scheduler',
        'auto_scale_lr', 'randomness', 'load_from', 'resume', 'log_level', 'work_dir',
        'log_processor')
#: hpekit's runtime parts used in place of MMPose's (from hpekit's default runtime).
RUNTIME = ('visualizer', 'vis_backends', 'env_cfg')


LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')
#: The top-level key listing the sections that could not be translated, {key:
#: message}: the model still loads (``init_model``), and ``check_config`` raises the
#: message when a tool needs the section (e.g. a training set of MMPose's
#: ``MpiiDataset``, alone or inside a ``CombinedDataset``).
UNTRANSLATED = 'mmpose_untranslated'


class MMPoseConfigError(ConfigError):
    """An MMPose config names something hpekit cannot build."""


def is_mmpose_config(cfg: Any) -> bool:
    """True for a config of MMPose 1.x (its ``default_scope`` is 'mmpose')."""
    return isinstance(cfg, (dict, Config)) and cfg.get('default_scope') == MMPOSE_SCOPE


def _plain(value: Any) -> Any:
    """ConfigDicts → dicts, tuples/lists kept, recursively (a deep copy)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return copy.deepcopy(value)


class _Translator:
    """One translation: the source file (for messages) and the notes collected."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.notes: List[str] = []

    # ------------------------------------------------------------------ helpers
    def fail(self, key: str, name: Any, choices: Sequence[str], what: str = '') -> None:
        close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.3)
        nearest = f'; the nearest hpekit part is {close[0]!r}' if close else ''
        raise MMPoseConfigError(
            f'{self.source}: {key}: MMPose\'s {name!r} {what or "has no hpekit counterpart"}'
            f'{nearest} (hpekit builds here: {", ".join(choices)})')

    def note(self, key: str, text: str) -> None:
        self.notes.append(f'{key}: {text}')

    def note_dropped(self, cfg: dict, kept: Sequence[str], key: str) -> None:
        """Note the keys of ``cfg`` outside ``kept`` (hpekit has no such setting)."""
        dropped = sorted(set(cfg) - set(kept))
        if dropped:
            self.note(key, f'{dropped} not translated (no such setting in hpekit)')

    def same_name(self, cfg: dict, key: str, slot: str) -> dict:
        """A part hpekit builds under MMPose's name; ``_scope_`` dropped."""
        cfg = dict(cfg)
        cfg.pop('_scope_', None)
        cfg['type'] = RENAMED.get(cfg.get('type'), cfg.get('type'))
        if cfg['type'] not in SAME_NAME[slot]:
            self.fail(f'{key}.type', cfg.get('type'), SAME_NAME[slot])
        return cfg

    # ------------------------------------------------------------------- codecs
    def codec(self, cfg: dict, key: str) -> dict:
        cfg = self.same_name(cfg, key, 'codec')
        if cfg['type'] == 'MSRAHeatmap':
            cfg['grid'] = 'origin'
        return cfg

    # -------------------------------------------------------------------- model
    def model(self, cfg: dict) -> dict:
        cfg = dict(cfg)
        if cfg.get('type') != 'TopdownPoseEstimator':
            self.fail('model.type', cfg.get('type'), ['TopDownPoseEstimator'],
                      'is not a top-down estimator hpekit builds')
        cfg['type'] = 'TopDownPoseEstimator'
        cfg['data_preprocessor'] = self.preprocessor(cfg.get('data_preprocessor') or {})
        cfg['backbone'] = self.backbone(cfg['backbone'])
        if cfg.get('neck') is not None:
            self.fail('model.neck.type', cfg['neck'].get('type'), ['(none)'],
                      'is a neck hpekit does not have')
        cfg['head'] = self.head(cfg['head'])
        cfg['test_cfg'] = self.test_cfg(cfg.get('test_cfg') or {})
        cfg.pop('train_cfg', None)
        return cfg

    def preprocessor(self, cfg: dict) -> dict:
        if cfg.get('type', 'PoseDataPreprocessor') != 'PoseDataPreprocessor':
            self.fail('model.data_preprocessor.type', cfg.get('type'),
                      ['ImageDataPreprocessor'])
        if not cfg.get('bgr_to_rgb', False):
            raise MMPoseConfigError(
                f'{self.source}: model.data_preprocessor.bgr_to_rgb: hpekit reads images '
                'as RGB and feeds the model RGB; a model trained on BGR input '
                '(bgr_to_rgb=False) is not supported')
        self.note_dropped(cfg, ('type', 'mean', 'std', 'bgr_to_rgb'),
                          'model.data_preprocessor')
        out = dict(type='ImageDataPreprocessor')
        out.update({k: cfg[k] for k in ('mean', 'std') if k in cfg})
        return out

    def backbone(self, cfg: dict) -> dict:
        cfg = self.same_name(cfg, 'model.backbone', 'model.backbone')
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and str(init.get('checkpoint', '')).startswith(
                ('http://', 'https://')):
            self.note('model.backbone.init_cfg', f'{init["checkpoint"]} is a URL and hpekit '
                      'downloads nothing: removed (load a checkpoint, set load_from, or '
                      'give a local path as init_cfg.checkpoint)')
            cfg.pop('init_cfg')
        if cfg.get('norm_cfg', {}).get('type') == 'SyncBN':
            cfg['norm_cfg'] = dict(cfg['norm_cfg'], type='BN')
            self.note('model.backbone.norm_cfg', "SyncBN → BN (hpekit's tools convert BN "
                      'to SyncBN for multi-GPU runs with sync_bn=True)')
        return cfg

    def head(self, cfg: dict) -> dict:
        cfg = self.same_name(cfg, 'model.head', 'model.head')
        if cfg.get('loss') is not None:
            losses = cfg['loss'] if isinstance(cfg['loss'], list) else [cfg['loss']]
            if len(losses) != 1:
                self.fail('model.head.loss', 'list of losses', SAME_NAME['model.head.loss'])
            cfg['loss'] = self.same_name(losses[0], 'model.head.loss', 'model.head.loss')
        if cfg.get('decoder') is not None:
            cfg['decoder'] = self.codec(cfg['decoder'], 'model.head.decoder')
        return cfg

    def test_cfg(self, cfg: dict) -> dict:
        cfg = dict(cfg)
        mode = cfg.pop('flip_mode', 'heatmap')
        if cfg.get('flip_test') and mode != 'heatmap':
            self.fail('model.test_cfg.flip_mode', mode, ['heatmap'],
                      'is a flip mode hpekit does not have')
        kept = ('flip_test', 'shift_heatmap', 'output_heatmaps')
        self.note_dropped(cfg, kept, 'model.test_cfg')
        return {k: v for k, v in cfg.items() if k in kept}

    # ---------------------------------------------------------------- pipelines
    def pipeline(self, steps: Sequence[dict], key: str) -> List[dict]:
        """MMPose's top-down pipeline → hpekit's (see ``PIPELINE_STEPS``)."""
        steps = [dict(s, type=str(s.get('type', '')).split('.')[-1]) for s in steps]
        for i, step in enumerate(steps):
            if step['type'] not in PIPELINE_STEPS:
                self.fail(f'{key}[{i}].type', step['type'], PIPELINE_STEPS,
                          'is a transform hpekit does not have')
        by_type = {s['type']: s for s in steps}
        affine = by_type.get('TopdownAffine')
        if affine is None:
            raise MMPoseConfigError(f'{self.source}: {key}: no TopdownAffine; hpekit '
                                    'translates top-down pipelines only')
        self.center_scale(by_type.get('GetBBoxCenterScale', {}), key)
        training = 'GenerateTarget' in by_type
        out = []
        if training and 'RandomHalfBody' in by_type:
            out.append(self.half_body(by_type['RandomHalfBody'], affine, key))
        crop = self.affine(affine, by_type, training, key)
        out.append(self.load_image(crop, training))
        out.append(crop)
        out += [self.photometric(s) for s in steps
                if s['type'] in ('YOLOXHSVRandomAug', 'Albumentation')]
        if training:
            out.append(dict(type='GenerateTarget', encoder=self.codec(
                by_type['GenerateTarget']['encoder'], f'{key}.GenerateTarget.encoder')))
            out.append(dict(type='PackPoseInputs'))
        else:
            out.append(dict(type='PackPoseInputs', meta_keys=TEST_META_KEYS))
        return out

    @staticmethod
    def load_image(crop: dict, training: bool) -> dict:
        """Test: the full image, as MMPose decodes it (hpekit's reduced JPEG
        decoding would change the pixels). Training: reduced decoding down to the
        smallest box scale the crop draws (hpekit's speed-up; the crop keeps its
        resolution)."""
        if not training:
            return dict(type='LoadImage', input_size=crop['input_size'], reduce_decode=False)
        return dict(type='LoadImage', input_size=crop['input_size'],
                    min_box_scale=max(0.05, 1 - crop['scale_factor']))

    def center_scale(self, step: dict, key: str) -> None:
        padding = step.get('padding', 1.25)
        if padding != 1.25:
            raise MMPoseConfigError(
                f'{self.source}: {key}.GetBBoxCenterScale.padding={padding}: hpekit sets the '
                "box padding on the dataset (CocoDataset's bbox_padding); only MMPose's "
                'default 1.25 is translated')

    def half_body(self, step: dict, affine: dict, key: str) -> dict:
        extra = sorted(set(step) - {'type', 'prob', 'min_total_keypoints'})
        if extra:
            self.note(f'{key}.RandomHalfBody', f'{extra} use hpekit\'s RandomHalfBody '
                      'rules (upper/lower split by the metainfo, padding 1.5)')
        return dict(type='RandomHalfBody', prob=step.get('prob', 0.3),
                    min_visible=step.get('min_total_keypoints', 9),
                    input_size=affine['input_size'])

    def affine(self, step: dict, by_type: dict, training: bool, key: str) -> dict:
        grid = 'corners' if step.get('use_udp', False) else 'origin'
        out = dict(type='TopdownAffine', input_size=step['input_size'], grid=grid)
        if not training:
            return dict(out, augment=False)
        jitter = by_type.get('RandomBBoxTransform', {})
        low, high = jitter.get('scale_factor', (0.5, 1.5))
        if abs((low + high) - 2) > 1e-6:
            raise MMPoseConfigError(
                f'{self.source}: {key}.RandomBBoxTransform.scale_factor=({low}, {high}): '
                "hpekit's TopdownAffine draws the box scale from [1 - f, 1 + f]; only a "
                'range symmetric about 1 is translated')
        if jitter.get('shift_factor', 0.16) and jitter.get('shift_prob', 0.3):
            self.note(f'{key}.RandomBBoxTransform.shift_factor',
                      'box centre shifts are not drawn (hpekit jitters scale and rotation)')
        flip = by_type.get('RandomFlip', {})
        if flip and flip.get('direction', 'horizontal') != 'horizontal':
            self.fail(f'{key}.RandomFlip.direction', flip['direction'], ['horizontal'],
                      'is a flip hpekit does not draw')
        return dict(out, scale_factor=(high - low) / 2,
                    rotate_factor=jitter.get('rotate_factor', 80.0),
                    rotate_prob=jitter.get('rotate_prob', 0.6),
                    flip_prob=flip.get('prob', 0.5) if flip else 0.0)

    @staticmethod
    def photometric(step: dict) -> dict:
        return dict(step)

    # ----------------------------------------------------------- data and metric
    def dataloader(self, cfg: dict, key: str, input_size: Optional[Tuple[int, int]]) -> dict:
        cfg = dict(cfg)
        dataset = dict(cfg['dataset'])
        if str(dataset.get('type', '')).split('.')[-1] == 'CombinedDataset':
            cfg['dataset'] = self.combined(dataset, f'{key}.dataset', input_size)
        else:
            cfg['dataset'] = self.dataset(dataset, f'{key}.dataset', input_size)
            cfg['dataset']['pipeline'] = self.pipeline(dataset.get('pipeline', []),
                                                       f'{key}.dataset.pipeline')
        cfg.setdefault('worker_init_fn', dict(type='hpekit.seed_worker'))
        return cfg

    def dataset(self, dataset: dict, key: str, input_size: Optional[Tuple[int, int]]) -> dict:
        """A dataset hpekit builds under MMPose's name (its pipeline left as it is)."""
        if dataset.get('data_mode', 'topdown') != 'topdown':
            self.fail(f'{key}.data_mode', dataset['data_mode'], ['topdown'],
                      'is a data mode hpekit does not have')
        dataset.pop('data_mode', None)
        dataset = self.same_name(dataset, key, 'dataset')
        if input_size is not None:
            dataset['input_size'] = tuple(input_size)
        return dataset

    def combined(self, cfg: dict, key: str, input_size: Optional[Tuple[int, int]]) -> dict:
        """MMPose's ``CombinedDataset`` → hpekit's (the same arguments): each part
        translated as a dataset whose own pipeline holds only ``KeypointConverter``
        steps, the combined pipeline as a top-down pipeline."""
        cfg = dict(cfg)
        cfg.pop('_scope_', None)
        self.note_dropped(cfg, COMBINED_KEYS, key)
        out = {k: cfg[k] for k in COMBINED_KEYS if k in cfg}
        out['type'] = 'CombinedDataset'
        if not out.get('datasets'):
            raise MMPoseConfigError(f"{self.source}: {key}.datasets: MMPose's "
                                    "'CombinedDataset' lists no datasets to combine")
        out['datasets'] = [self.sub_dataset(dict(sub), f'{key}.datasets[{i}]', input_size)
                           for i, sub in enumerate(out['datasets'])]
        out['pipeline'] = self.pipeline(cfg.get('pipeline', []), f'{key}.pipeline')
        return out

    def sub_dataset(self, cfg: dict, key: str, input_size: Optional[Tuple[int, int]]) -> dict:
        """A part of a ``CombinedDataset``: its own pipeline keeps its
        ``KeypointConverter`` steps (the same arguments)."""
        out = self.dataset(dict(cfg), key, input_size)
        out['pipeline'] = []
        for i, step in enumerate(cfg.get('pipeline') or []):
            step = dict(step, type=str(step.get('type', '')).split('.')[-1])
            step.pop('_scope_', None)
            if step['type'] not in SUB_PIPELINE_STEPS:
                self.fail(f'{key}.pipeline[{i}].type', step['type'], SUB_PIPELINE_STEPS,
                          "is a step hpekit does not run in a CombinedDataset's part (its "
                          'own pipeline maps keypoints only)')
            out['pipeline'].append(step)
        return out

    def evaluator(self, cfg: Any, key: str) -> Any:
        if isinstance(cfg, list):
            return [self.evaluator(c, f'{key}[{i}]') for i, c in enumerate(cfg)]
        cfg = self.same_name(cfg, key, 'evaluator')
        if cfg['type'] == 'CocoMetric':
            cfg.setdefault('nms_mode', 'oks_nms')     # MMPose's default; hpekit's is 'none'
            if cfg['nms_mode'] not in ('oks_nms', 'none'):
                self.fail(f'{key}.nms_mode', cfg['nms_mode'], ['oks_nms', 'none'],
                          'is an NMS hpekit does not have')
            if not cfg.pop('use_area', True) or cfg.pop('iou_type', 'keypoints') != \
                    'keypoints':
                self.fail(key, 'CocoMetric(use_area=False / iou_type)', ['CocoMetric'],
                          "is evaluated as COCO's keypoints with areas only")
        return cfg

    # ------------------------------------------------------------------ hooks
    def default_hooks(self, cfg: dict, hpekit_defaults: dict) -> dict:
        hooks = copy.deepcopy(hpekit_defaults)
        checkpoint = dict(cfg.get('checkpoint') or {})
        checkpoint.pop('type', None)
        hooks['checkpoint'].update(checkpoint)
        if 'logger' in cfg and 'interval' in cfg['logger']:
            hooks['logger']['interval'] = cfg['logger']['interval']
        return hooks

    def custom_hooks(self, hooks: Sequence[dict], hpekit_defaults: Sequence[dict]) -> list:
        """MMPose's hooks first (so ``--cfg-options custom_hooks.1.switch_epoch=...``
        names the hook it names in MMPose's file), then hpekit's runtime hooks (the
        order of running is the hooks' priorities)."""
        out = []
        for i, hook in enumerate(hooks or []):
            hook = dict(hook, type=str(hook['type']).split('.')[-1])
            if hook['type'] == 'PipelineSwitchHook':
                hook['switch_pipeline'] = self.pipeline(
                    hook['switch_pipeline'], f'custom_hooks[{i}].switch_pipeline')
            elif hook['type'] not in ('EMAHook', 'SyncBuffersHook'):
                self.fail(f'custom_hooks[{i}].type', hook['type'],
                          ['EMAHook', 'SyncBuffersHook', 'PipelineSwitchHook'])
            out.append(hook)
        return out + [dict(h) for h in hpekit_defaults]


def _input_size(cfg: dict) -> Optional[Tuple[int, int]]:
    codec = cfg.get('codec') or cfg.get('model', {}).get('head', {}).get('decoder') or {}
    size = codec.get('input_size')
    return None if size is None else tuple(size)


def from_mmpose(cfg: Config, source: str, hpekit_runtime: Dict[str, Any]) -> Tuple[Config,
                                                                                   List[str]]:
    """The native hpekit config an MMPose 1.x config means.

    Args:
        cfg: the loaded MMPose config (``is_mmpose_config``).
        source: its file, for messages.
        hpekit_runtime: hpekit's default runtime (``configs/_base_/default_runtime.py``
            loaded): its hooks, visualizer and scope replace MMPose's runtime parts.

    Returns:
        (config, notes): the translated config (``default_scope='hpekit'``) and one
        line per translation that changes behaviour (to log).

    Raises:
        MMPoseConfigError: a model part hpekit cannot build, naming the config key,
            the MMPose type and the nearest hpekit part (other sections: kept under
            ``UNTRANSLATED``).
    """
    src = _plain(cfg.to_dict() if isinstance(cfg, Config) else cfg)
    tr = _Translator(source)
    out: Dict[str, Any] = {k: v for k, v in src.items() if k in KEPT}
    out['default_scope'] = 'hpekit'
    if 'codec' in src:
        out['codec'] = tr.codec(src['codec'], 'codec')
    out['model'] = tr.model(src['model'])
    size = _input_size(src)
    untranslated = {}
    sections = [(k, lambda k=k: tr.dataloader(src[k], k, size)) for k in LOADERS] + \
        [(k, lambda k=k: tr.evaluator(src[k], k)) for k in EVALUATORS] + \
        [('custom_hooks', lambda: tr.custom_hooks(src['custom_hooks'],
                                                 hpekit_runtime['custom_hooks']))]
    for key, translate in sections:
        if not src.get(key):
            continue
        try:
            out[key] = translate()
        except MMPoseConfigError as err:   # refused when a tool needs it (check_config)
            untranslated[key] = str(err)
    out.setdefault('custom_hooks', _plain(hpekit_runtime['custom_hooks']))
    if untranslated:
        out[UNTRANSLATED] = untranslated
    out['default_hooks'] = tr.default_hooks(src.get('default_hooks') or {},
                                            hpekit_runtime['default_hooks'])
    out.update({k: _plain(hpekit_runtime[k]) for k in RUNTIME if k in hpekit_runtime})
    text = f'# hpekit translation of the MMPose config {source}\n'
    return Config(ConfigDict(out), cfg_text=text, filename=source), tr.notes
