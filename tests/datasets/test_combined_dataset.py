"""Mixing datasets with different keypoint sets: ``KeypointConverter`` maps a sample's
keypoints (and its flip map) into another keypoint set, ``CombinedDataset`` serves the
synthetic COCO and MPII twins as one 21-keypoint set."""
import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, pseudo_collate
from torch.utils.data import DataLoader

from hpekit.datasets import CombinedDataset, CombinedDatasetError, parse_pose_metainfo
from hpekit.datasets.transforms import KeypointConverter, TopdownAffine
from hpekit.datasets.transforms.keypoint_converter import KeypointMappingError

COMBINED = 'configs/_base_/datasets/coco_mpii_combined.py'
COCO_TO_COMBINED = [(i, i) for i in range(17)]
MPII_TO_COMBINED = [(0, 16), (1, 14), (2, 12), (3, 11), (4, 13), (5, 15), (6, 17), (7, 18),
                    (8, 19), (9, 20), (10, 10), (11, 8), (12, 6), (13, 5), (14, 7), (15, 9)]


# ------------------------------------------------------------ KeypointConverter
def four_points(**extra):
    """A 4-keypoint sample: 0/1 and 2/3 are left/right pairs (0, 1 upper)."""
    return dict(keypoints=np.array([[20, 10], [40, 10], [22, 30], [38, 30]], np.float32),
                keypoints_visible=np.array([1, 1, 0, 1], np.float32),
                flip_indices=[1, 0, 3, 2], upper_body_ids=[0, 1], lower_body_ids=[2, 3],
                dataset_keypoint_weights=np.array([1.0, 1.0, 2.0, 2.0], np.float32),
                sample_idx=7, **extra)


def test_mapping_reorders_and_leaves_unmapped_targets_unlabelled():
    out = KeypointConverter(6, [(3, 0), (2, 1), (0, 4), (1, 5)])(four_points())
    np.testing.assert_array_equal(out['keypoints'], [[38, 30], [22, 30], [0, 0], [0, 0],
                                                     [20, 10], [40, 10]])
    np.testing.assert_array_equal(out['keypoints_visible'], [1, 0, 0, 0, 1, 1])
    assert out['keypoints'].dtype == np.float32
    # the metainfo keys follow their keypoints; unmapped targets weigh nothing
    assert out['flip_indices'] == [1, 0, 2, 3, 5, 4]
    assert (out['upper_body_ids'], out['lower_body_ids']) == ([4, 5], [0, 1])
    np.testing.assert_array_equal(out['dataset_keypoint_weights'], [2, 2, 0, 0, 1, 1])


def test_instances_axis_and_coco_labelled_count():
    sample = four_points(num_keypoints=3)
    sample.pop('flip_indices')   # no flip map: nothing to relabel
    sample['keypoints'] = np.stack([sample['keypoints'], sample['keypoints'] + 1])
    sample['keypoints_visible'] = np.array([[1, 1, 0, 1], [0, 0, 0, 1]], np.float32)
    out = KeypointConverter(3, [(1, 0), (3, 2)])(sample)
    assert out['keypoints'].shape == (2, 3, 2)
    np.testing.assert_array_equal(out['keypoints'][1], [[41, 11], [0, 0], [39, 31]])
    np.testing.assert_array_equal(out['num_keypoints'], [2, 1])


def test_a_pair_source_is_the_mean_and_labelled_only_where_both_are():
    out = KeypointConverter(4, [((0, 1), 0), ((2, 3), 1), (3, 2), (2, 3)])(four_points())
    np.testing.assert_allclose(out['keypoints'][:2], [[30, 10], [30, 30]])
    np.testing.assert_array_equal(out['keypoints_visible'], [1, 0, 1, 0])
    # a pair of mirrored sources is its own mirror
    assert out['flip_indices'] == [0, 1, 3, 2]


def test_flip_indices_follow_the_mapping():
    converter = KeypointConverter(5, [(1, 4), (0, 2), ((0, 1), 0), (3, 1), (2, 3)])
    out = converter(four_points())
    # 4 <- 1 mirrors 2 <- 0; 0 <- (0, 1) is its own mirror; 1 <- 3 mirrors 3 <- 2
    assert out['flip_indices'] == [0, 3, 4, 1, 2]


def crop(sample, flip):
    affine = TopdownAffine(input_size=(32, 32), scale_factor=0.0, rotate_prob=0.0,
                           flip_prob=1.0 if flip else 0.0)
    sample = dict(sample, img=np.zeros((48, 64, 3), np.uint8), img_scale=1.0,
                  center=np.array([30.0, 20.0], np.float32),
                  bbox_size=np.array([44.0, 44.0], np.float32))
    return affine(sample)


def test_a_flip_after_the_conversion_is_the_conversion_of_the_flipped_sample():
    converter = KeypointConverter(5, [(1, 4), (0, 2), ((0, 1), 0), (3, 1), (2, 3)])
    person = dict(four_points(), keypoints=np.array([[17, 9], [40, 12], [23, 31], [36, 33]],
                                                    np.float32))
    flipped_then_converted = converter(crop(dict(person), flip=True))
    converted_then_flipped = crop(converter(dict(person)), flip=True)
    for key in ('keypoints_input', 'keypoints_visible', 'keypoints'):
        np.testing.assert_allclose(converted_then_flipped[key], flipped_then_converted[key],
                                   atol=1e-4, err_msg=key)
    # and the flip did move them: the unflipped crop differs
    assert not np.allclose(crop(converter(dict(person)), flip=False)['keypoints_input'],
                           converted_then_flipped['keypoints_input'], atol=0.5)


def test_mpii_mapped_into_the_combined_set_gets_the_combined_flip_map():
    mpii = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/mpii.py'))
    combined = parse_pose_metainfo(dict(from_file=COMBINED))
    sample = dict(keypoints=np.zeros((16, 2), np.float32),
                  keypoints_visible=np.ones(16, np.float32), flip_indices=mpii['flip_indices'],
                  upper_body_ids=mpii['upper_body_ids'], lower_body_ids=mpii['lower_body_ids'])
    out = KeypointConverter(21, MPII_TO_COMBINED)(sample)
    mapped = [t for _, t in MPII_TO_COMBINED]
    assert [out['flip_indices'][t] for t in mapped] == \
        [combined['flip_indices'][t] for t in mapped]
    assert set(out['upper_body_ids']) <= set(combined['upper_body_ids'])
    assert set(out['lower_body_ids']) <= set(combined['lower_body_ids'])


@pytest.mark.parametrize('num, mapping, message', [
    (3, [(0, 3)], r'mapping\[0\] = \(0, 3\): target index 3 is outside 0\.\.2'),
    (3, [(0, 0), (1, 2), (2, 0)], r'mapping\[2\] names target 0 again \(already mapping\[0\]\)'),
    (3, [(-1, 0)], r'mapping\[0\] = \(-1, 0\): source index -1 is negative'),
    (3, [((0, 1, 2), 0)], r'mapping\[0\].*a pair of indices'),
    (3, [(0, 1, 2)], r'mapping\[0\].*expected a pair \(source, target\)'),
    (0, [], r'num_keypoints must be a positive int'),
])
def test_a_bad_mapping_is_refused_when_built(num, mapping, message):
    with pytest.raises(KeypointMappingError, match=message):
        KeypointConverter(num, mapping)


def test_a_source_beyond_the_sample_is_refused_naming_entry_and_sample():
    converter = KeypointConverter(3, [(0, 0), (4, 1)])
    with pytest.raises(KeypointMappingError) as err:
        converter(four_points())
    text = str(err.value)
    assert 'KeypointConverter(num_keypoints=3, mapping=[(0, 0), (4, 1)])' in text
    assert 'mapping[1] reads source keypoint 4' in text and '4 keypoints' in text
    assert 'sample_idx 7' in text


def test_a_converter_after_generate_target_is_refused():
    with pytest.raises(KeypointMappingError, match='before GenerateTarget'):
        KeypointConverter(4, [(0, 0)])(four_points(heatmaps=np.zeros((4, 8, 8))))


def test_a_source_whose_mirror_feeds_no_target_is_refused():
    """Left keypoint 0 kept without its mirror 1: a flip could not relabel it."""
    with pytest.raises(KeypointMappingError, match=r'target 0 takes source 0, whose mirror 1'):
        KeypointConverter(2, [(0, 0)])(four_points())


# ------------------------------------------------------------- CombinedDataset
@pytest.fixture(scope='module')
def twins(tmp_path_factory):
    """Tiny synthetic COCO (17 keypoints) and MPII (16 keypoints) folders."""
    from hpekit.datasets.synthetic.coco import write_coco_split
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    root = tmp_path_factory.mktemp('twins')
    write_coco_split(str(root / 'coco'), num_train=0, num_val=2, image_size=(160, 120),
                     progress=False)
    write_mpii_split(str(root / 'mpii'), num_train=1, num_val=2, image_size=(160, 120),
                     progress=False)
    return root


def coco_part(root, converter=True, **extra):
    return dict(type='CocoDataset', data_root=str(root / 'coco'),
                ann_file='annotations/person_keypoints_val2017.json',
                data_prefix=dict(img='val2017/'), input_size=(32, 32),
                pipeline=[dict(type='KeypointConverter', num_keypoints=21,
                               mapping=COCO_TO_COMBINED)] if converter else [], **extra)


def mpii_part(root, mapping=MPII_TO_COMBINED, num=21):
    return dict(type='MPIIDataset', data_root=str(root / 'mpii'),
                ann_file='annotations/mpii_val.json',
                pipeline=[dict(type='KeypointConverter', num_keypoints=num, mapping=mapping)])


CROP = [dict(type='LoadImage', input_size=(32, 32)),
        dict(type='TopdownAffine', input_size=(32, 32), augment=False),
        dict(type='PackPoseInputs', meta_keys=('sample_idx', 'flip_indices', 'bbox'))]


@pytest.fixture(scope='module')
def parts(twins):
    """The two parts, built once (each build costs mmengine's gc.collect)."""
    return combined([coco_part(twins), mpii_part(twins)]).datasets


def combined(datasets, pipeline=(), **extra):
    return CombinedDataset(metainfo=dict(from_file=COMBINED), datasets=datasets,
                           pipeline=list(pipeline), **extra)


def test_samples_of_both_sets_in_the_combined_order(twins, parts):
    dataset = combined(parts)
    sizes = [len(d) for d in dataset.datasets]
    assert len(dataset) == sum(sizes) and min(sizes) > 0
    assert dataset.metainfo['num_keypoints'] == 21
    assert dataset.metainfo['keypoint_id2name'][20] == 'head_top'
    meta = parse_pose_metainfo(dict(from_file=COMBINED))
    coco_only, mpii_only = list(range(5)), [17, 18, 19, 20]
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        from_coco = idx < sizes[0]
        assert info['keypoints'].shape == (21, 2)
        assert info['flip_indices'] == meta['flip_indices']
        assert info['upper_body_ids'] == meta['upper_body_ids']
        np.testing.assert_array_equal(info['dataset_keypoint_weights'],
                                      meta['dataset_keypoint_weights'])
        assert not info['keypoints_visible'][mpii_only if from_coco else coco_only].any()
        assert info['img_path'].startswith(str(twins / ('coco' if from_coco else 'mpii')))
    # an MPII sample: its head top (MPII 9) is combined keypoint 20
    mpii = dataset.datasets[1].get_data_info(0)
    np.testing.assert_array_equal(dataset.get_data_info(sizes[0])['keypoints'][20],
                                  mpii['keypoints'][9])


def test_the_combined_pipeline_runs_last_and_packs_the_combined_flip_map(parts):
    dataset = combined(parts, CROP, test_mode=True)
    item = dataset[len(dataset) - 1]
    assert item['inputs'].shape == (3, 32, 32)
    sample = item['data_samples']
    assert sample.gt_keypoints.shape == (21, 2)
    assert sample.metainfo['flip_indices'] == dataset.metainfo['flip_indices']
    assert sample.metainfo['bbox'].shape == (4, )   # MPII's box, for PCKAccuracy


def test_works_with_mmengines_sampler_on_two_ranks(parts, monkeypatch):
    dataset = combined(parts, CROP, test_mode=True)
    seen = []
    for rank in range(2):
        monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info', lambda r=rank: (r, 2))
        sampler = DefaultSampler(dataset, shuffle=True, seed=3, round_up=False)
        loader = DataLoader(dataset, batch_size=8, sampler=sampler, collate_fn=pseudo_collate)
        for batch in loader:
            assert all(s.gt_keypoints.shape == (21, 2) for s in batch['data_samples'])
            seen += [(tuple(s.metainfo['bbox'].tolist()), s.metainfo['sample_idx'])
                     for s in batch['data_samples']]
    assert len(seen) == len(set(seen)) == len(dataset)   # each sample on one rank


def test_sample_ratio_factor_resamples_each_set_as_mmpose(parts):
    sizes = [len(d) for d in parts]
    dataset = combined(parts, sample_ratio_factor=[2.0, 0.5])
    assert dataset._lens == [2 * sizes[0], round(0.5 * sizes[1])]
    np.random.seed(0)
    for idx in range(len(dataset)):
        subset, local = dataset.locate(idx)
        if idx < 2 * sizes[0]:   # each source sample twice, in order
            assert (subset, local) == (0, idx // 2)
        else:
            assert subset == 1 and 0 <= local < sizes[1]
    assert len(combined(parts, sample_ratio_factor=[1, 0])) == sizes[0]
    # test mode: the first index of each share, the same every time
    fixed = combined(parts, sample_ratio_factor=[1, 0.5], test_mode=True)
    assert [fixed.locate(sizes[0] + j)[1] for j in range(fixed._lens[1])] == \
        [int(j * sizes[1] / fixed._lens[1]) for j in range(fixed._lens[1])]
    with pytest.raises(CombinedDatasetError, match='one factor per sub-dataset'):
        combined(parts, sample_ratio_factor=[1.0])
    with pytest.raises(CombinedDatasetError, match=r'sample_ratio_factor\[1\]'):
        combined(parts, sample_ratio_factor=[1.0, -1])


def test_a_set_with_another_keypoint_count_is_refused_naming_it_and_the_fix(twins):
    with pytest.raises(CombinedDatasetError) as err:
        combined([mpii_part(twins), coco_part(twins, converter=False)])
    text = str(err.value)
    assert 'datasets[1] (CocoDataset) gives 17 keypoints' in text
    assert COMBINED in text and 'has 21 keypoints' in text
    assert "end datasets[1].pipeline with dict(type='KeypointConverter', num_keypoints=21" \
        in text
    with pytest.raises(CombinedDatasetError, match=r'datasets\[0\] \(MPIIDataset\) its '
                       'KeypointConverter maps to 20, but'):
        combined([mpii_part(twins, mapping=[(i, i) for i in range(16)], num=20)])


def test_a_converter_reading_keypoints_the_set_lacks_is_refused(twins):
    with pytest.raises(KeypointMappingError, match=r'datasets\[1\] \(MPIIDataset\).*reads '
                       r'source keypoint 16, but the dataset has 16 keypoints'):
        combined([coco_part(twins), mpii_part(twins, mapping=[(16, 0)])])
    with pytest.raises(KeypointMappingError, match=r'datasets\[0\]\.pipeline\[0\].*names '
                       'target 0 again'):
        combined([mpii_part(twins, mapping=[(0, 0), (1, 0)])])


def test_a_sample_of_another_count_is_refused_when_served(twins):
    part = mpii_part(twins)
    part['pipeline'].append(lambda results: dict(results, keypoints=results['keypoints'][:20]))
    dataset = combined([part])
    with pytest.raises(CombinedDatasetError, match=r'datasets\[0\] \(MPIIDataset\) gave a '
                       r'sample \(sample_idx 0\) with keypoints \(20, 2\)'):
        dataset.get_data_info(0)


def test_coco_boxes_must_fit_the_combined_crop(twins):
    part = coco_part(twins)
    part.pop('input_size')
    with pytest.raises(CombinedDatasetError, match=r"set input_size=\(32, 32\).*datasets\[0\]"):
        combined([part], CROP)


def test_no_datasets_is_refused():
    with pytest.raises(CombinedDatasetError, match='at least one dataset'):
        combined([])


def test_data_root_is_the_default_of_the_parts(twins):
    part = mpii_part(twins)
    part.pop('data_root')
    dataset = combined([part], data_root=str(twins / 'mpii'))
    assert dataset.datasets[0].data_root == str(twins / 'mpii')
    assert dataset[0]['keypoints'].shape == (21, 2)
