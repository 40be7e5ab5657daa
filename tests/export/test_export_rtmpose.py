"""RTMPose deployed: an MMPose config + checkpoint, as they are, exported to ONNX and
run by ONNX Runtime.

The fixture is ``tests/fixtures/mmpose/rtmpose_t`` (made by MMPose 1.3.2; see the
README there). ``tools/export_onnx.py`` must write a graph ``image`` float32
[B, 3, H, W] (RGB 0..255, normalisation inside) → ``simcc_x`` [B, K, Wx], ``simcc_y``
[B, K, Hy], whose outputs equal PyTorch's and MMPose's within 1e-4 of their range; the
ONNX Runtime backend (``init_model(..., backend='onnxruntime')``) must give MMPose's
reference keypoints with the config's flip test on, with the thresholds of
``tests/apis/test_mmpose_equal.py``.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tool_loader import load_tool

from hpekit.apis import inference_topdown, init_model

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'mmpose'
CONFIG = str(FIXTURES / 'rtmpose_t.py')
CHECKPOINT = str(FIXTURES / 'rtmpose_t.pth')
IMAGES = json.loads((FIXTURES / 'images.json').read_text(encoding='utf-8'))


@pytest.fixture(scope='module')
def ref():
    return np.load(FIXTURES / 'rtmpose_t.npz')


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """``tools/export_onnx.py CONFIG CHECKPOINT --out rtmpose_t.onnx`` (with its
    onnxruntime parity check)."""
    pytest.importorskip('onnxruntime')
    out = tmp_path_factory.mktemp('rtmpose_export') / 'rtmpose_t.onnx'
    info = load_tool('export_onnx').main([CONFIG, CHECKPOINT, '--out', str(out)])
    return out, info


def within_range(got, want, name):
    tol = 1e-4 * float(want.max() - want.min())
    np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=name)


def test_tool_writes_a_simcc_graph_and_checks_it(exported):
    import onnxruntime as ort  # optional dependency (skipped in `exported` without it)
    out, info = exported
    meta = json.loads(out.with_suffix('.json').read_text())
    assert meta['outputs'] == info['outputs'] == ['simcc_x', 'simcc_y']
    assert meta['input'] == 'image' and meta['input_layout'] == '[B, 3, H, W] RGB 0..255'
    assert meta['channel_order'] == 'rgb' and meta['num_keypoints'] == 17
    assert meta['input_shape'] == [1, 3, 128, 96]
    assert meta['output_shapes'] == [[1, 17, 192], [1, 17, 256]]
    assert meta['dynamic_axes'] == {name: {'0': 'batch'}
                                    for name in ('image', 'simcc_x', 'simcc_y')}
    check = meta['check']
    assert check['passed'] is True and check['input_shape'] == [2, 3, 128, 96]
    assert set(check['outputs']) == {'simcc_x', 'simcc_y'}   # each output compared
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    (graph_input, ) = session.get_inputs()
    assert graph_input.name == 'image' and graph_input.shape[1:] == [3, 128, 96]
    assert [o.name for o in session.get_outputs()] == ['simcc_x', 'simcc_y']


def test_graph_outputs_equal_pytorchs_and_mmposes(exported, ref):
    """The fixture's network inputs (normalised by MMPose) turned back into pixels: the
    graph normalises them itself and gives PyTorch's and MMPose's SimCC vectors."""
    import onnxruntime as ort  # optional dependency (skipped in `exported` without it)
    out, _ = exported
    model = init_model(CONFIG, CHECKPOINT)
    mean = np.asarray(model.spec.mean, np.float32)[:, None, None]
    std = np.asarray(model.spec.std, np.float32)[:, None, None]
    pixels = (ref['inputs'] * std + mean).astype(np.float32)
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    simcc_x, simcc_y = session.run(['simcc_x', 'simcc_y'], {'image': pixels})
    with torch.no_grad():
        torch_x, torch_y = model(torch.from_numpy(ref['inputs']), mode='tensor')
    for name, got, torch_out in (('simcc_x', simcc_x, torch_x), ('simcc_y', simcc_y, torch_y)):
        assert got.shape == ref[name].shape, name
        within_range(got, torch_out.numpy(), f'{name}: ONNX Runtime vs PyTorch')
        within_range(got, ref[name], f'{name}: ONNX Runtime vs MMPose')


def keypoint_errors(model, ref):
    errors, score_errors = [], []
    for image, entry in IMAGES.items():
        samples = inference_topdown(model, str(FIXTURES / entry['file']),
                                    ref[f'bboxes_{image}'], bbox_format='xyxy')
        keypoints = np.concatenate([s.pred_instances.keypoints for s in samples])
        scores = np.concatenate([s.pred_instances.keypoint_scores for s in samples])
        assert keypoints.shape == ref[f'keypoints_{image}'].shape
        errors.append(np.linalg.norm(keypoints - ref[f'keypoints_{image}'], axis=-1).ravel())
        score_errors.append(np.abs(scores - ref[f'keypoint_scores_{image}']).ravel())
    return np.concatenate(errors), np.concatenate(score_errors)


def test_onnxruntime_backend_gives_mmposes_keypoints_with_flip_test(tmp_path, ref):
    pytest.importorskip('onnxruntime')
    from hpekit.apis.onnxruntime_backend import OnnxRuntimeEstimator
    model = init_model(CONFIG, CHECKPOINT, backend='onnxruntime', onnx_cache_dir=str(tmp_path))
    assert isinstance(model, OnnxRuntimeEstimator)
    assert model.output_names == ['simcc_x', 'simcc_y']
    assert model.test_cfg['flip_test'] is True   # the MMPose config's test_cfg
    errors, score_errors = keypoint_errors(model, ref)
    assert np.median(errors) <= 0.05
    assert np.mean(errors <= 0.5) >= 0.97
    assert score_errors.max() <= 1e-3
    # The reference depends on the flip test: without it the scores move, so the
    # check above did run the mirrored crops through the graph.
    model.torch_model.test_cfg['flip_test'] = False
    _, score_errors = keypoint_errors(model, ref)
    assert score_errors.max() > 1e-2


def test_tool_refuses_a_nan_in_the_second_output(tmp_path):
    """One NaN weight in ``cls_y`` makes ``simcc_y`` NaN while ``simcc_x`` is fine:
    the parity check must see it (a Python ``max`` over the outputs dropped it)."""
    pytest.importorskip('onnxruntime')
    checkpoint = torch.load(CHECKPOINT, weights_only=True)
    checkpoint['state_dict']['head.cls_y.weight'][3, 0] = float('nan')
    bad = tmp_path / 'nan_y.pth'
    torch.save(checkpoint, bad)
    out = tmp_path / 'bad.onnx'
    with pytest.warns(UserWarning, match='NaN'), pytest.raises(SystemExit, match='NaN/Inf'):
        load_tool('export_onnx').main([CONFIG, str(bad), '--out', str(out),
                                       '--allow-nonfinite-weights'])
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
