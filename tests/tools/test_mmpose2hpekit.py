"""tools/misc/mmpose2hpekit.py: the native config written for an MMPose config is a
plain hpekit config (no longer translated) that builds and gives the MMPose file's
keypoints with the MMPose checkpoint; a checkpoint that does not fit is named key by
key (exit status 1). The MMPose configs and checkpoints are tests/fixtures/mmpose/
(made by MMPose itself; see its README.md)."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from tool_loader import load_tool

from hpekit.apis import inference_topdown, init_model
from hpekit.config.mmpose import is_mmpose_config
from hpekit.config.setup import load_config
from hpekit.registry import MODELS
from hpekit.utils.setup_env import register_all_modules

FIXTURES = osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures', 'mmpose')
IMAGES = json.load(open(osp.join(FIXTURES, 'images.json'), encoding='utf-8'))


def fixture(name, ext):
    return osp.join(FIXTURES, f'{name}.{ext}')


def convert(*args):
    return load_tool('misc/mmpose2hpekit').main([str(a) for a in args])


def keypoints(model, image='scene_a'):
    """Keypoints and scores of every person box of ``image`` (images.json)."""
    samples = inference_topdown(model, fixture(image, 'png'), IMAGES[image]['bboxes_xyxy'],
                                bbox_format='xyxy')
    return (np.concatenate([s.pred_instances.keypoints for s in samples]),
            np.concatenate([s.pred_instances.keypoint_scores for s in samples]))


@pytest.mark.parametrize('name', ['rtmpose_t', 'hrnet_plain'])
def test_native_config_gives_the_mmpose_files_keypoints(tmp_path, capsys, name):
    assert convert(fixture(name, 'py'), fixture(name, 'pth'), tmp_path) == 0
    out = capsys.readouterr().out
    assert 'every tensor fits the model by name and shape' in out
    native = tmp_path / f'{name}.py'
    assert f'Wrote {native}' in out
    raw = Config.fromfile(str(native))
    assert raw.default_scope == 'hpekit' and not is_mmpose_config(raw)
    assert 'mmpose_untranslated' not in raw
    cfg = load_config(str(native))   # read as a native config: nothing is translated
    assert cfg.to_dict() == raw.to_dict()
    register_all_modules()
    MODELS.build(cfg.model)
    got, got_scores = keypoints(init_model(str(native), fixture(name, 'pth')))
    want, want_scores = keypoints(init_model(fixture(name, 'py'), fixture(name, 'pth')))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    np.testing.assert_allclose(got_scores, want_scores, rtol=0, atol=1e-5)
    # ... and MMPose's own keypoints (made by MMPose 1.3.2 for these boxes)
    ref = np.load(fixture(name, 'npz'))
    errors = np.linalg.norm(got - ref['keypoints_scene_a'], axis=-1)
    assert np.median(errors) <= 0.05 and np.mean(errors <= 0.5) >= 0.97


def test_a_checkpoint_that_does_not_fit_is_named_key_by_key(tmp_path, capsys):
    status = convert(fixture('rtmpose_t', 'py'), fixture('hrnet_plain', 'pth'), tmp_path)
    assert status == 1
    err = capsys.readouterr().err
    assert 'hrnet_plain.pth does not fit the model' in err
    assert 'missing in the checkpoint: backbone.stem.0.conv.weight' in err
    assert 'not in the model: backbone.conv1.weight' in err
    assert ('shape (17, 4, 1, 1) in the checkpoint, (17, 32, 7, 7) in the model: '
            'head.final_layer.weight') in err
    assert (tmp_path / 'rtmpose_t.py').is_file()   # the config itself is written


def test_without_a_checkpoint_only_the_config_is_written(tmp_path, capsys):
    assert convert(fixture('hrnet_plain', 'py'), tmp_path) == 0
    assert 'fits' not in capsys.readouterr().out
    assert (tmp_path / 'hrnet_plain.py').is_file()


def test_an_existing_file_needs_force(tmp_path, capsys):
    (tmp_path / 'res50.py').write_text('# mine\n')
    assert convert(fixture('res50', 'py'), tmp_path) == 1
    assert 'give --force to overwrite it' in capsys.readouterr().err
    assert (tmp_path / 'res50.py').read_text() == '# mine\n'
    assert convert(fixture('res50', 'py'), tmp_path, '--force') == 0
    assert Config.fromfile(str(tmp_path / 'res50.py')).default_scope == 'hpekit'


def test_a_native_config_is_refused(tmp_path, capsys):
    assert convert(fixture('hrnet_plain', 'py'), tmp_path / 'a') == 0
    assert convert(tmp_path / 'a' / 'hrnet_plain.py', tmp_path / 'b') == 1
    assert 'is not an MMPose 1.x config' in capsys.readouterr().err
    assert not (tmp_path / 'b').exists()


def test_untranslated_sections_are_listed(tmp_path, capsys):
    """A training set hpekit cannot build: the file is still written, with the section
    under mmpose_untranslated, and the tool says so."""
    source = tmp_path / 'combined.py'
    source.write_text(open(fixture('hrnet_plain', 'py'), encoding='utf-8').read() +
                      "train_dataloader['dataset'] = dict(type='CombinedDataset', "
                      'datasets=[], pipeline=[])\n')
    assert convert(source, tmp_path / 'out') == 0
    err = capsys.readouterr().err
    assert "not translated: train_dataloader" in err and "'CombinedDataset'" in err
    written = Config.fromfile(str(tmp_path / 'out' / 'combined.py'))
    assert 'CombinedDataset' in written.mmpose_untranslated.train_dataloader
    assert 'train_dataloader' not in written


def test_a_wrong_number_of_paths_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit):
        convert(fixture('hrnet_plain', 'py'), fixture('hrnet_plain', 'pth'), tmp_path,
                tmp_path)


def test_the_mmpose_file_itself_is_never_overwritten(tmp_path, capsys):
    source = tmp_path / 'hrnet_plain.py'
    text = open(fixture('hrnet_plain', 'py'), encoding='utf-8').read()
    source.write_text(text)
    assert convert(source, tmp_path, '--force') == 1
    assert 'is the MMPose config itself' in capsys.readouterr().err
    assert source.read_text() == text


def test_a_broken_config_is_named(tmp_path, capsys):
    source = tmp_path / 'broken.py'
    source.write_text("default_scope = 'mmpose'\nmodel = dict(\n")
    assert convert(source, tmp_path / 'out') == 1
    assert f'{source}: line' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
