"""tools/misc/check_dataset.py and hpekit.datasets.inspection: a tiny COCO-format set
with a missing image, a corrupt image, a duplicated image file, a keypoint outside its
image and one outside its box; each is reported with the right counts, the picture
sheet is written, and the exit status is 1 only when an image cannot be read."""
import contextlib
import io
import json
import shutil

import cv2
import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.datasets import SyntheticH36MClips
from hpekit.datasets.base import build_pipeline
from hpekit.datasets.inspection import (DatasetCheckError, check_dataset, force_flip,
                                        run_pipeline, scan_images)
from hpekit.registry import DATASETS
from hpekit.utils import register_all_modules

META = '''dataset_info = dict(
    dataset_name='toy5',
    keypoint_info={
        0: dict(name='nose', id=0, color=[240, 200, 40], type='upper', swap=''),
        1: dict(name='left_eye', id=1, color=[60, 110, 230], type='upper', swap='right_eye'),
        2: dict(name='right_eye', id=2, color=[230, 60, 60], type='upper', swap='left_eye'),
        3: dict(name='left_paw', id=3, color=[60, 110, 230], type='lower', swap='right_paw'),
        4: dict(name='right_paw', id=4, color=[230, 60, 60], type='lower', swap='left_paw'),
    },
    skeleton_info={
        0: dict(link=('nose', 'left_eye'), id=0, color=[60, 110, 230]),
        1: dict(link=('nose', 'right_eye'), id=1, color=[230, 60, 60]),
        2: dict(link=('left_eye', 'left_paw'), id=2, color=[60, 110, 230]),
        3: dict(link=('right_eye', 'right_paw'), id=3, color=[230, 60, 60]),
    },
    joint_weights=[1.0] * 5,
    sigmas=[0.05] * 5)
'''
CONFIG = '''codec = dict(type='MSRAHeatmap', input_size=(24, 32), heatmap_size=(6, 8), sigma=1)
train_dataloader = dict(batch_size=2, dataset=dict(
    type='CocoDataset', data_root={root!r}, ann_file='annotations/train.json',
    data_prefix=dict(img='images/'), metainfo=dict(from_file={meta!r}),
    pipeline=[dict(type='LoadImage', input_size=codec['input_size']),
              dict(type='TopdownAffine', input_size=codec['input_size'], rotate_prob=1.0),
              dict(type='GenerateTarget', encoder=codec),
              dict(type='PackPoseInputs')]))
'''
W, H = 64, 48
# nose, left_eye, right_eye, left_paw, right_paw (x, y), inside the box below
POSE = [(32, 10), (36, 8), (28, 8), (40, 40), (24, 40)]
BOX = [20, 4, 24, 40]   # x 20..44, y 4..44


def _annotation(ann_id, image_id, moved=None, flags=None):
    """A COCO annotation of POSE; ``moved`` {k: (x, y)}, ``flags`` {k: v}."""
    points = []
    for k, (x, y) in enumerate(POSE):
        x, y = (moved or {}).get(k, (x, y))
        v = (flags or {}).get(k, 2)
        points += [x, y, v] if v else [0, 0, 0]
    return dict(id=ann_id, image_id=image_id, category_id=1, bbox=BOX, iscrowd=0,
                area=BOX[2] * BOX[3], keypoints=points,
                num_keypoints=sum(v > 0 for v in points[2::3]))


@pytest.fixture(scope='module')
def broken(tmp_path_factory):
    """(config path, data root): a.jpg; b.jpg the same bytes; c.jpg missing; d.jpg
    corrupt; e.jpg with a paw outside the image and an eye outside its box."""
    root = tmp_path_factory.mktemp('broken')
    images = root / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a.jpg', 'e.jpg'):
        cv2.imwrite(str(images / name), rng.integers(0, 255, (H, W, 3), np.uint8))
    shutil.copy(images / 'a.jpg', images / 'b.jpg')
    (images / 'd.jpg').write_bytes(b'\xff\xd8\xff\xe0 not a JPEG after all')
    names = ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg']
    anns = [_annotation(1, 1, flags={4: 1}),            # right paw labelled, hidden
            _annotation(2, 2, flags={3: 0}),            # left paw not labelled
            _annotation(3, 3), _annotation(4, 4),
            _annotation(5, 5, moved={3: (W + 6, 40)}),  # left paw outside the image
            _annotation(6, 5, moved={2: (10, 8)})]      # right eye outside the box
    (root / 'annotations').mkdir()
    for file, keep in (('train.json', names), ('good.json', ['a.jpg', 'b.jpg', 'e.jpg'])):
        ids = [names.index(n) + 1 for n in keep]
        data = dict(images=[dict(id=i, file_name=names[i - 1], width=W, height=H)
                            for i in ids],
                    annotations=[a for a in anns if a['image_id'] in ids],
                    categories=[dict(id=1, name='animal')])
        (root / 'annotations' / file).write_text(json.dumps(data))
    (root / 'toy5.py').write_text(META)
    config = root / 'toy5_config.py'
    config.write_text(CONFIG.format(root=f'{root}/', meta=str(root / 'toy5.py')))
    return config, root


def _run(config, out_dir, *options):
    tool = load_tool('misc/check_dataset')
    status = tool.main([str(config), '--out-dir', str(out_dir), '--num-pictures', '3',
                        *options])
    return status, json.loads((out_dir / 'dataset_check.json').read_text())


@pytest.fixture(scope='module')
def checked(broken, tmp_path_factory):
    """(exit status, report, printed text, out dir) of the check of the broken set."""
    out_dir = tmp_path_factory.mktemp('check')
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        status, report = _run(broken[0], out_dir)
    return status, report, text.getvalue(), out_dir


def test_every_broken_entry_is_reported_with_its_counts(broken, checked):
    _, root = broken
    status, report, text, _ = checked
    assert status == 1 and report['exit_status'] == 1
    train = report['phases']['train']
    images = root / 'images'
    # CocoDataset refuses the missing file when it loads (naming it); the check builds
    # it again with skip_invalid=True and reads the rest
    [refused] = train['load_errors']
    assert refused.startswith('FileNotFoundError: ') and '1 of 5 image files' in refused
    assert f'image file {images / "c.jpg"} not found' in refused
    assert train['rebuilt_with_skip_invalid'] is True
    assert (train['images'], train['people'], train['num_keypoints']) == (4, 5, 5)
    table = {row['name']: row for row in train['keypoints']}
    assert [table[n]['labelled'] for n in table] == [5, 5, 5, 4, 5]
    assert [table[n]['visible'] for n in table] == [5, 5, 5, 4, 4]   # v = 1: not visible
    assert train['unreadable_images'] == [
        dict(image=str(images / 'd.jpg'),
             error='cannot decode: the file is corrupt or not an image', samples=1)]
    assert train['duplicate_images'] == [[str(images / 'a.jpg'), str(images / 'b.jpg')]]
    out = train['out_of_image']
    assert out['count'] == 1 and table['left_paw']['out_of_image'] == 1
    assert out['per_keypoint'] == dict(nose=0, left_eye=0, right_eye=0, left_paw=1,
                                       right_paw=0)
    assert out['examples'] == [dict(image=str(images / 'e.jpg'), annotation_id=5,
                                    sample_idx=3, keypoint='left_paw', xy=[W + 6, 40],
                                    bounds=[0, 0, W, H])]
    box = train['out_of_box']
    # the paw outside the image is outside its (image-clipped) box as well
    assert box['count'] == 2 and box['box'] == ['bbox']
    assert [(e['annotation_id'], e['keypoint']) for e in box['examples']] == [
        (5, 'left_paw'), (6, 'right_eye')]
    assert train['unchecked_samples'] == 1   # the one on the corrupt image
    assert 'ERROR while loading: FileNotFoundError' in text
    assert 'ERROR: 1 image(s) cannot be read' in text and 'right_paw' in text
    assert 'WARNING: 1 group(s) of duplicate images' in text


def test_scan_images_reads_each_file_once_and_names_what_failed(tmp_path):
    good = tmp_path / 'good.png'
    cv2.imwrite(str(good), np.zeros((5, 7, 3), np.uint8))
    shutil.copy(good, tmp_path / 'same.png')
    (tmp_path / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'text.jpg').write_text('hello')
    paths = [str(tmp_path / n) for n in ('good.png', 'missing.jpg', 'empty.jpg',
                                         'text.jpg', 'same.png')]
    scan = scan_images(paths, progress=False)
    assert scan['sizes'] == {paths[0]: (7, 5), paths[4]: (7, 5)}
    assert scan['unreadable'] == [
        dict(image=paths[1], error='missing file'), dict(image=paths[2], error='empty file'),
        dict(image=paths[3], error='cannot decode: the file is corrupt or not an image')]
    assert scan['duplicates'] == [[paths[0], paths[4]]]


def test_the_sheet_draws_readable_samples_without_and_with_the_flip(checked):
    _, report, _, out_dir = checked
    sheet = report['samples_sheet']
    assert sheet['file'] == str(out_dir / 'samples_after_pipeline.jpg')
    assert sheet['phase'] == 'train' and sheet['pipeline_errors'] == []
    assert len(sheet['samples']) == 3 and set(sheet['samples']) <= {0, 1, 3, 4}
    picture = cv2.imread(sheet['file'])
    # two panels per sample, four to a row: 24 x 32 inputs enlarged to 192 x 256
    assert picture is not None and picture.shape[1] > 4 * 192 and picture.shape[0] > 256


def test_readable_images_exit_zero_and_keep_the_warnings(broken, tmp_path):
    config, _ = broken
    status, report = _run(config, tmp_path, '--cfg-options',
                          'train_dataloader.dataset.ann_file=annotations/good.json')
    train = report['phases']['train']
    assert status == 0 and train['unreadable_images'] == [] and train['load_errors'] == []
    assert train['rebuilt_with_skip_invalid'] is False
    assert (train['images'], train['people']) == (3, 4)
    assert train['out_of_image']['count'] == 1 and len(train['duplicate_images']) == 1


def test_the_forced_flip_mirrors_the_same_draw(broken):
    """Same seed, flip off and on: the flipped input is the mirror of the other one,
    each keypoint where its mirror-named partner was (x → W - 1 - x on hpekit's grid)."""
    config, _ = broken
    register_all_modules()
    tool = load_tool('misc/check_dataset')
    cfg = tool.load_config(str(config))
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                  ann_file='annotations/good.json'))
    pipeline = cfg.train_dataloader.dataset.pipeline
    runs = []
    for flip in (False, True):
        np.random.seed(3)
        runs.append(run_pipeline(build_pipeline(force_flip(pipeline, flip)),
                                 dataset.get_data_info(0)))
    plain, flipped = runs
    assert (plain['flip'], flipped['flip']) == (False, True)
    assert plain['rotation'] == flipped['rotation'] != 0   # the same draw otherwise
    order = dataset.metainfo['flip_indices']
    np.testing.assert_allclose(flipped['keypoints_input'][:, 0],
                               24 - 1 - plain['keypoints_input'][order, 0], atol=1e-3)
    np.testing.assert_allclose(flipped['keypoints_input'][:, 1],
                               plain['keypoints_input'][order, 1], atol=1e-3)
    np.testing.assert_array_equal(flipped['img'], plain['img'][:, ::-1])


def test_force_flip_sets_random_flip_or_the_affines_flip():
    steps = [dict(type='RandomFlip', prob=0.5), dict(type='TopdownAffine', flip_prob=0.0)]
    assert force_flip(steps, True) == [dict(type='RandomFlip', prob=1.0), steps[1]]
    assert force_flip(steps, False)[0]['prob'] == 0.0 and steps[0]['prob'] == 0.5
    val = [dict(type='TopdownAffine', augment=False)]
    assert force_flip(val, True) == [dict(type='TopdownAffine', augment=True, flip_prob=1.0,
                                          scale_factor=0.0, rotate_factor=0)]
    with pytest.raises(DatasetCheckError, match=r"\['LoadImage'\] has no RandomFlip"):
        force_flip([dict(type='LoadImage')], True)


def test_a_dataset_without_image_samples_is_refused_naming_the_field():
    clips = SyntheticH36MClips(num_samples=1, num_frames=2, image_size=16)
    with pytest.raises(DatasetCheckError, match="SyntheticH36MClips: sample 0 has no "
                       "'img_path'"):
        check_dataset(clips, progress=False)


def test_mpii_is_checked_as_well(mpii_root, tmp_path):
    status, report = _run('tests/configs/mpii_tiny.py', tmp_path, '--cfg-options',
                          f'data_root={mpii_root}')
    train = report['phases']['train']
    people = json.loads(open(f'{mpii_root}/annotations/mpii_train.json').read())
    assert status == 0 and train['dataset'] == 'MPIIDataset'
    assert train['people'] == len(people)
    assert train['images'] == len({p['image'] for p in people})
    assert len(train['out_of_box']['box']) == 1   # its bbox, or else its crop box
    assert train['visible_from'].startswith('keypoints_visible')
    labelled = sum(sum(v > 0 for v in p['joints_vis']) for p in people)
    assert train['labelled_keypoints'] == labelled
    assert report['samples_sheet']['file'] and report['samples_sheet']['pipeline_errors'] == []


def test_a_dataset_that_cannot_load_is_reported_and_exits_one(broken, tmp_path, capsys):
    config, root = broken
    status, report = _run(config, tmp_path, '--cfg-options',
                          'train_dataloader.dataset.ann_file=annotations/nope.json')
    train = report['phases']['train']
    assert status == 1 and report['samples_sheet'] is None
    assert train['dataset'] == 'CocoDataset' and 'people' not in train
    assert train['load_errors'][0].startswith(
        f'FileNotFoundError: COCO annotation file not found: {root / "annotations/nope.json"}')
    assert '(not checked: the dataset could not be built)' in capsys.readouterr().out
