"""A checkpoint whose weights hold NaN/Inf is refused on every path that loads one.

Before the fix one NaN weight went through silently: ``tools/test.py`` reported
PCKh 0.00 from NaN predictions, ``init_model`` + inference returned NaN keypoints, the
demo said only "no joint passed --score-thr", ``tools/export_onnx.py`` wrote the file,
then failed with "differs by nan > nan" and left it, and ``load_from``/``--resume``
trained until the loss became NaN. Now each path raises ``NonFiniteWeightsError``
naming the checkpoint and its first bad tensor (``check_finite_weights`` in
``hpekit/checkpoint/loading.py``), before a weight is used; ``allow_nonfinite=True``,
``--allow-nonfinite-weights`` and ``default_hooks.checkpoint_keys.allow_nonfinite=True``
turn the error into a warning for debugging.
"""
import math
import re
import sys

import cv2
import numpy as np
import pytest
import torch
from conftest import ROOT, TINY, build_runner, log_text

from hpekit.apis import inference_topdown, init_model
from hpekit.checkpoint.loading import (CheckpointError, NonFiniteWeightsError,
                                       check_finite_weights, load_checkpoint_file)

sys.path.insert(0, str(ROOT / 'tests'))
from tool_loader import load_tool  # noqa: E402

MPII_TINY = str(ROOT / 'tests' / 'configs' / 'mpii_tiny.py')
BAD = 'head.fc_out.weight'          # the video model's tensor made NaN
BAD_2D = 'backbone.stem.conv.weight'


def nan_checkpoint(config, path, name):
    """``{'state_dict': …}`` of ``config``'s model (random weights) with one value of
    ``name`` NaN; returns (path, name)."""
    torch.manual_seed(0)
    state = init_model(config).state_dict()
    state[name].view(-1)[0] = float('nan')
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path), name


def refused(path, name, count=1):
    """The start of the error: the checkpoint, how many tensors are bad, the first."""
    return (rf'(?s){re.escape(str(path))}.*{count} of its \d+ floating-point weight '
            rf'tensors.*NaN/Inf.*first: {re.escape(name)} \(1 of \d+ values')


@pytest.fixture(scope='module')
def video_nan(tmp_path_factory):
    return nan_checkpoint(TINY, tmp_path_factory.mktemp('ckpt') / 'video_nan.pth', BAD)[0]


@pytest.fixture(scope='module')
def mpii_nan(tmp_path_factory):
    return nan_checkpoint(MPII_TINY, tmp_path_factory.mktemp('ckpt') / 'mpii_nan.pth',
                          BAD_2D)


# --------------------------------------------------------------- the shared check
def test_check_finite_weights_names_path_first_tensor_and_count():
    state = {'a.weight': torch.ones(3), 'b.weight': torch.tensor([1., float('nan'), 2.]),
             'b.num_batches_tracked': torch.tensor(3),
             'c.bias': torch.tensor([float('inf'), -float('inf')])}
    with pytest.raises(NonFiniteWeightsError, match=r'ckpt\.pth.*2 of its 3 floating-point '
                       r'weight tensors hold NaN/Inf.*first: b\.weight \(1 of 3 values: 1 '
                       r'NaN\); also c\.bias \(2 of 2 values: 2 Inf\)') as err:
        check_finite_weights(state, 'ckpt.pth')
    assert isinstance(err.value, CheckpointError)
    assert err.value.path == 'ckpt.pth' and err.value.first == 'b.weight'
    assert check_finite_weights({'w': torch.zeros(2), 'n': torch.tensor(1)}, 'x') == []
    with pytest.warns(UserWarning, match=r'b\.weight.*loaded anyway'):
        bad = check_finite_weights(state, 'ckpt.pth', allow=True)
    assert [name for name, *_ in bad] == ['b.weight', 'c.bias']


# ------------------------------------------------------------------------- the API
def test_api_init_model_refuses_a_nan_checkpoint(mpii_nan):
    path, name = mpii_nan
    with pytest.raises(NonFiniteWeightsError, match=refused(path, name)) as err:
        init_model(MPII_TINY, path)
    assert 'allow_nonfinite=True' in str(err.value)


def test_api_onnxruntime_backend_refuses_before_exporting(mpii_nan, tmp_path):
    path, name = mpii_nan
    with pytest.raises(NonFiniteWeightsError, match=refused(path, name)):
        init_model(MPII_TINY, path, backend='onnxruntime', onnx_cache_dir=str(tmp_path))
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ tools/test.py
def test_tool_test_refuses_a_nan_checkpoint_before_testing(video_nan, data_root, tmp_path):
    test = load_tool('test')
    work = tmp_path / 'work'
    with pytest.raises(NonFiniteWeightsError, match=refused(video_nan, BAD)) as err:
        test.main([str(TINY), video_nan, '--work-dir', str(work),
                   '--data-root', str(data_root)])
    assert '--allow-nonfinite-weights' in str(err.value)
    assert not (work / 'test_metrics.json').exists()


# ---------------------------------------------------------------------- the demo
def test_demo_refuses_a_nan_checkpoint_before_drawing(mpii_nan, tmp_path):
    path, name = mpii_nan
    source = tmp_path / 'person.jpg'
    cv2.imwrite(str(source), np.full((48, 32, 3), 128, np.uint8))
    out = tmp_path / 'out.jpg'
    with pytest.raises(NonFiniteWeightsError, match=refused(path, name)) as err:
        load_tool('demo').main([MPII_TINY, path, str(source), '--out', str(out)])
    assert '--allow-nonfinite-weights' in str(err.value)
    assert not out.exists()


# -------------------------------------------------------------------------- export
def test_export_refuses_a_nan_checkpoint_and_leaves_no_file(mpii_nan, tmp_path):
    path, name = mpii_nan
    out = tmp_path / 'export' / 'model.onnx'
    with pytest.raises(NonFiniteWeightsError, match=refused(path, name)):
        load_tool('export_onnx').main([MPII_TINY, path, '--out', str(out)])
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_export_leaves_no_file_when_the_parity_check_fails(mpii_nan, tmp_path):
    """Forced past the weight check, the NaN model fails the onnxruntime comparison:
    neither the .onnx nor its .json stays (nor a temporary file)."""
    pytest.importorskip('onnxruntime')
    path, _ = mpii_nan
    out = tmp_path / 'export' / 'model.onnx'
    with pytest.warns(UserWarning, match='loaded anyway'), \
            pytest.raises(SystemExit, match=r'model\.onnx: .*NaN.*nothing was written'):
        load_tool('export_onnx').main([MPII_TINY, path, '--out', str(out),
                                       '--allow-nonfinite-weights'])
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_export_keeps_the_previous_file_when_a_new_export_fails(mpii_nan, tmp_path):
    pytest.importorskip('onnxruntime')
    out = tmp_path / 'model.onnx'
    out.write_bytes(b'previous')
    with pytest.warns(UserWarning), pytest.raises(SystemExit):
        load_tool('export_onnx').main([MPII_TINY, mpii_nan[0], '--out', str(out),
                                       '--allow-nonfinite-weights'])
    assert out.read_bytes() == b'previous'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.onnx']


# ------------------------------------------------------------ training: load_from
def test_load_from_a_nan_checkpoint_stops_before_training(video_nan, tmp_path,
                                                         fault_config, data_root):
    runner = build_runner(fault_config, tmp_path / 'work', data_root, load_from=video_nan)
    with pytest.raises(NonFiniteWeightsError, match=refused(video_nan, BAD)) as err:
        runner.train()
    assert 'default_hooks.checkpoint_keys.allow_nonfinite=True' in str(err.value)
    assert runner.iter == 0
    assert not list((tmp_path / 'work').glob('*.pth'))


# --------------------------------------------------------------- training: resume
@pytest.fixture(scope='module')
def resumable(tmp_path_factory, fault_config, data_root):
    """A real training checkpoint (one epoch of the tiny run: 3 iterations)."""
    work = tmp_path_factory.mktemp('resumable')
    runner = build_runner(fault_config, work, data_root, **{'train_cfg.max_epochs': 1,
                                                            'train_cfg.val_interval': 5})
    runner.train()
    return work / 'iter_3.pth'


@pytest.mark.parametrize('how', ['path', 'auto'])
def test_resume_from_a_nan_checkpoint_stops_before_training(resumable, tmp_path,
                                                            fault_config, data_root, how):
    checkpoint = load_checkpoint_file(str(resumable), map_location='cpu')
    checkpoint['state_dict'][BAD].view(-1)[0] = float('nan')
    work = tmp_path / 'work'
    work.mkdir()
    path = work / 'iter_3.pth'
    torch.save(checkpoint, path)
    if how == 'auto':
        (work / 'last_checkpoint').write_text(str(path))
    runner = build_runner(fault_config, work, data_root,
                          resume='auto' if how == 'auto' else str(path))
    with pytest.raises(NonFiniteWeightsError, match=refused(path, BAD)):
        runner.train()
    assert runner.iter == 0   # nothing was resumed
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_3.pth']


# ------------------------------------------------------------------- the opt-outs
def test_opt_out_api_allow_nonfinite_warns_and_loads(mpii_nan):
    path, name = mpii_nan
    with pytest.warns(UserWarning, match=rf'(?s){name}.*loaded anyway'):
        model = init_model(MPII_TINY, path, allow_nonfinite=True)
    assert math.isnan(float(model.state_dict()[name].view(-1)[0]))
    samples = inference_topdown(model, np.zeros((32, 32, 3), np.uint8))
    assert np.isnan(samples[0].pred_instances.keypoint_scores).all()


def test_opt_out_demo_flag_draws_with_a_warning(mpii_nan, tmp_path):
    path, name = mpii_nan
    source = tmp_path / 'person.jpg'
    cv2.imwrite(str(source), np.full((48, 32, 3), 128, np.uint8))
    out = tmp_path / 'out.jpg'
    with pytest.warns(UserWarning, match=name):
        load_tool('demo').main([MPII_TINY, path, str(source), '--out', str(out),
                                '--allow-nonfinite-weights'])
    assert out.exists()


def test_opt_out_test_tool_flag_tests_with_a_warning(mpii_nan, mpii_root, tmp_path):
    """MPII: the metric scores NaN predictions as misses, as before the fix (the video
    metric's PA-MPJPE fails on NaN predictions, a separate matter)."""
    path, name = mpii_nan
    work = tmp_path / 'work'
    metrics = load_tool('test').main([MPII_TINY, path, '--work-dir', str(work),
                                      '--data-root', mpii_root,
                                      '--allow-nonfinite-weights'])
    assert (work / 'test_metrics.json').exists()
    assert metrics['PCKh'] == 0
    logs = ''.join(p.read_text() for p in work.rglob('*.log'))
    assert f'{name} (1 of' in logs and 'loaded anyway' in logs


def test_opt_out_training_config_key_loads_with_a_warning(video_nan, tmp_path,
                                                         fault_config, data_root):
    runner = build_runner(fault_config, tmp_path / 'work', data_root,
                          **{'default_hooks.checkpoint_keys.allow_nonfinite': True})
    runner._load_from = video_nan
    runner.load_checkpoint(video_nan)
    weight = runner.model.state_dict()[BAD]
    assert math.isnan(float(weight.view(-1)[0]))
    assert f'{BAD} (1 of' in log_text(runner) and 'loaded anyway' in log_text(runner)
