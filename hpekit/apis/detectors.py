"""Person detectors for top-down inference, registered in ``PERSON_DETECTORS``.

A detector is any callable ``detector(image, name) -> (boxes, scores)``: ``image``
uint8 [H, W, 3] RGB, ``name`` the image's file name (or a frame label, or None);
``boxes`` float [N, 4] xyxy image px (the image spans [0, W] × [0, H]), ``scores``
float [N]. Register your own (e.g. one running an ONNX model file you supply) with
``@PERSON_DETECTORS.register_module()`` and name it in ``PoseInferencer(detector=
dict(type='YourDetector', ...))``.

A learned detector: ``RTMDetPersonDetector`` runs MMDetection 3.x's RTMDet (its configs
and checkpoints as they are, ``hpekit.config.mmdet``) natively, in PyTorch or ONNX
Runtime. ``init_detector`` / ``inference_detector`` mirror MMDetection's functions.

Channel order: MMDetection (and MMPose's demos, which read frames with OpenCV) feed
RTMDet **BGR** images — its configs normalise with the BGR mean and do not convert
(``bgr_to_rgb=False``). ``inference_detector`` therefore takes BGR arrays (or reads
files as BGR), as MMDetection's does, while the ``PERSON_DETECTORS`` entries take RGB
like every hpekit detector and reverse the channels before the model.
"""
import json
import os
import os.path as osp
import secrets
import warnings
from contextlib import suppress
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from hpekit.apis.model import load_weights
from hpekit.apis.onnxruntime_backend import cache_path
from hpekit.config.mmdet import check_mmdet_bases, is_mmdet_config, translate_mmdet_config
from hpekit.config.setup import load_config
from hpekit.core.boxes import to_xyxy
from hpekit.core.nms import nms
from hpekit.models.detectors import RTMDet
from hpekit.registry import MODELS, PERSON_DETECTORS
from hpekit.utils.setup_env import register_all_modules


@PERSON_DETECTORS.register_module()
class WholeImageDetector:
    """One person filling the whole image: box [0, 0, W, H], score 1."""

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        height, width = image.shape[:2]
        return np.array([[0.0, 0.0, width, height]]), np.ones(1)


@PERSON_DETECTORS.register_module()
class GivenBoxesDetector:
    """The same boxes for every image.

    Args:
        bboxes: [N, 4] boxes in ``bbox_format`` ('xyxy' or 'xywh').
    """

    def __init__(self, bboxes: Union[np.ndarray, Sequence[Sequence[float]]],
                 bbox_format: str = 'xyxy') -> None:
        self.boxes = to_xyxy(bboxes, bbox_format)

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        return self.boxes.copy(), np.ones(len(self.boxes))


@PERSON_DETECTORS.register_module()
class DetectionsFileDetector:
    """Boxes from a COCO-style detection results file, matched by image file name.

    Args:
        det_file (str): JSON list of ``{'image_id', 'category_id', 'bbox' [x, y, w, h],
            'score'}`` records; ``image_id`` is the image's file name (or, with
            ``ann_file``, a COCO image id resolved through the annotation file).
        score_thr (float): keep detections scoring at least this.
        category_id (int): the person category (COCO's 1).
        ann_file (str, optional): COCO annotation file mapping ids to file names.

    An image without detections gives no box (and so no pose).
    """

    def __init__(self, det_file: str, score_thr: float = 0.0, category_id: int = 1,
                 ann_file: Optional[str] = None) -> None:
        records = _read_json_list(det_file)
        names = _image_names(ann_file) if ann_file else {}
        self.boxes = {}
        for i, rec in enumerate(records):
            try:
                if rec.get('category_id', category_id) != category_id or \
                        float(rec.get('score', 1.0)) < score_thr:
                    continue
                x, y, w, h = (float(v) for v in rec['bbox'])
                key = names.get(rec['image_id'], rec['image_id'])
                score = float(rec.get('score', 1.0))
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f'{det_file}: record {i}: expected image_id, bbox [x, y, '
                                 f'w, h] and score, found {rec!r:.120} ({err})') from None
            self.boxes.setdefault(osp.basename(str(key)), []).append((x, y, x + w, y + h,
                                                                      score))

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        found = np.array(self.boxes.get(osp.basename(str(name)), []), np.float64)
        if found.size == 0:
            return np.zeros((0, 4)), np.zeros(0)
        return found[:, :4], found[:, 4]


def _read_json_list(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'detections file not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON: {err}') from None
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a JSON list of detections, found '
                         f'{type(data).__name__}')
    return data


def _image_names(ann_file):
    with open(ann_file, encoding='utf-8') as f:
        images = json.load(f).get('images', [])
    return {img['id']: img['file_name'] for img in images}


Detector = Callable[[np.ndarray, Optional[str]], Tuple[np.ndarray, np.ndarray]]


# ---------------------------------------------------------------- RTMDet (MMDetection)
def init_detector(config: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu',
                  cfg_options: Optional[Dict[str, Any]] = None) -> RTMDet:
    """Build a detector from an MMDetection 3.x RTMDet config (or its hpekit
    translation) and load a checkpoint — MMDetection's ``init_detector``.

    Args:
        config: config file or loaded Config; an MMDetection config
            (``default_scope='mmdet'``) is translated (``translate_mmdet_config``).
        checkpoint: local checkpoint (MMDetection's, loaded unchanged and strictly
            with hpekit's safe loader). None: random weights.
        device: where the model runs.
        cfg_options: dotted keys to override in the config as given (MMDetection's
            keys for an MMDetection config), as ``--cfg-options``.

    Returns:
        ``RTMDet`` in eval mode with ``cfg`` (the translated config) and
        ``dataset_meta`` ({'classes': names; 'class_<i>' when the config has none}).

    Raises:
        MMDetConfigError: a part hpekit cannot build; ValueError: not a detector
        config; CheckpointError: an unreadable or mismatching checkpoint.
    """
    register_all_modules()
    cfg = _detector_config(config, cfg_options)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    classes = (cfg.get('metainfo') or {}).get('classes')
    num_classes = model.bbox_head.num_classes
    model.dataset_meta = dict(classes=tuple(classes) if classes else
                              tuple(f'class_{i}' for i in range(num_classes)))
    model.cfg = cfg
    return model.to(device).eval()


def _detector_config(config, cfg_options):
    if isinstance(config, (str, os.PathLike)):
        check_mmdet_bases(config)
        cfg = load_config(os.fspath(config), cfg_options)
    elif isinstance(config, Config):
        cfg = config.copy()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        raise TypeError(f'config must be a file path or an mmengine Config, got '
                        f'{type(config).__name__}')
    if is_mmdet_config(cfg):
        cfg = translate_mmdet_config(cfg, cfg.filename)
    model_type = (cfg.get('model') or {}).get('type')
    if model_type != 'RTMDet' or 'test_pipeline' not in cfg:
        raise ValueError(f'{cfg.filename}: not a detector config: expected an MMDetection '
                         f"RTMDet config (default_scope='mmdet') or its hpekit translation "
                         f'(model.type RTMDet and a test_pipeline), got model.type '
                         f'{model_type!r}')
    return cfg


def _resize(img: np.ndarray, step: dict, meta: dict) -> np.ndarray:
    """MMDetection's ``Resize`` (mmcv's): keep-ratio sizes int(side · f + 0.5), bilinear."""
    height, width = img.shape[:2]
    scale = step['scale']
    if step.get('keep_ratio', False):
        factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
        size = (int(width * factor + 0.5), int(height * factor + 0.5))
    else:
        size = (int(scale[0]), int(scale[1]))
    img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    meta.update(img_shape=img.shape[:2], scale_factor=(size[0] / width, size[1] / height))
    return img


def _pad(img: np.ndarray, step: dict, meta: dict) -> np.ndarray:
    """MMDetection's ``Pad``: bottom and right, to ``size`` (W, H), a multiple of
    ``size_divisor`` or a square; the padded size becomes ``img_shape``."""
    height, width = img.shape[:2]
    target = None
    if step.get('pad_to_square'):
        target = (max(height, width), ) * 2
    if step.get('size_divisor'):
        div = step['size_divisor']
        target = target or (height, width)
        target = (-(-target[0] // div) * div, -(-target[1] // div) * div)
    elif step.get('size') is not None:
        target = (step['size'][1], step['size'][0])
    if target is None:
        return img
    out = np.empty((max(target[0], height), max(target[1], width), img.shape[2]), img.dtype)
    out[...] = step.get('pad_val', 0)
    out[:height, :width] = img
    meta.update(img_shape=out.shape[:2], pad_shape=out.shape)
    return out


def prepare_detector_input(image: np.ndarray, pipeline: Sequence[dict]
                           ) -> Tuple[torch.Tensor, dict]:
    """MMDetection's test pipeline (``Resize``, ``Pad`` of the translated config) on
    one image.

    Args:
        image: uint8 [H, W, 3] in the detector's input channel order (BGR for
            MMDetection's RTMDet configs).
        pipeline: the config's ``test_pipeline``.

    Returns:
        (uint8 tensor [3, H', W'], metainfo: ``ori_shape`` (H, W), ``img_shape``
        (H', W', the padded size as MMDetection's ``Pad`` records it),
        ``scale_factor`` (w, h) of the resize).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
        raise ValueError(f'expected a uint8 [H, W, 3] image, got '
                         f'{getattr(image, "dtype", type(image))} {np.shape(image)}')
    meta = dict(ori_shape=image.shape[:2], img_shape=image.shape[:2], scale_factor=(1.0, 1.0))
    steps = dict(Resize=_resize, Pad=_pad)
    for i, step in enumerate(pipeline):
        if step.get('type') not in steps:
            raise ValueError(f'test_pipeline[{i}]: unknown step {step.get("type")!r} '
                             f'(known: {", ".join(steps)})')
        image = steps[step['type']](image, step, meta)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))), meta


def _read_bgr(image: Union[str, np.ndarray]) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return image
    img = cv2.imread(os.fspath(image), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {image} (missing or not an image)')
    return img


@torch.no_grad()
def inference_detector(model: RTMDet, imgs: Union[str, np.ndarray, Sequence[Any]]
                       ) -> Union[BaseDataElement, List[BaseDataElement]]:
    """Detect objects in images — MMDetection's ``inference_detector``.

    Args:
        model: from ``init_detector``.
        imgs: an image file (read as BGR) or a uint8 [H, W, 3] **BGR** array, or a
            list of them.

    Returns:
        Per image a data sample with ``pred_instances`` (``bboxes`` float32 [N, 4] xyxy
        original px, ``scores`` [N], ``labels`` int64 [N], best first) and the
        pipeline's metainfo; a list for a list.
    """
    batch = isinstance(imgs, (list, tuple))
    results = []
    for img in (imgs if batch else [imgs]):
        inputs, meta = prepare_detector_input(_read_bgr(img), model.cfg.test_pipeline)
        sample = BaseDataElement(metainfo=meta)
        results.append(model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0])
    return results if batch else results[0]


class _ExportedDetector(torch.nn.Module):
    def __init__(self, model: RTMDet) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.model.export_forward(pixels)


def detector_output_names(model: RTMDet) -> List[str]:
    """The exported graph's outputs: ``cls_score_<l>`` then ``bbox_pred_<l>``."""
    levels = range(len(model.bbox_head.strides))
    return [f'cls_score_{i}' for i in levels] + [f'bbox_pred_{i}' for i in levels]


def export_detector_onnx(model: RTMDet, out_file: str,
                         input_shape: Optional[Sequence[int]] = None,
                         opset: int = 17) -> Dict[str, Any]:
    """Export the detector's tensor forward to ONNX, atomically.

    The graph takes ``image`` float32 [B, 3, H, W]: pixels 0..255 in the model's input
    channel order (**BGR** for MMDetection's configs), after the test pipeline's
    resize and pad; it normalises them and returns MMDetection's per-level outputs
    ``cls_score_<l>`` [B, C, H/s, W/s] (logits) and ``bbox_pred_<l>`` [B, 4, H/s,
    W/s] (distances in input px). Batch, height and width are dynamic. The
    post-processing runs outside the graph (``OnnxRuntimeDetector``).

    Args:
        model: from ``init_detector``.
        out_file: the .onnx path (written to a temporary name, then renamed).
        input_shape: example shape; default (1, 3, H, W) of a ``Pad(size=…)`` in the
            test pipeline, else (1, 3, 320, 320).
        opset: ONNX opset.

    Returns:
        dict: ``input``, ``outputs``, ``input_shape``, ``channel_order``, ``opset``.
    """
    if input_shape is None:
        input_shape = (1, 3, 320, 320)
        for step in model.cfg.get('test_pipeline', []):
            if step.get('type') == 'Pad' and step.get('size') is not None:
                input_shape = (1, 3, step['size'][1], step['size'][0])
    names = detector_output_names(model)
    axes = {'image': {0: 'batch', 2: 'height', 3: 'width'},
            **{n: {0: 'batch', 2: f'{n}_height', 3: f'{n}_width'} for n in names}}
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(out_file)}.{secrets.token_hex(6)}.tmp')
    device = next(model.parameters()).device
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')   # tracer warnings, deprecations
            torch.onnx.export(_ExportedDetector(model).eval(),
                              (torch.rand(*input_shape, device=device) * 255, ), tmp,
                              dynamo=False, input_names=['image'], output_names=names,
                              dynamic_axes=axes, opset_version=opset)
        model.eval()
        os.replace(tmp, out_file)
    finally:
        with suppress(FileNotFoundError):
            os.remove(tmp)
    return dict(input='image', outputs=names, input_shape=list(input_shape),
                channel_order=model.input_channel_order, opset=opset)


class OnnxRuntimeDetector:
    """An exported RTMDet run by ONNX Runtime, post-processed in numpy.

    Args:
        model: the PyTorch detector (from ``init_detector``): its config, test
            pipeline, classes and head post-processing are used; its weights are in
            the graph.
        onnx_file: the graph ``export_detector_onnx`` wrote for it.
        device: 'cpu', or 'cuda' where onnxruntime has the CUDA provider.
        threads: intra-op threads; default ``torch.get_num_threads()``.
    """

    backend = 'onnxruntime'

    def __init__(self, model: RTMDet, onnx_file: str, device: str = 'cpu',
                 threads: Optional[int] = None) -> None:
        try:
            import onnxruntime as ort  # optional dependency (extra "onnx")
        except ImportError as err:
            raise ImportError("backend='onnxruntime' needs onnxruntime: pip install "
                              'onnxruntime') from err
        self.torch_model = model.eval()
        self.onnx_file = onnx_file
        self.cfg = model.cfg
        self.dataset_meta = model.dataset_meta
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        providers = ['CPUExecutionProvider']
        if torch.device(device).type == 'cuda' and \
                'CUDAExecutionProvider' in ort.get_available_providers():
            providers.insert(0, 'CUDAExecutionProvider')
        self.session = ort.InferenceSession(onnx_file, options, providers=providers)
        self.output_names = detector_output_names(model)

    def run(self, pixels: np.ndarray) -> List[np.ndarray]:
        """float32 [B, 3, H, W] pixels → the graph's outputs (see ``export_detector_onnx``)."""
        return self.session.run(self.output_names,
                                {'image': np.ascontiguousarray(pixels, np.float32)})

    def detect(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One uint8 [H, W, 3] BGR image → (bboxes [N, 4] xyxy original px, scores [N],
        labels [N]), as ``inference_detector`` with the PyTorch model."""
        inputs, meta = prepare_detector_input(image, self.cfg.test_pipeline)
        outputs = self.run(inputs[None].numpy().astype(np.float32))
        levels = len(outputs) // 2
        return self.torch_model.bbox_head.postprocess(
            [o[0] for o in outputs[:levels]], [o[0] for o in outputs[levels:]], meta)


def detect(model: Union[RTMDet, OnnxRuntimeDetector], image: np.ndarray
           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One uint8 [H, W, 3] BGR image → (bboxes float32 [N, 4] xyxy original px, scores
    [N], labels int64 [N]) with either backend."""
    if isinstance(model, OnnxRuntimeDetector):
        return model.detect(image)
    pred = inference_detector(model, image).pred_instances
    return pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(), pred.labels.cpu().numpy()


def onnxruntime_detector(model: RTMDet, checkpoint: Optional[str] = None,
                         device: str = 'cpu', cache_dir: Optional[str] = None,
                         opset: int = 17) -> OnnxRuntimeDetector:
    """``model`` exported once (cached like ``init_model(..., backend='onnxruntime')``:
    beside the checkpoint, keyed by its SHA-256 and the model config) and opened in
    ONNX Runtime."""
    path, _, _ = cache_path(model, checkpoint, cache_dir, opset)
    if not osp.isfile(path):
        place = next(model.parameters()).device
        export_detector_onnx(model.cpu(), path, opset=opset)
        model.to(place)
    return OnnxRuntimeDetector(model, path, device=device)


@PERSON_DETECTORS.register_module()
class RTMDetPersonDetector:
    """People found by an MMDetection RTMDet model (COCO-80 or person-only), filtered
    as MMPose's ``topdown_demo_with_mmdet.py`` does: the person class, score above
    ``score_thr``, then NMS at ``nms_thr`` with MMPose's +1 px IoU.

    Args:
        config: MMDetection config file (or Config), e.g. MMPose's
            ``demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py`` dumped, or
            MMDetection's ``rtmdet_tiny_8xb32-300e_coco.py``.
        checkpoint: its checkpoint (MMDetection's, unchanged). None: random weights.
        score_thr: keep detections scoring above this (MMPose demo's ``--bbox-thr``).
        nms_thr: IoU above which the lower-scoring person box is dropped
            (``--nms-thr``).
        person_class: the person's label (0 in COCO-80 and person-only models).
        device: 'cpu' or 'cuda'.
        backend: 'pytorch' or 'onnxruntime' (the graph exported once and cached, see
            ``onnxruntime_detector``).
        onnx_cache_dir: where the ONNX Runtime backend keeps its graph.

    Call with an **RGB** uint8 [H, W, 3] image (hpekit's convention); it is reversed to
    BGR for the model. Returns (boxes float64 [N, 4] xyxy image px, scores [N]).
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None,
                 score_thr: float = 0.3, nms_thr: float = 0.3, person_class: int = 0,
                 device: str = 'cpu', backend: str = 'pytorch',
                 onnx_cache_dir: Optional[str] = None) -> None:
        if backend not in ('pytorch', 'onnxruntime'):
            raise ValueError(f"backend must be 'pytorch' or 'onnxruntime', got {backend!r}")
        model = init_detector(config, checkpoint, device=device)
        num_classes = model.bbox_head.num_classes
        if not 0 <= person_class < num_classes:
            raise ValueError(f'person_class={person_class} is not a class of the detector '
                             f'({num_classes} classes: {model.dataset_meta["classes"][:5]}…)')
        self.model = model if backend == 'pytorch' else onnxruntime_detector(
            model, checkpoint, device=device, cache_dir=onnx_cache_dir)
        self.score_thr, self.nms_thr, self.person_class = score_thr, nms_thr, person_class

    def __call__(self, image: np.ndarray,
                 name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or \
                image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'{name or "image"}: expected a uint8 [H, W, 3] RGB image, got '
                             f'{getattr(image, "dtype", type(image))} {np.shape(image)}')
        bboxes, scores, labels = detect(self.model, np.ascontiguousarray(image[..., ::-1]))
        keep = (labels == self.person_class) & (scores > self.score_thr)
        bboxes, scores = bboxes[keep], scores[keep]
        keep = nms(bboxes, scores, self.nms_thr, offset=1)
        return bboxes[keep].astype(np.float64), scores[keep].astype(np.float64)


def build_detector(cfg: Union[None, Dict[str, Any], Detector]) -> Detector:
    """A detector from a PERSON_DETECTORS config, a callable as it is, or None →
    ``WholeImageDetector``."""
    if cfg is None:
        return WholeImageDetector()
    if callable(cfg) and not isinstance(cfg, dict):
        return cfg
    return PERSON_DETECTORS.build(dict(cfg))
