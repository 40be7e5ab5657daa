"""The OpenVINO inference backend (hpekit.apis.openvino_backend): the ONNX Runtime
backend's cached export run by OpenVINO's CPU plugin, predicting what PyTorch predicts
(flip test included) through the same decoding code, in float32 or — only on a CPU with
native bfloat16 — bfloat16, never a silent fallback."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from exported_backends import (BOXES, MPII_TINY, assert_topdown_equals_pytorch,
                               assert_video_equals_pytorch, image, save_checkpoint)
from tool_loader import load_tool

from hpekit.apis import OpenVinoEstimator, inference_topdown, init_model
from hpekit.apis import onnxruntime_backend
from hpekit.apis.openvino_backend import TBB_NO_DEEPBIND, openvino_model, tbb_safe_environment
from hpekit.runtime.allocator import find_jemalloc
from hpekit.runtime.hardware import native_bfloat16

pytest.importorskip('openvino')

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'mmpose'
RTMPOSE = str(FIXTURES / 'rtmpose_t.py')
RTMPOSE_CKPT = str(FIXTURES / 'rtmpose_t.pth')
NATIVE_BF16 = native_bfloat16()   # (collection time: the real one, not conftest's)


@pytest.fixture(scope='module')
def hourglass(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ov_topdown')
    checkpoint = save_checkpoint(MPII_TINY, tmp / 'hg.pth', seed=0)
    return dict(tmp=tmp, checkpoint=checkpoint, torch=init_model(MPII_TINY, checkpoint),
                ov=init_model(MPII_TINY, checkpoint, backend='openvino'))


@pytest.mark.parametrize('flip_test', [True, False])
def test_heatmap_predictions_equal_pytorch(hourglass, flip_test):
    torch_model, ov_model = hourglass['torch'], hourglass['ov']
    assert isinstance(ov_model, OpenVinoEstimator) and ov_model.backend == 'openvino'
    assert_topdown_equals_pytorch(torch_model, ov_model, flip_test)


def test_float32_is_compiled_as_float32_with_torchs_threads(hourglass):
    """'f32' is asked for explicitly (OpenVINO would pick bf16 on its own on a CPU with
    native bfloat16), and the threads follow torch's unless given."""
    ov_model = hourglass['ov']
    assert ov_model.precision == 'float32' and ov_model.compiled_precision() == 'f32'
    assert ov_model.threads == torch.get_num_threads()
    assert ov_model.compiled.get_property('INFERENCE_NUM_THREADS') == ov_model.threads
    two = OpenVinoEstimator(hourglass['torch'], ov_model.onnx_file, threads=2)
    assert two.compiled.get_property('INFERENCE_NUM_THREADS') == 2


def test_simcc_predictions_equal_pytorch(tmp_path):
    """RTMPose (two SimCC outputs, in the graph's output order) with the MMPose config's
    flip test: OpenVINO's keypoints are PyTorch's (ONNX Runtime's test thresholds)."""
    torch_model = init_model(RTMPOSE, RTMPOSE_CKPT)
    ov_model = init_model(RTMPOSE, RTMPOSE_CKPT, backend='openvino',
                          onnx_cache_dir=str(tmp_path))
    assert ov_model.output_names == ['simcc_x', 'simcc_y']
    assert ov_model.test_cfg['flip_test'] is True
    images = json.loads((FIXTURES / 'images.json').read_text(encoding='utf-8'))
    errors, score_errors = [], []
    for entry in images.values():
        boxes = entry['bboxes_xyxy']
        want, got = (inference_topdown(model, str(FIXTURES / entry['file']), boxes,
                                       bbox_format='xyxy') for model in (torch_model, ov_model))
        for a, b in zip(want, got):
            errors.append(np.linalg.norm(b.pred_instances.keypoints -
                                         a.pred_instances.keypoints, axis=-1).ravel())
            score_errors.append(np.abs(b.pred_instances.keypoint_scores -
                                       a.pred_instances.keypoint_scores).ravel())
    errors, score_errors = np.concatenate(errors), np.concatenate(score_errors)
    assert errors.size == 6 * 17
    assert np.median(errors) <= 0.05
    assert np.mean(errors <= 0.5) >= 0.97
    assert score_errors.max() <= 1e-3


def test_video_predictions_equal_pytorch(tmp_path):
    assert_video_equals_pytorch(tmp_path, 'openvino')


def test_the_export_is_shared_with_onnxruntime(hourglass, monkeypatch):
    """ONNX Runtime opens the graph OpenVINO's init_model exported: no second export."""
    pytest.importorskip('onnxruntime')
    path = Path(hourglass['ov'].onnx_file)
    assert path.parent == hourglass['tmp'] and path.name.startswith('hg.')
    before = path.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError('exported a second time')

    monkeypatch.setattr(onnxruntime_backend, 'export_onnx', no_export)
    ort_model = init_model(MPII_TINY, hourglass['checkpoint'], backend='onnxruntime')
    again = init_model(MPII_TINY, hourglass['checkpoint'], backend='openvino')
    assert ort_model.onnx_file == again.onnx_file == str(path)
    assert path.stat().st_mtime_ns == before
    assert len(list(hourglass['tmp'].glob('*.onnx'))) == 1


@pytest.mark.skipif(NATIVE_BF16, reason='this CPU has native bfloat16')
def test_bfloat16_without_native_support_is_refused(hourglass):
    with pytest.raises(ValueError, match=r"precision='bfloat16' with backend='openvino'.*"
                                         r'no native bfloat16.*would run float32'):
        init_model(MPII_TINY, hourglass['checkpoint'], backend='openvino',
                   precision='bfloat16')


@pytest.mark.skipif(not NATIVE_BF16, reason='this CPU has no native bfloat16')
def test_bfloat16_is_compiled_as_bfloat16_on_a_native_cpu(hourglass):
    model = init_model(MPII_TINY, hourglass['checkpoint'], backend='openvino',
                       precision='bfloat16')
    assert model.precision == 'bfloat16' and model.compiled_precision() == 'bf16'
    (sample, ) = inference_topdown(model, image(), BOXES[:1])
    assert np.isfinite(sample.pred_instances.keypoints).all()


def test_bad_arguments_are_refused(hourglass):
    with pytest.raises(ValueError, match=r"backend must be one of .*'openvino'"):
        init_model(MPII_TINY, backend='tensorrt')
    with pytest.raises(ValueError, match="backend='openvino' runs on the CPU"):
        openvino_model(hourglass['torch'], hourglass['checkpoint'], device='cuda')
    with pytest.raises(ValueError, match=r"precision must be one of \('float32', "
                                         r"'bfloat16'\), got 'float16'"):
        OpenVinoEstimator(hourglass['torch'], hourglass['ov'].onnx_file, precision='float16')


def test_demo_takes_the_backend(hourglass, tmp_path):
    import cv2
    demo = load_tool('demo')
    source = tmp_path / 'person.png'
    cv2.imwrite(str(source), image())
    out = tmp_path / 'out.png'
    demo.main([MPII_TINY, hourglass['checkpoint'], str(source), '--out', str(out),
               '--backend', 'openvino', '--precision', 'float32'])
    assert out.is_file()
    assert len(list(hourglass['tmp'].glob('*.onnx'))) == 1   # the cached graph was used


@pytest.mark.skipif(NATIVE_BF16, reason='this CPU has native bfloat16')
def test_benchmark_lists_the_bfloat16_arm_it_cannot_run(mpii_root, capsys, tmp_path):
    """tools/benchmark.py: of pytorch,openvino × float32,bfloat16 the three arms that can
    run here are timed; openvino/bfloat16 is listed as not run, with the reason (table
    and JSON). With no arm left the run stops before any timing, the reason as the exit
    message (not a traceback)."""
    benchmark = load_tool('benchmark')
    common = ['--iters', '1', '--warmup', '0', '--batch-size', '1', '--no-roofline',
              '--cfg-options', f'val_dataloader.dataset.data_root={mpii_root}']
    out = tmp_path / 'result.json'
    benchmark.main(['inference', MPII_TINY, '--backend', 'pytorch,openvino',
                    '--precision', 'float32,bfloat16', '--json', str(out), *common])
    result = json.loads(out.read_text())
    assert sorted(result['per_sample_ms']) == ['openvino/float32@1', 'pytorch/bfloat16@1',
                                               'pytorch/float32@1']
    assert list(result['not_run']) == ['openvino/bfloat16']
    assert 'no native bfloat16' in result['not_run']['openvino/bfloat16']
    assert 'not run: openvino/bfloat16: ' in capsys.readouterr().out

    with pytest.raises(SystemExit) as stop:
        benchmark.main(['inference', MPII_TINY, '--backend', 'openvino',
                        '--precision', 'bfloat16', *common])
    message = str(stop.value.code)
    assert message.startswith('inference: inference arm openvino/bfloat16 cannot run here')
    assert 'no native bfloat16' in message
    assert capsys.readouterr().out == ''   # no table: nothing was timed


def test_tbb_loads_without_deepbind_only_under_a_preloaded_allocator():
    env = {'LD_PRELOAD': '/usr/lib/libjemalloc.so.2'}
    assert tbb_safe_environment(env) and env[TBB_NO_DEEPBIND] == '1'
    mine = {'LD_PRELOAD': 'x.so', TBB_NO_DEEPBIND: '0'}       # the user's choice stays
    assert not tbb_safe_environment(mine) and mine[TBB_NO_DEEPBIND] == '0'
    plain = {'LD_PRELOAD': ''}
    assert not tbb_safe_environment(plain) and TBB_NO_DEEPBIND not in plain


@pytest.mark.slow   # ~10 s: a fresh process importing hpekit.apis
@pytest.mark.skipif(find_jemalloc() is None, reason='no libjemalloc here')
def test_compiles_under_preloaded_jemalloc(hourglass):
    """The allocator hpekit's tools apply (jemalloc, LD_PRELOAD): compiling aborts the
    process ("free(): invalid pointer") unless tbb_safe_environment ran first."""
    code = ('import sys; from hpekit.apis.openvino_backend import compile_graph; '
            'print(compile_graph(sys.argv[1], 1).get_property("INFERENCE_NUM_THREADS"))')
    env = {k: v for k, v in os.environ.items() if k != TBB_NO_DEEPBIND}
    env.update(LD_PRELOAD=find_jemalloc(), MALLOC_CONF='retain:true')
    done = subprocess.run([sys.executable, '-c', code, hourglass['ov'].onnx_file],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == '1'


def test_default_batch_size_of_the_backend(hourglass):
    from hpekit.apis.model import DEFAULT_BATCH_SIZE, default_batch_size
    assert default_batch_size(hourglass['ov']) == DEFAULT_BATCH_SIZE['openvino']
