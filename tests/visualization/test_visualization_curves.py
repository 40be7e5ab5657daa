"""Training curves from mmengine scalars.json files, and the 3D skeleton comparison."""
import json

import cv2
import numpy as np
import pytest
from metainfo_values import H36M_SKELETON
from mmengine.visualization import LocalVisBackend

from hpekit.visualization import load_scalars, plot_training_curves, save_pose3d_comparison

# Lines as mmengine's LoggerHook writes them: training lines every `interval`
# iterations (step = iteration), one validation line per epoch (step = epoch).
TRAIN_LINE = dict(lr=1e-4, data_time=0.01, loss=None, time=0.2, epoch=None, iter=None,
                  memory=512, loss_joints=None)


def _lines(num_epochs=3, iters_per_epoch=4, start_loss=1.0):
    """The dicts of one run's scalars.json, in write order."""
    lines, it = [], 0
    for epoch in range(1, num_epochs + 1):
        for _ in range(iters_per_epoch):
            it += 1
            loss = start_loss / it
            lines.append(dict(TRAIN_LINE, loss=loss, loss_joints=loss, epoch=epoch,
                              iter=it, step=it))
        lines.append(dict(mpjpe=200.0 / epoch, n_mpjpe=180.0 / epoch,
                          pa_mpjpe=120.0 / epoch, mpjpe_pelvis=50.0, data_time=0.02,
                          time=0.1, step=epoch))
    return lines


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(line) + '\n' for line in lines))
    return path


def _check_png(path, min_size=200):
    image = cv2.imread(str(path))
    assert image is not None, f'{path} is not a readable image'
    assert image.shape[0] >= min_size and image.shape[1] >= min_size
    assert image.std() > 1.0  # something was drawn


def test_load_scalars_splits_train_and_val(tmp_path):
    path = _write(tmp_path / 'run' / 'vis_data' / 'scalars.json', _lines())
    scalars = load_scalars(path)
    steps, values = scalars['loss']
    np.testing.assert_array_equal(steps, np.arange(1, 13))
    np.testing.assert_allclose(values, 1.0 / np.arange(1, 13))
    steps, values = scalars['mpjpe']
    np.testing.assert_array_equal(steps, [1, 2, 3])
    np.testing.assert_allclose(values, [200.0, 100.0, 200.0 / 3])
    assert len(scalars['time'][0]) == 12 and len(scalars['val/time'][0]) == 3
    assert not {'step', 'epoch', 'iter'} & set(scalars)


def test_load_scalars_reads_what_mmengine_writes(tmp_path):
    backend = LocalVisBackend(save_dir=str(tmp_path))
    for line in _lines(num_epochs=2):
        line = dict(line)
        backend.add_scalars(line, step=line.pop('step'))
    scalars = load_scalars(tmp_path / 'scalars.json')
    assert len(scalars['loss'][0]) == 8
    np.testing.assert_array_equal(scalars['pa_mpjpe'][0], [1, 2])


def test_plot_training_curves_two_runs(tmp_path):
    run_a = _write(tmp_path / 'a' / '20240101_000000' / 'vis_data' / 'scalars.json',
                   _lines())
    run_b = _write(tmp_path / 'b' / 'scalars.json', _lines(start_loss=2.0))
    out = plot_training_curves([run_a, run_b], tmp_path / 'plots' / 'curves.png')
    _check_png(out)
    out = plot_training_curves(str(run_a), tmp_path / 'one.png', keys=['lr', 'mpjpe'],
                               labels=['baseline'])
    _check_png(out)


def test_missing_empty_and_unknown_key_errors(tmp_path):
    missing = tmp_path / 'nowhere' / 'scalars.json'
    with pytest.raises(FileNotFoundError, match='nowhere'):
        load_scalars(missing)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        plot_training_curves([missing], tmp_path / 'x.png')
    empty = tmp_path / 'empty.json'
    empty.write_text('\n')
    with pytest.raises(ValueError, match='empty.json'):
        plot_training_curves(empty, tmp_path / 'x.png')
    good = _write(tmp_path / 'good.json', _lines(num_epochs=1))
    with pytest.raises(ValueError, match="'pckh'.*available"):
        plot_training_curves(good, tmp_path / 'x.png', keys=['pckh'])
    with pytest.raises(ValueError, match='labels'):
        plot_training_curves(good, tmp_path / 'x.png', labels=['a', 'b'])
    assert not (tmp_path / 'x.png').exists()


def test_pose3d_comparison_png(tmp_path):
    gt = np.random.default_rng(0).normal(size=(17, 3)) * 0.3
    out = save_pose3d_comparison(gt + 0.05, gt, H36M_SKELETON, tmp_path / 'p' / 'pose.png',
                                 title='clip 0, frame 0')
    _check_png(out)
    with pytest.raises(ValueError, match='skeleton'):
        save_pose3d_comparison(gt, gt, [(0, 17)], tmp_path / 'bad.png')
    with pytest.raises(ValueError, match='pred'):
        save_pose3d_comparison(gt[:, :2], gt, H36M_SKELETON, tmp_path / 'bad.png')
