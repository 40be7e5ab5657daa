"""Pre-flight for your own keypoints: a wrong flip map and a head of the wrong size
each stop a real training start (``tools/train.py``, in this process) before the
first step, with an error that names the fix.

Data: 4 + 2 synthetic COCO images at 64×64 (``tests/configs/coco_tiny.py``'s
hourglass, ``configs/coco/rtmpose_synthetic-quick.py``'s SimCC head).
"""
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from tool_loader import load_tool

from hpekit.datasets.metainfo import MetainfoError, parse_pose_metainfo
from hpekit.engine.hooks import KeypointCountError
from hpekit.engine.hooks.keypoint_count import check_keypoint_counts

ROOT = Path(__file__).resolve().parents[2]
HOURGLASS = ROOT / 'tests' / 'configs' / 'coco_tiny.py'
RTMPOSE = ROOT / 'configs' / 'coco' / 'rtmpose_synthetic-quick.py'
COCO_META = ROOT / 'configs' / '_base_' / 'datasets' / 'coco.py'


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from hpekit.datasets.synthetic.coco import write_coco_split
    root = tmp_path_factory.mktemp('coco')
    write_coco_split(str(root), 4, 2, image_size=(64, 64), progress=False)
    return root


def _metainfo(folder, name, extra=''):
    """COCO's metainfo with the eyes' swaps removed (a wrong flip map), plus
    ``extra`` keys, written to ``folder/name``."""
    text = COCO_META.read_text()
    for swap in ("swap='right_eye'", "swap='left_eye'"):
        assert swap in text
        text = text.replace(swap, "swap=''")
    text = text.replace('dataset_info = dict(', f'dataset_info = dict({extra}', 1)
    path = folder / name
    path.write_text(text)
    return path


def _train(config, work_dir, data_root, *options):
    name = work_dir.name
    return load_tool('train').main([
        str(config), '--work-dir', str(work_dir), '--cfg-options', f'data_root={data_root}/',
        f'experiment_name=preflight_{name}', f'visualizer.name=preflight_{name}', *options])


def _assert_nothing_trained(work_dir):
    """No checkpoint, no metrics and no logged training iteration under work_dir."""
    assert not list(work_dir.rglob('*.pth')) and not (work_dir / 'last_checkpoint').exists()
    assert not (work_dir / 'metrics.json').exists()
    logs = list(work_dir.rglob('*.log'))
    assert logs, 'the Runner did start (it writes its log first)'
    for log in logs:
        assert not re.search(r'(Epoch|Iter)\(train\)', log.read_text()), log


def test_a_wrong_flip_map_stops_training_naming_keypoint_partner_and_fix(data_root,
                                                                        tmp_path):
    bad = _metainfo(tmp_path, 'my_keypoints.py')
    work = tmp_path / 'flip'
    with pytest.raises(MetainfoError) as err:
        _train(HOURGLASS, work, data_root, f'train_dataloader.dataset.metainfo.from_file={bad}',
               f'val_dataloader.dataset.metainfo.from_file={bad}')
    message = str(err.value)
    assert message.startswith(f"{bad}: field 'keypoint_info[1].swap': the flip map does not "
                              'follow the left/right keypoint names')
    assert ("left_eye (keypoint_info[1]) has swap='', but its name says its mirror is "
            'right_eye (keypoint_info[2])') in message
    assert "Fix: set swap='right_eye' in keypoint_info[1], swap='left_eye' in " \
           'keypoint_info[2]' in message
    assert "flip_check='off'" in message
    _assert_nothing_trained(work)


def test_flip_check_off_passes_the_flip_map_and_a_wrong_heatmap_head_stops(data_root,
                                                                           tmp_path):
    """flip_check='off' trusts the swaps; the run then stops at the head's size (a
    stacked hourglass: its backbone predicts heatmaps too, both keys are named)."""
    trusted = _metainfo(tmp_path, 'trusted.py', extra="flip_check='off', ")
    assert parse_pose_metainfo(dict(from_file=str(trusted)))['flip_indices'][1:3] == [1, 2]
    work = tmp_path / 'heatmap'
    with pytest.raises(KeypointCountError) as err:
        _train(HOURGLASS, work, data_root,
               f'train_dataloader.dataset.metainfo.from_file={trusted}',
               'model.backbone.num_joints=16', 'model.head.num_joints=16')
    message = str(err.value)
    assert message.startswith(f'{HOURGLASS}: the model predicts 16 keypoints '
                              '(model.backbone.num_joints=16, model.head.num_joints=16) but')
    assert f'train dataset: num_keypoints = 17 (keypoint_info of the metainfo file ' \
           f'{trusted})' in message
    assert 'Stopped before any training or testing step. Set --cfg-options ' \
           'model.backbone.num_joints=17 model.head.num_joints=17' in message
    _assert_nothing_trained(work)


def test_a_wrong_simcc_head_stops_naming_out_channels(data_root, tmp_path):
    work = tmp_path / 'simcc'
    with pytest.raises(KeypointCountError) as err:
        _train(RTMPOSE, work, data_root, 'model.head.out_channels=16')
    message = str(err.value)
    assert '(model.head.out_channels=16)' in message
    assert 'Set --cfg-options model.head.out_channels=17,' in message
    _assert_nothing_trained(work)


def test_a_count_left_at_its_default_is_named_with_its_key():
    """A head whose count is its argument's default (JointRegressionHead's
    num_joints=17), not written in the config: the key to set is still named."""
    cfg = Config(dict(model=dict(type='VideoPoseRegressor',
                                 head=dict(type='JointRegressionHead', in_channels=8))))
    model = SimpleNamespace(spec=SimpleNamespace(num_keypoints=17))
    mpii = SimpleNamespace(metainfo=parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/mpii.py')))
    with pytest.raises(KeypointCountError) as err:
        check_keypoint_counts(model, [('train', mpii)], cfg)
    message = str(err.value)
    assert 'the model predicts 17 keypoints (model.head.num_joints=17 by default)' in message
    assert 'Set --cfg-options model.head.num_joints=16,' in message
