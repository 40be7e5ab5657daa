"""The ONNX Runtime inference backend (hpekit.apis.onnxruntime_backend): exported once,
cached next to the checkpoint under a key of its hash and the config, and predicting
what PyTorch predicts (flip test included) through the same decoding code."""
import os
from pathlib import Path

import pytest
from exported_backends import (BOXES, MPII_TINY, assert_topdown_equals_pytorch,
                               assert_video_equals_pytorch, image, save_checkpoint)
from tool_loader import load_tool

from hpekit.apis import OnnxRuntimeEstimator, PoseInferencer, inference_topdown, init_model
from hpekit.apis import onnxruntime_backend as backend
from hpekit.apis.model import DEFAULT_BATCH_SIZE, default_batch_size

pytest.importorskip('onnxruntime')


@pytest.fixture(scope='module')
def topdown_models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ort_topdown')
    checkpoint = save_checkpoint(MPII_TINY, tmp / 'hg.pth', seed=0)
    exports = []
    real_export = backend.export_cached

    def counting(*args, **kwargs):
        path, exported = real_export(*args, **kwargs)
        exports.append(exported)
        return path, exported

    backend.export_cached = counting
    try:
        ort_model = init_model(MPII_TINY, checkpoint, backend='onnxruntime')
        again = init_model(MPII_TINY, checkpoint, backend='onnxruntime')
    finally:
        backend.export_cached = real_export
    return dict(tmp=tmp, checkpoint=checkpoint, torch=init_model(MPII_TINY, checkpoint),
                ort=ort_model, again=again, exports=exports)


def test_exported_once_and_cached_next_to_the_checkpoint(topdown_models):
    models = topdown_models
    assert isinstance(models['ort'], OnnxRuntimeEstimator)
    assert models['exports'] == [True, False]          # the second init found the file
    path = Path(models['ort'].onnx_file)
    assert path.parent == models['tmp'] and path.name.startswith('hg.')
    assert models['again'].onnx_file == str(path)
    key = path.name.split('.')[1]
    assert len(key) == 16
    record = path.with_suffix('.json').read_text()
    assert backend.file_sha256(models['checkpoint']) in record
    assert [p.name for p in models['tmp'].glob('*.tmp')] == []


def test_the_key_follows_the_weights_and_the_config(topdown_models, tmp_path):
    models = topdown_models
    torch_model = models['torch']
    path, _, _ = backend.cache_path(torch_model, models['checkpoint'])
    assert path == models['ort'].onnx_file
    other = save_checkpoint(MPII_TINY, tmp_path / 'hg.pth', seed=1)
    assert backend.cache_path(torch_model, other)[1] != Path(path).name.split('.')[1]
    changed = init_model(MPII_TINY, models['checkpoint'],
                         cfg_options={'model.head.merge_weights': [0.5, 0.5]})
    assert backend.cache_path(changed, models['checkpoint'])[0] != path


@pytest.mark.parametrize('flip_test', [True, False])
def test_topdown_predictions_equal_pytorch(topdown_models, flip_test):
    models = topdown_models
    torch_model, ort_model = models['torch'], models['ort']
    assert ort_model.test_cfg is ort_model.torch_model.test_cfg
    assert_topdown_equals_pytorch(torch_model, ort_model, flip_test)


def test_flip_test_goes_through_the_heads_decoding(topdown_models, monkeypatch):
    """The ONNX path decodes with the head's decode_heatmaps (no second copy), given
    the heatmaps of the crops and of their mirrors."""
    models = topdown_models
    head = models['torch'].head
    calls = []
    real = type(head).decode_heatmaps

    def spy(self, heatmaps, samples, test_cfg=None, flipped_heatmaps=None):
        calls.append((tuple(heatmaps.shape), flipped_heatmaps is not None))
        return real(self, heatmaps, samples, test_cfg, flipped_heatmaps)

    monkeypatch.setattr(type(head), 'decode_heatmaps', spy)
    inference_topdown(models['ort'], image(), BOXES[:2], batch_size=2)
    assert calls == [((2, 16, 16, 16), True)]


def test_default_batch_size_follows_the_backend_and_allocator(topdown_models,
                                                              monkeypatch):
    from hpekit.runtime import allocator
    for var in ('LD_PRELOAD', 'MALLOC_CONF', allocator.APPLIED):
        monkeypatch.delenv(var, raising=False)
    assert default_batch_size(topdown_models['torch']) == \
        DEFAULT_BATCH_SIZE['pytorch-no-retain']
    monkeypatch.setenv(allocator.APPLIED, 'jemalloc-retain')
    assert default_batch_size(topdown_models['torch']) == DEFAULT_BATCH_SIZE['pytorch']
    assert default_batch_size(topdown_models['ort']) == DEFAULT_BATCH_SIZE['onnxruntime']


def test_pose_inferencer_takes_the_backend(topdown_models, tmp_path):
    inferencer = PoseInferencer(MPII_TINY, topdown_models['checkpoint'],
                                backend='onnxruntime')
    assert isinstance(inferencer.model, OnnxRuntimeEstimator)
    assert inferencer.model.onnx_file == topdown_models['ort'].onnx_file


def test_video_predictions_equal_pytorch(tmp_path):
    assert_video_equals_pytorch(tmp_path, 'onnxruntime')


def test_demo_takes_the_backend(topdown_models, tmp_path):
    import cv2
    demo = load_tool('demo')
    source = tmp_path / 'person.png'
    cv2.imwrite(str(source), image())
    out = tmp_path / 'out.png'
    demo.main([MPII_TINY, topdown_models['checkpoint'], str(source), '--out', str(out),
               '--backend', 'onnxruntime'])
    assert out.is_file()
    # The cached graph was used, not a new one.
    assert len(list(topdown_models['tmp'].glob('*.onnx'))) == 1


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match='backend must be one of'):
        init_model(MPII_TINY, backend='tensorrt')


def test_a_read_only_checkpoint_folder_falls_back_to_the_cache(topdown_models, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path / 'cache'))
    monkeypatch.setattr(backend, '_writable_dir',
                        lambda path: str(path).startswith(str(tmp_path / 'cache')) and
                        (os.makedirs(path, exist_ok=True) or True))
    path, _, _ = backend.cache_path(topdown_models['torch'], topdown_models['checkpoint'])
    assert Path(path).parent == tmp_path / 'cache'
