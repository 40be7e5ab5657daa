"""hpekit's native RTMDet equals MMDetection 3.3.0's (tests/fixtures/mmdet, made by
MMDetection itself from small-width variants of its configs and checkpoints).

The models are built from the fixture configs (MMDetection's dumped configs) through
``translate_mmdet_config`` and load the fixture checkpoints unchanged. Compared: the
test pipeline's pixels, ``mode='tensor'`` outputs, ``inference_detector``'s boxes /
scores / labels, the ONNX Runtime path, and the person boxes of MMPose's demo filter.
NMS is checked against a brute-force reference written here.
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from hpekit.apis.detectors import (detect, init_detector, onnxruntime_detector,
                                   prepare_detector_input)
from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.config.mmdet import (COCO_CLASSES, MMDetConfigError, check_mmdet_bases,
                                 is_mmdet_config, translate_mmdet_config)
from hpekit.core.nms import batched_nms, box_iou, nms
from hpekit.registry import PERSON_DETECTORS

FIXTURES = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'fixtures', 'mmdet')
VARIANTS = ('rtmdet_tiny_coco', 'rtmdet_m_person')


def fixture(name, ext):
    return osp.join(FIXTURES, f'{name}.{ext}')


@pytest.fixture(scope='module')
def scene_bgr():
    img = cv2.imread(osp.join(FIXTURES, 'scene.png'))
    assert img is not None and img.shape == (150, 200, 3)
    return img


@pytest.fixture(scope='module', params=VARIANTS)
def variant(request):
    name = request.param
    return name, init_detector(fixture(name, 'py'), fixture(name, 'pth')), \
        np.load(fixture(name, 'npz'))


# ------------------------------------------------------------------- translation
def test_translation_builds_mmdetection_parts():
    cfg = Config.fromfile(fixture('rtmdet_m_person', 'py'))
    assert is_mmdet_config(cfg)
    out = translate_mmdet_config(cfg)
    assert out.default_scope == 'hpekit'
    model = out.model
    assert (model.type, model.backbone.type, model.neck.type, model.bbox_head.type) == \
        ('RTMDet', 'CSPNeXt', 'CSPNeXtPAFPN', 'RTMDetSepBNHead')
    assert model.backbone.norm_cfg.type == 'BN' and 'init_cfg' not in model.backbone
    assert 'loss_cls' not in model.bbox_head and model.bbox_head.exp_on_reg is True
    assert model.test_cfg == dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                                  nms=dict(iou_threshold=0.6, type='nms'), max_per_img=100)
    assert model.data_preprocessor.bgr_to_rgb is False
    assert out.test_pipeline == [
        dict(type='Resize', scale=(192, 160), keep_ratio=True),
        dict(type='Pad', size=(192, 160), size_divisor=None, pad_to_square=False,
             pad_val=(114, 114, 114))]
    assert out.metainfo.classes == ('person', )
    coco = translate_mmdet_config(Config.fromfile(fixture('rtmdet_tiny_coco', 'py')))
    assert coco.metainfo.classes == COCO_CLASSES and len(COCO_CLASSES) == 80
    # MMDetection's CocoDataset names, as its checkpoints carry them
    meta = load_checkpoint_file(fixture('rtmdet_tiny_coco', 'pth'))['meta']['dataset_meta']
    assert tuple(meta['classes']) == COCO_CLASSES


@pytest.mark.parametrize('key, value, named', [
    ('model.bbox_head.type', 'RTMDetHead', 'model.bbox_head.type'),
    ('model.bbox_head.with_objectness', True, 'model.bbox_head.with_objectness'),
    ('model.neck.type', 'YOLOXPAFPN', 'model.neck.type'),
    ('model.bbox_head.loss_cls.use_sigmoid', False, 'model.bbox_head.loss_cls.use_sigmoid'),
    ('model.test_cfg.nms.type', 'soft_nms', 'model.test_cfg.nms'),
    ('model.backbone.frozen', 1, 'model.backbone.frozen'),
    ('test_dataloader.dataset.pipeline.1.type', 'RandomFlip',
     'test_dataloader.dataset.pipeline[1].type'),
    ('test_dataloader.dataset.metainfo', dict(classes=('a', 'b')),
     'test_dataloader.dataset.metainfo.classes'),
])
def test_translation_refuses_what_it_cannot_build(key, value, named):
    cfg = Config.fromfile(fixture('rtmdet_m_person', 'py'))
    cfg.merge_from_dict({key: value})
    with pytest.raises(MMDetConfigError, match=named.replace('[', r'\[').replace(']', r'\]')) \
            as err:
        translate_mmdet_config(cfg)
    assert 'rtmdet_m_person.py' in str(err.value)


def test_a_config_inheriting_mmdet_package_configs_needs_mmdet(tmp_path, monkeypatch):
    path = tmp_path / 'person.py'
    path.write_text("_base_ = 'mmdet::rtmdet/rtmdet_m_8xb32-300e_coco.py'\n")
    monkeypatch.setattr('importlib.util.find_spec', lambda name: None)
    with pytest.raises(MMDetConfigError, match=r"person.py: _base_: .*pip install mmdet"):
        check_mmdet_bases(path)
    check_mmdet_bases(fixture('rtmdet_m_person', 'py'))   # a dumped config is complete


def test_init_detector_refuses_a_pose_config():
    with pytest.raises(ValueError, match='not a detector config'):
        init_detector(Config(dict(model=dict(type='TopDownPoseEstimator'))))


# ------------------------------------------------------------------ equality
def test_checkpoint_loads_unchanged(variant):
    name, model, _ = variant
    state = load_checkpoint_file(fixture(name, 'pth'))['state_dict']
    ours = model.state_dict()
    assert list(state) == list(ours)
    assert all(torch.equal(state[k], ours[k]) for k in state)
    # shared head convs: one tensor under every level's name
    head = model.bbox_head
    assert head.cls_convs[2][0].conv.weight is head.cls_convs[0][0].conv.weight
    assert head.cls_convs[2][0].bn is not head.cls_convs[0][0].bn


def test_pipeline_equals_mmdetection(variant, scene_bgr):
    _, model, ref = variant
    pixels, meta = prepare_detector_input(scene_bgr, model.cfg.test_pipeline)
    np.testing.assert_array_equal(pixels.numpy(), ref['pipeline_image'])
    assert meta['img_shape'] == tuple(ref['img_shape'].astype(int))
    assert meta['ori_shape'] == tuple(ref['ori_shape'].astype(int))
    np.testing.assert_allclose(meta['scale_factor'], ref['scale_factor'], rtol=1e-6)


def _tensor_outputs(model, ref):
    pixels = torch.from_numpy(ref['pipeline_image'])
    inputs = model.data_preprocessor(dict(inputs=[pixels], data_samples=None))['inputs']
    with torch.no_grad():
        return model(inputs, mode='tensor')


def test_tensor_outputs_equal_mmdetection(variant):
    _, model, ref = variant
    cls_scores, bbox_preds = _tensor_outputs(model, ref)
    assert len(cls_scores) == len(bbox_preds) == 3
    for level in range(3):
        for key, out in ((f'cls_score_{level}', cls_scores[level]),
                         (f'bbox_pred_{level}', bbox_preds[level])):
            want = ref[key]
            assert out.shape == want.shape, key
            tol = 1e-4 * (want.max() - want.min())
            np.testing.assert_allclose(out.numpy(), want, rtol=0, atol=tol, err_msg=key)


def test_predictions_equal_mmdetection(variant, scene_bgr):
    _, model, ref = variant
    bboxes, scores, labels = detect(model, scene_bgr)
    assert len(ref['bboxes']) > 10   # a real test: many boxes survive the NMS
    assert bboxes.shape == ref['bboxes'].shape
    np.testing.assert_allclose(bboxes, ref['bboxes'], rtol=0, atol=1e-3)
    np.testing.assert_allclose(scores, ref['scores'], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(labels, ref['labels'])


def test_person_detector_equals_mmpose_demo(variant, scene_bgr):
    """RGB in (hpekit's convention), MMPose's demo's person boxes out (which fed the
    BGR frame to MMDetection)."""
    name, _, ref = variant
    detector = PERSON_DETECTORS.build(dict(type='RTMDetPersonDetector',
                                           config=fixture(name, 'py'),
                                           checkpoint=fixture(name, 'pth')))
    boxes, scores = detector(np.ascontiguousarray(scene_bgr[..., ::-1]), 'scene.png')
    assert len(ref['person_boxes']) >= 3
    np.testing.assert_allclose(boxes, ref['person_boxes'], rtol=0, atol=1e-3)
    np.testing.assert_allclose(scores, ref['person_scores'], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match='uint8'):
        detector(scene_bgr.astype(np.float32))


def test_no_detection_above_the_threshold_gives_empty_results(variant):
    _, model, ref = variant
    cls_scores, bbox_preds = _tensor_outputs(model, ref)
    meta = dict(img_shape=tuple(ref['img_shape']), scale_factor=tuple(ref['scale_factor']))
    cfg = dict(model.bbox_head.test_cfg, score_thr=1.0)
    bboxes, scores, labels = model.bbox_head.postprocess(
        [c[0].numpy() for c in cls_scores], [b[0].numpy() for b in bbox_preds], meta,
        test_cfg=cfg)
    assert bboxes.shape == (0, 4) and scores.shape == labels.shape == (0, )


def test_person_class_must_exist():
    with pytest.raises(ValueError, match='person_class=1'):
        PERSON_DETECTORS.build(dict(type='RTMDetPersonDetector',
                                    config=fixture('rtmdet_m_person', 'py'), person_class=1))


def test_onnxruntime_equals_eager(tmp_path, scene_bgr):
    pytest.importorskip('onnxruntime')
    name = 'rtmdet_tiny_coco'
    model = init_detector(fixture(name, 'py'), fixture(name, 'pth'))
    ort_model = onnxruntime_detector(model, fixture(name, 'pth'), cache_dir=str(tmp_path))
    ref = np.load(fixture(name, 'npz'))
    outputs = ort_model.run(ref['pipeline_image'][None].astype(np.float32))
    eager = [t.numpy() for pair in _tensor_outputs(model, ref) for t in pair]
    for got, want in zip(outputs, eager):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * (want.max() - want.min()))
    got, want = detect(ort_model, scene_bgr), detect(model, scene_bgr)
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=1e-3)
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(got[2], want[2])
    assert len(list(tmp_path.glob('*.onnx'))) == 1


# ------------------------------------------------------------------------- NMS
def brute_force_nms(boxes, scores, labels, thr, offset=0):
    """Greedy NMS by definition, in Python floats: visit by score (ties: index order);
    keep a box unless a kept box of its class overlaps it with IoU > thr."""
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + offset)
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + offset)
        union = (a[2] - a[0] + offset) * (a[3] - a[1] + offset) + \
            (b[2] - b[0] + offset) * (b[3] - b[1] + offset) - w * h
        return w * h / union
    kept = []
    for i in sorted(range(len(boxes)), key=lambda i: (-scores[i], i)):
        if all(labels[j] != labels[i] or iou(boxes[j], boxes[i]) <= thr for j in kept):
            kept.append(i)
    return kept


def random_boxes(rng, n, classes):
    centres = rng.uniform(0, 100, (5, 2))[rng.integers(0, 5, n)] + rng.normal(0, 4, (n, 2))
    sizes = rng.uniform(5, 30, (n, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], 1)
    return boxes, rng.random(n), rng.integers(0, classes, n)


@pytest.mark.parametrize('seed, classes, thr', [(0, 1, 0.5), (1, 3, 0.3), (2, 4, 0.65)])
def test_batched_nms_equals_brute_force(seed, classes, thr):
    boxes, scores, labels = random_boxes(np.random.default_rng(seed), 80, classes)
    want = brute_force_nms(boxes, scores, labels, thr)
    assert 0 < len(want) < len(boxes)   # something was suppressed, something kept
    assert batched_nms(boxes, scores, labels, thr).tolist() == want
    agnostic = brute_force_nms(boxes, scores, np.zeros(len(boxes)), thr)
    assert batched_nms(boxes, scores, labels, thr, class_agnostic=True,
                       max_num=5).tolist() == agnostic[:5]


def test_nms_with_mmpose_pixel_offset_equals_brute_force():
    boxes, scores, _ = random_boxes(np.random.default_rng(3), 60, 1)
    boxes = np.round(boxes)
    want = brute_force_nms(boxes, scores, np.zeros(len(boxes)), 0.3, offset=1)
    assert want != brute_force_nms(boxes, scores, np.zeros(len(boxes)), 0.3)
    assert nms(boxes, scores, 0.3, offset=1).tolist() == want


def test_nms_edge_cases():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 5], [5, 5, 5, 5]],
                     np.float32)
    scores = np.array([0.5, 0.5, 0.9, 0.1], np.float32)
    # IoU exactly 0.5 is kept (> thr suppresses); ties keep input order; empty boxes stay
    assert nms(boxes, scores, 0.5).tolist() == [2, 0, 3]
    assert nms(boxes, scores, 0.49).tolist() == [2, 3]
    np.testing.assert_allclose(box_iou(boxes[0], boxes), [1, 1, 0.5, 0])
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).tolist() == []
    with pytest.raises(ValueError, match=r'boxes must be \[N, 4\]'):
        nms(np.zeros((3, 5)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match='scores must be'):
        nms(np.zeros((3, 4)), np.zeros(2), 0.5)
