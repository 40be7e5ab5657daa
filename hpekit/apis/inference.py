"""Inference entry points: a model from a config (and checkpoint), run on images or clips.

Conventions:

- Images and frames are RGB uint8, as in hpekit's pipelines. Paths are decoded to
  RGB; arrays are taken as RGB unless ``channel_order='bgr'`` (an array straight
  from ``cv2.imread``).
- Output keypoints are 0-based image pixels with pixel centres at integers, as
  everywhere in hpekit (``hpekit.core.affine``).
- Person boxes are ``[x1, y1, x2, y2]`` in the detector convention: the image spans
  [0, W] × [0, H] (pixel i covers [i, i + 1]), so ``[0, 0, W, H]`` is the whole image.
- 3D joints are millimetres, camera coordinates (x right, y down, z away), in the
  keypoint order of the dataset metainfo.

The crop, the flip test and the heatmap decoding are the pipeline's own
(``TopdownAffine``, ``TopDownPoseEstimator.predict``, ``hpekit.core``): inference and
validation compute the same numbers for the same box.
"""
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData
from numpy.typing import ArrayLike

from hpekit.datasets.metainfo import add_metainfo_to_info
from hpekit.models.estimators import TASK_TOPDOWN, TASK_VIDEO3D, BasePoseEstimator
from hpekit.registry import DATASETS, MODELS, TRANSFORMS
from hpekit.structures import PoseDataSample
from hpekit.checkpoint.loading import CheckpointError, load_checkpoint_file
from hpekit.models.model_inputs import model_spec
from hpekit.utils.setup_env import register_all_modules

from hpekit.apis.frames import FrameSource, load_frames, load_image
from hpekit.apis.onnxruntime_backend import BACKENDS, OnnxRuntimeEstimator, onnxruntime_model

BOX_PADDING = 1.25          # a tight person box → the MPII training boxes' margin
# Person crops per forward pass when the caller gives none: the batch size that was
# fastest per crop (docs/benchmarks.md, "Inference: backend and batch size"; hg2 with
# flip test, interleaved). PyTorch on a CPU depends on the allocator: with one that
# retains freed memory (jemalloc retain, as hpekit's tools preload it) batch 16 was
# fastest (0.66× batch 1's time per crop); under glibc's malloc every large batch
# re-faults its memory and batch 16 was the slowest (1.29× batch 1), batch 4 the
# fastest. ONNX Runtime (its own memory arena) was within 10 % at 1, 4 and 16; 4 led.
DEFAULT_BATCH_SIZE = {'pytorch': 16, 'pytorch-no-retain': 4, 'onnxruntime': 4}

#: What ``init_model`` returns and the inference functions take.
PoseModel = Union[BasePoseEstimator, OnnxRuntimeEstimator]


def default_batch_size(model: PoseModel) -> int:
    """Crops per forward pass for ``model`` when none is given (``DEFAULT_BATCH_SIZE``):
    by its backend (``model.backend``; PyTorch models have none), and for PyTorch on
    a CPU by whether the process's allocator retains memory
    (``hpekit.runtime.allocator.retains_memory``)."""
    from hpekit.runtime.allocator import retains_memory
    backend = getattr(model, 'backend', 'pytorch')
    if backend != 'pytorch':
        return DEFAULT_BATCH_SIZE.get(backend, 4)
    params = next(iter(model.parameters()), None) if hasattr(model, 'parameters') else None
    on_gpu = params is not None and params.device.type != 'cpu'
    if on_gpu or retains_memory():
        return DEFAULT_BATCH_SIZE['pytorch']
    return DEFAULT_BATCH_SIZE['pytorch-no-retain']


# --------------------------------------------------------------------- init_model
def init_model(config: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[Dict[str, Any]] = None, strict: bool = True,
               backend: str = 'pytorch', onnx_cache_dir: Optional[str] = None) -> PoseModel:
    """Build a config's model, load weights, and prepare it for inference.

    The one way hpekit builds a model outside training: the tools (test, demo,
    export, FLOPs, benchmark, pictures) and the inference API all call it.

    Args:
        config (str | PathLike | Config): config file or loaded config.
        checkpoint (str, optional): local checkpoint file (an mmengine checkpoint
            with 'state_dict', or a bare state dict), loaded with hpekit's safe
            loader (``weights_only=True`` and an allow-list); 'module.' prefixes are
            dropped. None: random weights.
        device (str | torch.device): where the model runs, e.g. 'cpu' or 'cuda:0'.
        cfg_options (dict, optional): dotted keys to override, as ``--cfg-options``.
        strict (bool): every key of the model must be in the checkpoint and vice
            versa (default); False loads the keys that fit and reports the rest.
        backend (str): 'pytorch' (default) or 'onnxruntime': the model is exported
            once to ONNX (cached next to the checkpoint, keyed by the checkpoint's
            SHA-256 and the model config; see ``hpekit.apis.onnxruntime_backend``)
            and an ``OnnxRuntimeEstimator`` is returned: the same predictions
            through ``test_step`` (flip test included, decoded by the PyTorch
            estimator's own code), usable by every inference function.
        onnx_cache_dir (str, optional): where the ONNX Runtime backend keeps its
            graphs instead of the checkpoint's folder.

    Returns:
        The model in eval mode on ``device``, with ``model.cfg`` (the config),
        ``model.spec`` (what it takes and returns, see ``EstimatorSpec``) and
        ``model.dataset_meta``: the test dataset's parsed metainfo
        (``hpekit.datasets.parse_pose_metainfo``: ``num_keypoints``,
        ``keypoint_id2name``, ``flip_indices``, ``skeleton_links``, colours …).

    Raises:
        FileNotFoundError: config missing. CheckpointError / UnsafeCheckpointError:
        unreadable, unsafe or mismatching checkpoint. TypeError: a model without a
        spec. ValueError: a config without a test or val dataset.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    register_all_modules()
    cfg = _load_config(config, cfg_options)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_weights(model, checkpoint, strict=strict)
    model.cfg = cfg
    model.dataset_meta = dataset_metainfo(cfg)
    spec = model_spec(model)
    if spec.num_keypoints != model.dataset_meta['num_keypoints']:
        raise ValueError(f'{cfg.filename}: the model predicts {spec.num_keypoints} '
                         f"keypoints but the test dataset's metainfo has "
                         f"{model.dataset_meta['num_keypoints']}")
    if backend == 'onnxruntime':
        return onnxruntime_model(model.eval(), checkpoint, device=device,
                                 cache_dir=onnx_cache_dir)
    return model.to(device).eval()


def _load_config(config, cfg_options):
    """A Config from a path or a Config (copied), ``cfg_options`` merged, codec applied."""
    from hpekit.config.codec import apply_codec
    from hpekit.config.setup import load_config
    if isinstance(config, (str, os.PathLike)):
        return load_config(os.fspath(config), cfg_options)
    if not isinstance(config, Config):
        raise TypeError(f'config must be a file path or an mmengine Config, got '
                        f'{type(config).__name__}')
    cfg = config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return apply_codec(cfg)


def load_weights(model: torch.nn.Module, checkpoint: Union[str, os.PathLike],
                 strict: bool = True) -> Dict[str, List[str]]:
    """Load a local checkpoint's weights into ``model`` ('module.' prefixes dropped).

    Args:
        strict (bool): raise unless the keys match exactly; False loads what fits
            (shapes must still agree) and returns the report.

    Returns:
        dict: 'missing' and 'unexpected' key lists.

    Raises:
        CheckpointError: unreadable file, no state dict, or (strict) keys/shapes that
            do not match the model (the file and up to five keys of each are named).
    """
    state = load_checkpoint_file(os.fspath(checkpoint), map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f'checkpoint {checkpoint} holds no state dict (expected '
                              "a dict of tensors or a dict with 'state_dict')")
    state = {re.sub(r'^module\.', '', key): value for key, value in state.items()}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise CheckpointError(f'checkpoint {checkpoint} does not fit the model: '
                              f'{err}') from None
    if strict and (result.missing_keys or result.unexpected_keys):
        raise CheckpointError(
            f'checkpoint {checkpoint} does not match the model of the config: '
            f'{len(result.missing_keys)} missing keys {result.missing_keys[:5]}, '
            f'{len(result.unexpected_keys)} unexpected keys {result.unexpected_keys[:5]} '
            '(first five of each; pass strict=False to load what fits)')
    return dict(missing=list(result.missing_keys), unexpected=list(result.unexpected_keys))


# ------------------------------------------------------------------ dataset meta
def dataset_metainfo(cfg: Config) -> dict:
    """The parsed metainfo of the config's test (else val) dataset, without loading
    any data: the dataset's ``metainfo`` argument, else its class's ``METAINFO``."""
    dataset_cfg = _dataset_cfg(cfg)
    dataset_type = dataset_cfg.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    if not hasattr(cls, '_load_metainfo'):
        raise ValueError(f'{cfg.filename}: test dataset type {dataset_type!r} has no '
                         'metainfo; derive it from hpekit.datasets.BasePoseDataset')
    return cls._load_metainfo(dataset_cfg.get('metainfo'))


def _dataset_cfg(cfg):
    """The test (else val) dataloader's dataset config."""
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset')
        if dataset:
            return dataset
    raise ValueError(f'{cfg.filename}: no test_dataloader.dataset or '
                     'val_dataloader.dataset; inference reads the keypoint names, flip '
                     'pairs and skeleton from its metainfo')


def _meta(model, task):
    """(``model.dataset_meta``, ``model.spec``), checked to be of ``task``."""
    meta = getattr(model, 'dataset_meta', None)
    if not isinstance(meta, dict) or 'num_keypoints' not in meta:
        raise ValueError('the model has no dataset_meta; build it with '
                         'hpekit.apis.init_model')
    spec = model_spec(model)
    if spec.task != task:
        raise ValueError(f"this function needs a {task} model, the model's task is "
                         f'{spec.task}')
    return meta, spec


@torch.no_grad()
def _predict(model, items):
    """Run ``model.test_step`` on packed items ({'inputs', 'data_samples'} dicts)."""
    return model.test_step(pseudo_collate(items))


# ------------------------------------------------------------- top-down 2D poses
def check_bboxes(bboxes: ArrayLike) -> np.ndarray:
    """Person boxes → float64 [N, 4] xyxy; ValueError unless finite with x2>x1, y2>y1."""
    boxes = np.asarray(bboxes, dtype=np.float64)
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'bboxes must have shape [N, 4] (x1, y1, x2, y2), got '
                         f'{list(np.shape(bboxes))}')
    bad = ~np.all(np.isfinite(boxes), axis=1) | (boxes[:, 2] <= boxes[:, 0]) | \
        (boxes[:, 3] <= boxes[:, 1])
    if bad.any():
        raise ValueError(f'bboxes must be finite with x2 > x1 and y2 > y1; bad boxes: '
                         f'{boxes[bad].tolist()}')
    return boxes


def boxes_to_center_size(boxes: ArrayLike, input_size: Sequence[float],
                         padding: float = BOX_PADDING) -> Tuple[np.ndarray, np.ndarray]:
    """xyxy boxes → the crop boxes ``TopdownAffine`` takes.

    Args:
        boxes: float [N, 4], detector convention (image spans [0, W]).
        input_size: (W, H) of the model input; each box is widened or heightened
            about its centre to this aspect ratio, then scaled by ``padding``.
        padding (float): margin factor (1.25 like the MPII training boxes).

    Returns:
        center float32 [N, 2] (0-based image px, pixel centres at integers),
        size float32 [N, 2] (w, h) image px.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2 - 0.5
    size = boxes[:, 2:] - boxes[:, :2]
    aspect = input_size[0] / input_size[1]
    size = np.maximum(size, size[:, ::-1] * np.array([aspect, 1 / aspect]))
    return center.astype(np.float32), (size * padding).astype(np.float32)


def _topdown_pipeline(model, spec):
    """The config's test pipeline (the one validation runs), built; for a model
    without a config, LoadImage → TopdownAffine → PackPoseInputs at the spec's size."""
    cfg = getattr(model, 'cfg', None)
    steps = None
    if cfg is not None:
        steps = ((cfg.get('test_dataloader') or cfg.get('val_dataloader') or {})
                 .get('dataset', {}).get('pipeline'))
    if not steps:
        steps = [dict(type='LoadImage', input_size=spec.input_size, min_box_scale=1.0),
                 dict(type='TopdownAffine', input_size=spec.input_size, augment=False),
                 dict(type='PackPoseInputs')]
    return [TRANSFORMS.build(dict(step)) for step in steps]


def to_xyxy(bboxes: ArrayLike, bbox_format: str = 'xyxy') -> np.ndarray:
    """Boxes [N, 4] in 'xyxy' or 'xywh' (COCO) → checked float64 xyxy [N, 4]."""
    if bbox_format not in ('xyxy', 'xywh'):
        raise ValueError(f"bbox_format must be 'xyxy' or 'xywh', got {bbox_format!r}")
    boxes = np.asarray(bboxes, dtype=np.float64)
    if bbox_format == 'xywh' and boxes.ndim >= 1 and boxes.shape[-1] == 4:
        boxes = np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=-1)
    return check_bboxes(boxes)


def _data_info(image, path, center, size, box, index, meta):
    """The data info of one person as a dataset would give it to the test pipeline."""
    info = dict(img=None if path else image, img_path=path, center=center,
                bbox_size=size, bbox=box[None].astype(np.float32), sample_idx=index)
    return add_metainfo_to_info(info, meta)


def inference_topdown(model: PoseModel, img: Union[str, os.PathLike, np.ndarray],
                      bboxes: Optional[ArrayLike] = None, bbox_format: str = 'xyxy',
                      batch_size: Optional[int] = None, channel_order: str = 'rgb',
                      padding: float = BOX_PADDING) -> List[PoseDataSample]:
    """2D keypoints of the people in one image, as MMPose's ``inference_topdown``.

    Each person goes through the config's test pipeline — the one validation runs, so
    an image file gives the same crop (reduced JPEG decoding included) and the same
    numbers as validation for the same box — then ``model.test_step``.

    Args:
        model: a model whose ``spec.task`` is 'topdown2d', from ``init_model``.
        img: image file path, or uint8 array [H, W, 3] (RGB unless
            ``channel_order='bgr'``; an array is used as it is, not decoded).
        bboxes: person boxes [N, 4] (or one [4]), image spanning [0, W] × [0, H];
            each is fitted to the input's aspect ratio and padded by ``padding``.
            None: one person filling the whole image (box [0, 0, W, H], fitted to the
            aspect ratio, no padding).
        bbox_format (str): 'xyxy' (default) or 'xywh' (COCO).
        batch_size (int, optional): crops per forward pass; default
            ``default_batch_size(model)``, the fastest per crop for the backend.
        channel_order (str): 'rgb' or 'bgr', for arrays.
        padding (float): margin factor for given boxes (default 1.25).

    Returns:
        list of N ``PoseDataSample``, one per box, with ``pred_instances``:
        ``keypoints`` float32 [1, K, 2] (0-based image px), ``keypoint_scores``
        float32 [1, K] and ``bboxes`` float32 [1, 4] (xyxy, the box used); also
        ``pred_keypoints`` [K, 2] / ``keypoint_scores`` [K] as the metrics read them.
        ``merge_data_samples`` joins them into one sample of N instances. The
        config's test_cfg applies (e.g. flip test).
    """
    meta, spec = _meta(model, TASK_TOPDOWN)
    if batch_size is None:
        batch_size = default_batch_size(model)
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    path = os.fspath(img) if isinstance(img, (str, os.PathLike)) else None
    image = load_image(img, channel_order)
    height, width = image.shape[:2]
    if bboxes is None:
        boxes, padding = np.array([[0.0, 0.0, width, height]]), 1.0
    else:
        boxes = to_xyxy(bboxes, bbox_format)
    centers, sizes = boxes_to_center_size(boxes, spec.input_size, padding)
    pipeline = _topdown_pipeline(model, spec)
    samples = []
    for start in range(0, len(boxes), batch_size):
        items = []
        for i in range(start, min(start + batch_size, len(boxes))):
            results = _data_info(image, path, centers[i], sizes[i], boxes[i], i, meta)
            for transform in pipeline:
                results = transform(results)
            items.append(results)
        samples += _predict(model, items)
    for sample, box in zip(samples, boxes):
        sample.pred_instances = InstanceData(
            keypoints=np.asarray(sample.pred_keypoints, np.float32)[None],
            keypoint_scores=np.asarray(sample.keypoint_scores, np.float32)[None],
            bboxes=box[None].astype(np.float32))
    return samples


def merge_data_samples(samples: Sequence[PoseDataSample]) -> PoseDataSample:
    """N one-person ``PoseDataSample`` → one sample whose ``pred_instances`` hold all
    N people (``keypoints`` [N, K, 2], ``keypoint_scores`` [N, K], ``bboxes``
    [N, 4]); an empty list gives N = 0 (MMPose's function of the same name)."""
    merged = PoseDataSample()
    if not samples:
        merged.pred_instances = InstanceData()
        return merged
    merged.set_metainfo({k: v for k, v in samples[0].metainfo.items()
                         if k not in ('center', 'bbox_size', 'sample_idx')})
    merged.pred_instances = InstanceData.cat([s.pred_instances for s in samples])
    return merged


# --------------------------------------------------------------- video → 3D poses
def window_starts(num_frames: int, clip_len: int) -> List[int]:
    """First frames of the windows covering ``num_frames`` frames with ``clip_len``.

    Windows of ``clip_len`` frames start at 0, clip_len, 2·clip_len, …; when the
    frames do not divide evenly, one more window ends at the last frame (it overlaps
    the one before). Fewer frames than ``clip_len``: one window at 0.
    """
    if num_frames <= clip_len:
        return [0]
    starts = list(range(0, num_frames - clip_len + 1, clip_len))
    if starts[-1] + clip_len < num_frames:
        starts.append(num_frames - clip_len)
    return starts


def _window(frames, start, clip_len):
    """frames[start:start + clip_len] as uint8 tensor [L, 3, H, W]; a short clip is
    padded by repeating its last frame."""
    window = frames[start:start + clip_len]
    if len(window) < clip_len:
        pad = np.repeat(window[-1:], clip_len - len(window), axis=0)
        window = np.concatenate([window, pad])
    return torch.from_numpy(np.ascontiguousarray(window.transpose(0, 3, 1, 2)))


def inference_video3d(model: PoseModel, frames: FrameSource, batch_size: int = 4,
                      clip_len: Optional[int] = None,
                      channel_order: str = 'rgb') -> List[PoseDataSample]:
    """3D joints of the person in every frame of a clip, as MMPose's lifter API.

    Frames are resized to the model's input size (``model.spec.input_size``,
    no crop: give person-centred frames, as in training). The model runs on windows
    of ``clip_len`` frames (see ``window_starts``); a frame covered by two windows
    gets the mean of their predictions; a clip shorter than ``clip_len`` is padded by
    repeating its last frame and the padding's predictions are dropped.

    Args:
        model: a video 3D model from ``init_model``.
        frames: a video file, a folder of images (sorted by name), an array
            [T, H, W, 3] uint8, or a list of image paths / [H, W, 3] arrays.
        batch_size (int): windows per forward pass.
        clip_len (int, optional): frames per window; default
            ``model.spec.num_frames`` (the training clip length).
        channel_order (str): 'rgb' or 'bgr', for arrays.

    Returns:
        list of T ``PoseDataSample``, one per input frame, with ``pred_instances``:
        ``keypoints`` float32 [1, K, 3] — millimetres, camera coordinates (x right,
        y down, z away), pelvis-relative as in training — and ``keypoint_scores``
        float32 [1, K] (ones: video models give no scores). Metainfo: ``frame_idx``,
        ``img_shape`` (H, W) of the frame as read, ``input_size`` (W, H) it was
        resized to, ``clip_len`` and the metainfo's per-sample keys
        (``flip_indices`` …). ``stack_keypoints`` turns the list into [T, K, 3].
    """
    meta, spec = _meta(model, TASK_VIDEO3D)
    clip_len = int(clip_len or spec.num_frames)
    if clip_len < 1 or batch_size < 1:
        raise ValueError(f'clip_len and batch_size must be >= 1, got {clip_len}, '
                         f'{batch_size}')
    clip, shapes = load_frames(frames, spec.input_size, channel_order, return_shapes=True)
    starts = window_starts(len(clip), clip_len)
    total = count = None
    for first in range(0, len(starts), batch_size):
        batch = starts[first:first + batch_size]
        items = [dict(inputs=_window(clip, s, clip_len)) for s in batch]
        for start, sample in zip(batch, _predict(model, items)):
            pred = sample.pred_joints_3d.cpu().numpy().astype(np.float64)
            if total is None:
                total = np.zeros((len(clip), *pred.shape[1:]))
                count = np.zeros(len(clip))
            end = min(start + clip_len, len(clip))
            total[start:end] += pred[:end - start]
            count[start:end] += 1
    joints = total / count[:, None, None] * 1000.0
    return pose3d_samples(joints, None, [
        dict(frame_idx=t, img_shape=shapes[t], input_size=tuple(spec.input_size),
             clip_len=clip_len) for t in range(len(clip))], meta)


def pose3d_samples(joints_mm: np.ndarray, scores: Optional[np.ndarray],
                   frame_meta: Sequence[dict], dataset_meta: dict,
                   **fields: np.ndarray) -> List[PoseDataSample]:
    """One ``PoseDataSample`` per frame from 3D joints of one person per frame.

    Args:
        joints_mm: [T, K, 3] millimetres.
        scores: [T, K] per-joint scores, or None (ones).
        frame_meta: T dicts, each frame's metainfo.
        dataset_meta: parsed metainfo; its per-sample keys (``flip_indices`` …) are
            added to every frame's metainfo, as ``inference_topdown`` does.
        **fields: more per-frame instance fields, arrays [T, ...] (e.g.
            ``keypoints_2d`` [T, K, 2]).

    Returns:
        list of T samples; ``pred_instances.keypoints`` float32 [1, K, 3],
        ``keypoint_scores`` float32 [1, K] and each of ``fields`` as [1, ...].
    """
    joints = np.asarray(joints_mm, np.float32)
    if scores is None:
        scores = np.ones(joints.shape[:2], np.float32)
    samples = []
    for t, info in enumerate(frame_meta):
        sample = PoseDataSample(metainfo=add_metainfo_to_info(dict(info), dataset_meta))
        sample.pred_instances = InstanceData(
            keypoints=joints[t:t + 1],
            keypoint_scores=np.asarray(scores[t:t + 1], np.float32),
            **{key: value[t:t + 1] for key, value in fields.items()})
        samples.append(sample)
    return samples


def stack_keypoints(samples: Sequence[PoseDataSample],
                    field: str = 'keypoints') -> np.ndarray:
    """Per-frame samples of one person each (``inference_video3d``,
    ``inference_lifting``, ``inference_two_stage``) → one array over frames.

    Args:
        samples: T samples, each with exactly one instance in ``pred_instances``.
        field (str): the instance field to stack ('keypoints', 'keypoint_scores',
            'keypoints_2d' …).

    Returns:
        np.ndarray [T, ...]: e.g. [T, K, 3] mm for 'keypoints' of 3D samples.
        (``merge_data_samples`` is for the people of one image: N instances in one
        sample.)

    Raises:
        ValueError: no samples, or a sample without ``field`` or with other than
            one instance (its index named).
    """
    if not len(samples):
        raise ValueError('stack_keypoints needs at least one sample')
    rows = []
    for t, sample in enumerate(samples):
        instances = sample.get('pred_instances')
        if instances is None or field not in instances or len(instances) != 1:
            have = 'no pred_instances' if instances is None else \
                f'{len(instances)} instances with fields {sorted(instances.keys())}'
            raise ValueError(f'stack_keypoints: sample {t} needs one instance with '
                             f'pred_instances.{field}; it has {have}')
        rows.append(np.asarray(instances.get(field)))
    return np.concatenate(rows)
