"""Fine-tuning across keypoint sets, and the pre-flight checks that stop what MMPose
silently trains to AP 0.

- a COCO-17 checkpoint into a 5-keypoint SimpleBaseline with ``load_from``
  (``tools/train.py``, in this process): refused naming the mismatched tensors and the
  exact ``--cfg-options`` to set; with ``allow_shape_mismatch=True`` the backbone
  loads, the head's last layer keeps its fresh initialisation, ONE log line lists the
  skipped tensors, and it trains;
- a head whose keypoint count is not the dataset's: stopped before any step, in
  ``tools/train.py`` and ``tools/test.py`` (``KeypointCountHook``), naming the config,
  the model key and the metainfo file; a plugin estimator is read through its spec;
- metainfo whose per-keypoint lists or flip map do not fit its keypoints: refused when
  it is parsed, naming the file and the key.

Data: 4 + 2 synthetic COCO images at 64×64, their annotations cut to the 5 face
keypoints, described by a 5-keypoint metainfo file written here.
"""
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from tool_loader import load_tool

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.datasets.metainfo import MetainfoError, parse_pose_metainfo
from hpekit.engine.hooks import CheckpointMismatchError, KeypointCountError
from hpekit.engine.hooks.keypoint_count import check_keypoint_counts
from hpekit.models.estimators.base import BasePoseEstimator, EstimatorSpec
from hpekit.registry import HOOKS, MODELS

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / 'configs' / 'coco' / 'simplebaseline-res50_b64-210e_coco-256x192.py'
SKIPPED = {'head.final_layer.weight': ((17, 8, 1, 1), (5, 8, 1, 1)),
           'head.final_layer.bias': ((17,), (5,))}

FACE5 = '''dataset_info = dict(
    dataset_name='face5',
    keypoint_info={
        0: dict(name='nose', id=0, color=[240, 200, 40], type='upper', swap=''),
        1: dict(name='left_eye', id=1, color=[60, 110, 230], type='upper', swap='right_eye'),
        2: dict(name='right_eye', id=2, color=[230, 60, 60], type='upper', swap='left_eye'),
        3: dict(name='left_ear', id=3, color=[60, 110, 230], type='upper', swap='right_ear'),
        4: dict(name='right_ear', id=4, color=[230, 60, 60], type='upper', swap='left_ear'),
    },
    skeleton_info={0: dict(link=('left_eye', 'right_eye'), id=0, color=[60, 110, 230])},
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0],
    sigmas=[0.026, 0.025, 0.025, 0.035, 0.035])
'''

# A tiny SimpleBaseline (ResNet-18 at 1/8 width, three 8-channel deconvs) on COCO-format
# data: 64×64 crops, 16×16 heatmaps, one iteration of batch 8, no pictures or curves.
COCO17 = f'''_base_ = [{str(BASE)!r}]
data_root = {{data_root!r}}
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(backbone=dict(depth=18, base_channels=8, init_cfg=None),
             head=dict(in_channels=64, deconv_channels=(8, 8, 8), deconv_kernels=(4, 4, 4),
                       decoder=codec),
             test_cfg=dict(flip_test=False))
train_pipeline = [dict(type='LoadImage', input_size=codec['input_size']),
                  dict(type='TopdownAffine', input_size=codec['input_size']),
                  dict(type='GenerateTarget', encoder=codec),
                  dict(type='PackPoseInputs')]
val_pipeline = [dict(type='LoadImage', min_box_scale=1.0, input_size=codec['input_size']),
                dict(type='TopdownAffine', input_size=codec['input_size'], augment=False),
                dict(type='PackPoseInputs', meta_keys=_base_.val_meta_keys)]
train_dataloader = dict(batch_size=8, num_workers=0,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=0,
                      dataset=dict(data_root=data_root, bbox_file=None,
                                   pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
custom_hooks = [dict(type='HpekitSetupHook'), dict(type='FinetuneProbeHook')]
'''
FACE5_CONFIG = '''_base_ = ['./coco17.py']
face5 = dict(from_file={metainfo!r})
model = dict(head=dict(num_joints=5))
train_dataloader = dict(dataset=dict(metainfo=face5))
val_dataloader = dict(dataset=dict(metainfo=face5))
test_dataloader = val_dataloader
'''

PROBE = {}


@HOOKS.register_module(force=True)
class FinetuneProbeHook(Hook):
    """Test helper: the model's weights just before the checkpoint is copied into it
    (its fresh initialisation) and at the start of training (after loading)."""

    priority = 'LOWEST'   # after CheckpointKeysHook has prepared the checkpoint

    def after_load_checkpoint(self, runner, checkpoint):
        PROBE['fresh'] = {k: v.clone() for k, v in runner.model.state_dict().items()}

    def before_train(self, runner):
        PROBE['loaded'] = {k: v.clone() for k, v in runner.model.state_dict().items()}

    def before_test(self, runner):
        PROBE['tested'] = {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.fixture(scope='module')
def face5(tmp_path_factory):
    """Paths: the data root, the metainfo file, the 17- and 5-keypoint configs and a
    checkpoint of the 17-keypoint model (every float tensor its init + 0.25, so a
    loaded tensor is told apart from a freshly initialised one)."""
    from hpekit.datasets.synthetic.coco import write_coco_split
    from hpekit.utils import register_all_modules
    folder = tmp_path_factory.mktemp('face5')
    written = write_coco_split(str(folder / 'data'), 4, 2, image_size=(64, 64),
                               progress=False)
    for key in ('train_json', 'val_json'):   # keep the 5 face keypoints of COCO's 17
        data = json.loads(Path(written[key]).read_text())
        for ann in data['annotations']:
            ann['keypoints'] = ann['keypoints'][:15]
            ann['num_keypoints'] = sum(v > 0 for v in ann['keypoints'][2::3])
        Path(written[key]).write_text(json.dumps(data))
    metainfo = folder / 'face5_info.py'
    metainfo.write_text(FACE5)
    (folder / 'coco17.py').write_text(COCO17.format(data_root=f'{folder / "data"}/'))
    (folder / 'face5.py').write_text(FACE5_CONFIG.format(metainfo=str(metainfo)))
    register_all_modules()
    model = MODELS.build(Config.fromfile(str(folder / 'coco17.py')).model)
    state = {k: v + 0.25 if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    checkpoint = folder / 'coco17.pth'
    torch.save({'state_dict': state, 'meta': {}}, checkpoint)
    return SimpleNamespace(root=folder, metainfo=metainfo, config17=folder / 'coco17.py',
                           config5=folder / 'face5.py', checkpoint=checkpoint, state=state)


def _train(face5, work_dir, *options, config=None):
    PROBE.clear()
    name = Path(work_dir).name
    return load_tool('train').main([
        str(config or face5.config5), '--work-dir', str(work_dir), '--no-validate',
        '--cfg-options', f'load_from={face5.checkpoint}', f'experiment_name=ft_{name}',
        f'visualizer.name=ft_{name}', *options])


def _log(runner):
    return (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()


# ------------------------------------------------------- fine-tuning, end to end
def test_finetune_17_to_5_keypoints_without_the_option_stops_naming_keys_and_option(
        face5, tmp_path):
    with pytest.raises(CheckpointMismatchError) as err:
        _train(face5, tmp_path / 'refused')
    message = str(err.value)
    assert message.startswith(f'{face5.checkpoint}: checkpoint keys do not fit the model')
    for key, (ckpt_shape, model_shape) in SKIPPED.items():
        assert f'{key} {ckpt_shape} vs {model_shape}' in message
    assert ('--cfg-options default_hooks.checkpoint_keys.allow_shape_mismatch=True'
            in message)
    assert 'allow_partial' not in message   # every other tensor fits
    assert 'loaded' not in PROBE   # stopped before training started
    assert not list((tmp_path / 'refused').glob('*.pth'))


def test_finetune_17_to_5_keypoints_with_allow_shape_mismatch_trains_and_logs_one_line(
        face5, tmp_path):
    runner = _train(face5, tmp_path / 'finetune',
                    'default_hooks.checkpoint_keys.allow_shape_mismatch=True')
    assert runner.iter == 1 and (tmp_path / 'finetune' / 'epoch_1.pth').is_file()
    log = _log(runner)
    lines = [line for line in log.splitlines()
             if re.search(r'head\.final_layer\.\w+ \(', line)]   # 'name (17,) vs (5,)'
    assert len(lines) == 1, lines   # ONE line lists every skipped tensor
    assert 'allow_shape_mismatch=True' in lines[0] and str(face5.checkpoint) in lines[0]
    for key, (ckpt_shape, model_shape) in SKIPPED.items():
        assert f'{key} {ckpt_shape} vs {model_shape}' in lines[0]
    assert 'do not match exactly' not in log   # mmengine's own multi-line warning

    fresh, loaded = PROBE['fresh'], PROBE['loaded']
    for key, value in loaded.items():
        if key in SKIPPED:   # the model's own fresh initialisation, not the checkpoint's
            assert torch.equal(value, fresh[key]), key
        else:                # every other tensor (the backbone, the deconvs) loaded
            assert torch.equal(value, face5.state[key]), key
            assert not torch.equal(value, fresh[key]) or not value.is_floating_point(), key
    weight = loaded['head.final_layer.weight']
    assert weight.abs().sum() > 0 and weight.std() < 0.01   # normal(0, 0.001), not zeros


def test_finetune_with_reinitialize_head_starts_the_whole_head_afresh(face5, tmp_path):
    runner = _train(face5, tmp_path / 'reinit',
                    "default_hooks.checkpoint_keys.reinitialize=['head.']")
    assert runner.iter == 1
    assert "keep the model's initial values (default_hooks.checkpoint_keys.reinitialize)" \
        in _log(runner)
    fresh, loaded = PROBE['fresh'], PROBE['loaded']
    head = [k for k in loaded if k.startswith('head.')]
    assert len(head) > len(SKIPPED)   # the deconvs too, not only the mis-shaped layer
    for key, value in loaded.items():
        expected = fresh[key] if key.startswith('head.') else face5.state[key]
        assert torch.equal(value, expected), key


def test_reinitialize_applies_to_load_from_only_not_to_resume_or_test(face5, tmp_path):
    option = "default_hooks.checkpoint_keys.reinitialize=['head.']"
    _train(face5, tmp_path / 'first', option)
    saved = tmp_path / 'first' / 'epoch_1.pth'
    trained = load_checkpoint_file(str(saved), map_location='cpu')['state_dict']

    PROBE.clear()   # resume (a second epoch): the head continues, not afresh
    load_tool('train').main([
        str(face5.config5), '--work-dir', str(tmp_path / 'first'), '--no-validate',
        '--resume', str(saved), '--cfg-options', 'train_cfg.max_epochs=2',
        'experiment_name=ft_resume', 'visualizer.name=ft_resume', option])
    for key in trained:
        assert torch.equal(PROBE['loaded'][key], trained[key]), key

    PROBE.clear()   # test: every weight of the checkpoint, the head included
    load_tool('test').main([str(face5.config5), str(saved), '--work-dir',
                            str(tmp_path / 'test'), '--cfg-options',
                            'experiment_name=ft_test', 'visualizer.name=ft_test', option])
    for key in trained:
        assert torch.equal(PROBE['tested'][key], trained[key]), key


def test_reinitialize_naming_no_model_weight_stops_before_loading(face5, tmp_path):
    with pytest.raises(CheckpointMismatchError, match=r"no model weight starts with "
                       r"\['haed\.'\]; model keys start with \['backbone\.', 'head\.'\]"):
        _train(face5, tmp_path / 'typo', "default_hooks.checkpoint_keys.reinitialize=['haed.']")
    assert 'loaded' not in PROBE


# ------------------------------------------------- the model's count vs the dataset's
def test_head_count_not_the_datasets_stops_training_naming_config_key_and_metainfo(
        face5, tmp_path):
    with pytest.raises(KeypointCountError) as err:
        _train(face5, tmp_path / 'count', 'model.head.num_joints=17',
               'default_hooks.checkpoint_keys.allow_shape_mismatch=True')
    message = str(err.value)
    assert message.startswith(f'{face5.config5}: the model predicts 17 keypoints '
                              f'(model.head.num_joints=17)')
    assert (f'train dataset: num_keypoints = 5 (keypoint_info of the metainfo file '
            f'{face5.metainfo})') in message
    assert '--cfg-options model.head.num_joints=5' in message
    assert PROBE == {}   # before the checkpoint was even read
    assert not list((tmp_path / 'count').glob('*.pth'))


def test_head_count_not_the_datasets_stops_testing_before_any_batch(face5, tmp_path):
    test = load_tool('test')
    with pytest.raises(KeypointCountError,
                       match=rf'(?s)^{re.escape(str(face5.config5))}: .*predicts 17 .*'
                             rf'test dataset: num_keypoints = 5 \(keypoint_info of the '
                             rf'metainfo file {re.escape(str(face5.metainfo))}\)'):
        test.main([str(face5.config5), str(face5.checkpoint), '--work-dir',
                   str(tmp_path), '--cfg-options', 'model.head.num_joints=17',
                   'experiment_name=ft_test', 'visualizer.name=ft_test'])
    assert not (tmp_path / 'test_metrics.json').exists()


def test_the_matching_17_keypoint_config_passes_the_count_check(face5):
    model = MODELS.build(Config.fromfile(str(face5.config17)).model)
    cfg = Config.fromfile(str(face5.config17))
    coco = SimpleNamespace(metainfo=parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py')))
    assert check_keypoint_counts(model, [('train', coco), ('val', coco)], cfg) == 17


class _OwnEstimator(BasePoseEstimator):
    """A plugin estimator whose head keeps its count in an attribute of its own."""

    def __init__(self, points):
        super().__init__()
        self.head = torch.nn.Conv2d(4, points, 1)
        self.head.points = points

    @property
    def spec(self):
        return EstimatorSpec(task='topdown2d', input_size=(8, 8),
                             num_keypoints=self.head.points)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.head(inputs)


def test_a_plugin_estimators_count_is_read_from_its_spec(face5):
    path = face5.root / 'own.py'
    path.write_text("model = dict(type='OwnEstimator', points=17)\n")
    cfg = Config.fromfile(str(path))
    face = SimpleNamespace(metainfo=parse_pose_metainfo(dict(from_file=str(face5.metainfo))))
    with pytest.raises(KeypointCountError) as err:
        check_keypoint_counts(_OwnEstimator(17), [('train', face)], cfg)
    assert str(err.value).startswith(f'{face5.root / "own.py"}: the model predicts 17 '
                                     'keypoints (model.spec.num_keypoints)')
    assert check_keypoint_counts(_OwnEstimator(5), [('train', face)], cfg) == 5
    # A model without the estimator contract is not checked (nothing to read).
    assert check_keypoint_counts(torch.nn.Linear(2, 2), [('train', face)], cfg) is None


# ------------------------------------------------------------ metainfo at parse time
METAINFO_CASES = {
    'sigmas_length': ('sigmas=[0.026, 0.025, 0.025, 0.035, 0.035]', 'sigmas=[0.026] * 17',
                      r"field 'sigmas': expected 5 values \(one per keypoint of "
                      r'keypoint_info\), found 17'),
    'joint_weights_length': ('joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0]',
                             'joint_weights=[1.0] * 4',
                             "field 'joint_weights': expected 5 values"),
    'flip_not_an_involution': ("swap='left_eye'),\n        3:", "swap='left_ear'),\n        3:",
                               r"field 'keypoint_info\[1\]\.swap': left_eye swaps with "
                               'right_eye, which swaps with left_ear: the flip map must '
                               'be its own inverse'),
    'flip_indices_not_an_involution': ("sigmas=", 'flip_indices=[0, 2, 3, 4, 1], sigmas=',
                                       r"field 'flip_indices': not its own inverse: "
                                       r'flip_indices\[1\] = 2 but flip_indices\[2\] = 3'),
    'flip_indices_not_a_permutation': ("sigmas=", 'flip_indices=[0, 2, 1, 3, 3], sigmas=',
                                       r"field 'flip_indices': not a permutation of 0\.\.4: "
                                       r'\[3\] appear more than once, \[4\] never'),
    'flip_indices_length': ("sigmas=", 'flip_indices=[0, 2, 1], sigmas=',
                            "field 'flip_indices': expected 5 indices"),
    'flip_pairs_sharing_a_joint': ("sigmas=", 'flip_pairs=[(1, 2), (2, 3)], sigmas=',
                                   r"field 'flip_pairs\[1\]': keypoint 2 is already "
                                   'paired with 1'),
    'num_keypoints_stated_wrong': ("sigmas=", 'num_keypoints=17, sigmas=',
                                   "field 'num_keypoints': is 17, but keypoint_info has 5"),
}


@pytest.mark.parametrize('case', list(METAINFO_CASES))
def test_metainfo_that_does_not_fit_its_keypoints_is_refused_naming_file_and_key(
        case, tmp_path):
    old, new, expected = METAINFO_CASES[case]
    assert old in FACE5
    path = tmp_path / f'{case}.py'
    path.write_text(FACE5.replace(old, new, 1))
    with pytest.raises(MetainfoError, match=f'^{re.escape(str(path))}: {expected}'):
        parse_pose_metainfo(dict(from_file=str(path)))


def test_a_stated_flip_map_that_agrees_is_accepted(tmp_path):
    path = tmp_path / 'stated.py'
    path.write_text(FACE5.replace('sigmas=', 'flip_indices=[0, 2, 1, 4, 3], '
                                  'flip_pairs=[(1, 2), (3, 4)], num_keypoints=5, sigmas='))
    meta = parse_pose_metainfo(dict(from_file=str(path)))
    assert meta['flip_indices'] == [0, 2, 1, 4, 3] and meta['flip_pairs'] == [(1, 2), (3, 4)]
