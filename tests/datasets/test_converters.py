"""Annotation converters (labelme, CVAT for images 1.1 → COCO keypoints + metainfo.py)
on exports written by the synthetic custom-keypoint generator: the keypoints come
back exactly, the metainfo parses, flip pairs are proposed from the names, boxes are
drawn or derived by the stated rule, the split is reproducible, and every bad input
raises a named error with nothing written."""
import json
import os

import numpy as np
import pytest
from tool_loader import load_tool

from hpekit.datasets import CocoDataset, parse_pose_metainfo
from hpekit.datasets.coco import load_coco
from hpekit.datasets.converters import (DEFAULT_SIGMA, AnnotationFormatError,
                                        ConversionOptionError, convert_to_coco,
                                        propose_flip_pairs, read_cvat_xml,
                                        read_labelme_dir, split_images)
from hpekit.datasets.synthetic.custom import (ANIMAL_KEYPOINTS, ANIMAL_SKELETON,
                                              write_cvat_dataset, write_labelme_dataset)

K = len(ANIMAL_KEYPOINTS)
MARGIN = 0.1


@pytest.fixture(scope='module')
def labelme_export(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('labelme'))
    return write_labelme_dataset(folder, num=8, seed=0, progress=False)


@pytest.fixture(scope='module')
def cvat_export(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('cvat'))
    return write_cvat_dataset(folder, num=8, seed=0, progress=False)


def _load(out):
    """(train COCO dict, val COCO dict, parsed metainfo) of a conversion in ``out``,
    each through hpekit's own readers."""
    meta = parse_pose_metainfo(dict(from_file=str(out / 'metainfo.py')))
    cocos = [load_coco(str(out / 'annotations' / f'{s}.json'), meta['num_keypoints'],
                       for_eval=True).dataset for s in ('train', 'val')]
    return cocos[0], cocos[1], meta


def _expected_box(points, width, height):
    """The stated rule: keypoint extent + MARGIN × extent per side, clipped."""
    xy = np.array(points)
    low, high = xy.min(0), xy.max(0)
    pad = MARGIN * (high - low)
    return np.concatenate([np.clip(low - pad, 0, [width, height]),
                           np.clip(high + pad, 0, [width, height])])


def _check_round_trip(export, train, val):
    """Every written animal comes back: keypoints exactly, boxes as drawn or derived."""
    images = {im['file_name']: im for im in train['images'] + val['images']}
    anns = {}
    for ann in train['annotations'] + val['annotations']:
        anns.setdefault(ann['image_id'], []).append(ann)
    counts = dict(drawn=0, derived=0, occluded=0, outside=0)
    for truth in export['images']:
        image = images[truth['file_name']]
        written = [a for a in truth['animals'] if any(a['visibility']) or a['box']]
        got = sorted(anns.get(image['id'], []), key=lambda a: a['id'])
        assert len(got) == len(written)
        for animal, ann in zip(written, got):
            kpts = np.array(ann['keypoints'], np.float64).reshape(K, 3)
            for (x, y), v, row in zip(animal['keypoints'], animal['visibility'], kpts):
                assert row.tolist() == ([x, y, v] if v else [0, 0, 0])
            counts['occluded'] += animal['visibility'].count(1)
            counts['outside'] += animal['visibility'].count(0)
            assert ann['num_keypoints'] == sum(v > 0 for v in animal['visibility'])
            x, y, w, h = ann['bbox']
            if animal['box'] is not None:
                counts['drawn'] += 1
                assert [x, y] == animal['box'][:2]
                assert (x + w, y + h) == pytest.approx(animal['box'][2:], abs=1e-9)
            else:
                counts['derived'] += 1
                labelled = [p for p, v in zip(animal['keypoints'], animal['visibility']) if v]
                assert [x, y, x + w, y + h] == pytest.approx(
                    _expected_box(labelled, image['width'], image['height']), abs=0.006)
            assert ann['area'] == pytest.approx(w * h)
    return counts


def test_labelme_round_trip(labelme_export, tmp_path):
    out = tmp_path / 'coco'
    summary = convert_to_coco(read_labelme_dir(labelme_export['folder']), str(out),
                              keypoints=ANIMAL_KEYPOINTS,
                              skeleton=[f'{a}-{b}' for a, b in ANIMAL_SKELETON])
    train, val, meta = _load(out)
    assert sorted(os.listdir(out)) == ['annotations', 'metainfo.py']
    assert list(meta['keypoint_name2id']) == list(ANIMAL_KEYPOINTS)
    index = {n: i for i, n in enumerate(ANIMAL_KEYPOINTS)}
    assert meta['skeleton_links'] == [(index[a], index[b]) for a, b in ANIMAL_SKELETON]
    assert train['categories'][0]['keypoints'] == list(ANIMAL_KEYPOINTS)
    assert train['categories'][0]['skeleton'] == [[index[a] + 1, index[b] + 1]
                                                  for a, b in ANIMAL_SKELETON]
    counts = _check_round_trip(labelme_export, train, val)
    assert counts['drawn'] and counts['derived'] and counts['outside']
    assert counts['occluded'] == 0          # labelme has no visibility flag: v = 2
    assert (summary.boxes_drawn, summary.boxes_derived) == (counts['drawn'],
                                                            counts['derived'])
    assert summary.num_images == 8 == len(train['images']) + len(val['images'])


def test_cvat_round_trip_takes_order_and_skeleton_from_the_export(cvat_export, tmp_path):
    out = tmp_path / 'coco'
    summary = convert_to_coco(read_cvat_xml(cvat_export['xml'], cvat_export['images_dir']),
                              str(out))
    train, val, meta = _load(out)
    assert list(meta['keypoint_name2id']) == list(ANIMAL_KEYPOINTS)
    index = {n: i for i, n in enumerate(ANIMAL_KEYPOINTS)}
    assert meta['skeleton_links'] == [(index[a], index[b]) for a, b in ANIMAL_SKELETON]
    assert train['categories'][0]['name'] == 'animal'
    counts = _check_round_trip(cvat_export, train, val)
    assert counts['drawn'] and counts['derived'] and counts['occluded'] and counts['outside']
    assert summary.num_occluded == counts['occluded']
    assert summary.order_from == 'the cvat skeleton'


def test_flip_pairs_proposed_and_marked(cvat_export, tmp_path):
    out = tmp_path / 'coco'
    convert_to_coco(read_cvat_xml(cvat_export['xml'], cvat_export['images_dir']), str(out))
    meta = parse_pose_metainfo(dict(from_file=str(out / 'metainfo.py')))
    index = {n: i for i, n in enumerate(ANIMAL_KEYPOINTS)}
    expected = sorted((index[f'left_{p}'], index[f'right_{p}'])
                      for p in ('ear', 'forepaw', 'hindpaw'))
    assert meta['flip_pairs'] == expected
    text = (out / 'metainfo.py').read_text()
    assert 'PROPOSED FROM THE NAMES' in text
    assert text.count('CONFIRM') == 1 + 2 * len(expected)     # header + each swap line
    colours = meta['keypoint_colors']
    left, right = (colours[index[n]].tolist() for n in ('left_ear', 'right_ear'))
    centre = colours[index['nose']].tolist()
    assert len({tuple(left), tuple(right), tuple(centre)}) == 3
    assert meta['sigmas'].tolist() == pytest.approx([DEFAULT_SIGMA] * K)
    assert meta['sigmas_default'] is True


@pytest.mark.parametrize('names, pairs, unpaired', [
    (['LShoulder', 'RShoulder', 'Nose'], [('LShoulder', 'RShoulder')], []),
    (['paw_l', 'paw_r', 'l_eye', 'r_eye'], [('paw_l', 'paw_r'), ('l_eye', 'r_eye')], []),
    (['right_ear', 'left_ear', 'left_eye'], [('left_ear', 'right_ear')], ['left_eye']),
    (['LeftWing', 'RightWing', 'wing_left', 'wing_right', 'Lid', 'tail_base'],
     [('LeftWing', 'RightWing'), ('wing_left', 'wing_right')], []),
])
def test_flip_pair_proposal_spellings(names, pairs, unpaired):
    assert propose_flip_pairs(names) == (pairs, unpaired)


def test_given_flip_pairs_and_sigmas_override(labelme_export, tmp_path):
    sigma_file = tmp_path / 'sigmas.json'
    sigma_file.write_text(json.dumps({n: 0.02 + 0.01 * i for i, n in
                                      enumerate(ANIMAL_KEYPOINTS)}))
    out = tmp_path / 'coco'
    summary = convert_to_coco(
        read_labelme_dir(labelme_export['folder']), str(out), keypoints=ANIMAL_KEYPOINTS,
        flip_pairs='right_ear-left_ear,left_forepaw-right_forepaw,'
                   'left_hindpaw-right_hindpaw', sigmas=str(sigma_file),
        keypoint_types={'nose': 'upper'})
    meta = parse_pose_metainfo(dict(from_file=str(out / 'metainfo.py')))
    assert meta['flip_pairs'] == [(1, 2), (4, 5), (6, 7)]
    assert not summary.flip_pairs_proposed
    assert meta['sigmas'].tolist() == pytest.approx([0.02 + 0.01 * i for i in range(K)])
    assert meta['sigmas_default'] is False and meta['upper_body_ids'] == [0]
    assert 'PROPOSED' not in (out / 'metainfo.py').read_text()


def test_flip_pairs_against_the_names_are_refused(labelme_export, tmp_path):
    out = tmp_path / 'coco'
    with pytest.raises(ConversionOptionError, match='--flip-pairs') as info:
        convert_to_coco(read_labelme_dir(labelme_export['folder']), str(out),
                        flip_pairs='left_ear-right_ear')
    assert 'left_forepaw' in str(info.value)
    assert _no_output(out)


@pytest.mark.parametrize('sigmas, problem', [('0.1,0.2', 'expected 9 values'),
                                             ('-0.1', 'positive'), ('abc', 'neither')])
def test_bad_sigmas_are_named(labelme_export, tmp_path, sigmas, problem):
    with pytest.raises(ConversionOptionError, match=problem):
        convert_to_coco(read_labelme_dir(labelme_export['folder']), str(tmp_path / 'o'),
                        sigmas=sigmas)
    assert _no_output(tmp_path / 'o')


def test_split_is_reproducible_by_image(labelme_export, tmp_path):
    names = [f'im{i:03d}.jpg' for i in range(30)]
    val = split_images(names, 0.2, seed=0)
    assert len(val) == 6 and val <= set(names)
    assert split_images(list(reversed(names)), 0.2, seed=0) == val    # order-free
    assert any(split_images(names, 0.2, seed=s) != val for s in (1, 2, 3))
    outputs = []
    for run in ('a', 'b'):
        convert_to_coco(read_labelme_dir(labelme_export['folder']), str(tmp_path / run),
                        val_ratio=0.25, seed=3, dataset_name='mice')
        outputs.append([(tmp_path / run / 'annotations' / f'{s}.json').read_bytes()
                        for s in ('train', 'val')])
    assert outputs[0] == outputs[1]
    val_json = json.loads(outputs[0][1])
    assert len(val_json['images']) == 2                                # 0.25 × 8


def test_printed_settings_load_as_a_coco_dataset(labelme_export, tmp_path):
    out = tmp_path / 'coco'
    summary = convert_to_coco(read_labelme_dir(labelme_export['folder']), str(out),
                              keypoints=ANIMAL_KEYPOINTS)
    dataset = CocoDataset(data_root=str(out), ann_file='annotations/train.json',
                          data_prefix=dict(img=summary.data_prefix),
                          metainfo=dict(from_file=str(out / 'metainfo.py')))
    info = dataset.get_data_info(0)
    assert os.path.isfile(info['img_path']) and info['keypoints'].shape == (K, 2)
    assert dataset.metainfo['num_keypoints'] == K


# ------------------------------------------------------------------ hand-made exports
def _labelme(folder, name, shapes, size=(64, 48)):
    """A labelme JSON (and its tiny image file) in ``folder``."""
    folder.mkdir(exist_ok=True)
    (folder / f'{name}.jpg').write_bytes(b'not decoded by the converter')
    data = dict(version='5.4.1', flags={}, shapes=shapes, imagePath=f'{name}.jpg',
                imageData=None, imageWidth=size[0], imageHeight=size[1])
    (folder / f'{name}.json').write_text(json.dumps(data))
    return folder / f'{name}.json'


def _point(label, x, y, group=None):
    return dict(label=label, points=[[x, y]], group_id=group, shape_type='point', flags={})


def test_labelme_first_seen_order_rectangles_and_ignored_shapes(tmp_path):
    folder = tmp_path / 'lm'
    _labelme(folder, 'b', [_point('x', 1, 2), _point('y', 3, 4)])
    _labelme(folder, 'a', [_point('z', 5, 6, 1), _point('x', 7, 8, 1),
                           dict(label='cat', points=[[30, 20], [10, 4]], group_id=1,
                                shape_type='rectangle'),
                           dict(label='zone', points=[[0, 0], [1, 1], [0, 1]],
                                group_id=None, shape_type='polygon')])
    summary = convert_to_coco(read_labelme_dir(str(folder)), str(tmp_path / 'out'),
                              val_ratio=0)
    assert summary.keypoint_names == ['z', 'x', 'y']       # a.json's names first
    assert summary.ignored_shapes == {'polygon': 1}
    train = json.loads((tmp_path / 'out' / 'annotations' / 'train.json').read_text())
    first = [a for a in train['annotations'] if a['image_id'] == 1][0]
    assert first['bbox'] == [10, 4, 20, 16]                   # corners as drawn, ordered
    assert first['keypoints'] == [5, 6, 2, 7, 8, 2, 0, 0, 0]


CVAT_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def _cvat(tmp_path, body, meta='', images=('a.jpg',)):
    img_dir = tmp_path / 'images'
    img_dir.mkdir(exist_ok=True)
    for name in images:
        (img_dir / name).write_bytes(b'x')
    xml = tmp_path / 'annotations.xml'
    xml.write_text(f'{CVAT_HEAD}<annotations><version>1.1</version><meta><task><labels>'
                   f'{meta}</labels></task></meta>{body}</annotations>')
    return str(xml), str(img_dir)


def test_cvat_plain_points_grouped_with_boxes(tmp_path):
    xml, images = _cvat(tmp_path, (
        '<image id="0" name="a.jpg" width="100" height="80">'
        '<points label="head" points="10.5,20.25" occluded="1" group_id="4"/>'
        '<points label="tail" points="30,40" occluded="0" group_id="4"/>'
        '<box label="rat" xtl="5" ytl="6" xbr="50.5" ybr="60" group_id="4"/>'
        '<points label="head" points="70,10" occluded="0"/>'
        '<polygon label="cage" points="0,0;1,1;2,0"/></image>'))
    summary = convert_to_coco(read_cvat_xml(xml, images), str(tmp_path / 'out'),
                              val_ratio=0)
    train = json.loads((tmp_path / 'out' / 'annotations' / 'train.json').read_text())
    grouped, single = sorted(train['annotations'], key=lambda a: a['id'])
    assert grouped['keypoints'] == [10.5, 20.25, 1, 30, 40, 2]
    assert grouped['bbox'] == [5, 6, 45.5, 54]
    assert single['keypoints'] == [70, 10, 2, 0, 0, 0]
    assert (summary.boxes_drawn, summary.boxes_derived) == (1, 1)
    assert summary.ignored_shapes == {'polygon': 1} and summary.skeleton == []


# ------------------------------------------------------------------ bad input
def _no_output(out):
    """Neither the output folder nor a temporary folder beside it exists."""
    return not out.exists() and not [p for p in out.parent.iterdir()
                                     if p.name.startswith(f'.{out.name}.')]


def _labelme_case(case, tmp_path):
    """(folder, convert kwargs, error type, words the message must hold)."""
    folder = tmp_path / 'lm'
    folder.mkdir()
    good = [_point('a', 1, 2), _point('b', 3, 4)]
    if case == 'unknown label':
        path = _labelme(folder, 'a', good + [_point('c', 5, 6)])
        return folder, dict(keypoints=['a', 'b']), AnnotationFormatError, [
            str(path), 'shapes[2]', "'c'"]
    if case == 'empty label':
        path = _labelme(folder, 'a', good + [_point('', 5, 6)])
        return folder, {}, AnnotationFormatError, [str(path), 'shapes[2]', 'label',
                                                   'no name']
    if case == 'point twice':
        path = _labelme(folder, 'a', good + [_point('a', 5, 6)])
        return folder, {}, AnnotationFormatError, [str(path), 'shapes[2]', 'twice']
    _labelme(folder, 'a', good)
    if case == 'skeleton edge to a missing keypoint':
        return folder, dict(skeleton='a-b,b-tail'), ConversionOptionError, [
            '--skeleton', "'tail'"]
    if case == 'flip pair names a keypoint twice':
        _labelme(folder, 'b', [_point('c', 1, 1)])
        return folder, dict(flip_pairs='a-b,a-c'), ConversionOptionError, [
            '--flip-pairs', "'a'", 'twice']
    if case == 'truncated json':
        path = _labelme(folder, 'c', good)
        path.write_text(path.read_text()[:40])
        return folder, {}, AnnotationFormatError, [str(path), 'not valid JSON']
    if case == 'no points':
        (folder / 'a.json').unlink()
        _labelme(folder, 'z', [dict(label='x', points=[[0, 0], [1, 1]],
                                    shape_type='rectangle', group_id=None)])
        return folder, {}, AnnotationFormatError, [str(folder), 'no labelled keypoints']
    (folder / 'a.json').unlink()                   # 'no images'
    return folder, {}, AnnotationFormatError, [str(folder), 'no labelme JSON']


@pytest.mark.parametrize('case', [
    'unknown label', 'empty label', 'point twice', 'skeleton edge to a missing keypoint',
    'flip pair names a keypoint twice', 'truncated json', 'no points', 'no images'])
def test_labelme_bad_input_is_named_and_writes_nothing(case, tmp_path):
    folder, kwargs, error, words = _labelme_case(case, tmp_path)
    out = tmp_path / 'out'
    with pytest.raises(error) as info:
        convert_to_coco(read_labelme_dir(str(folder)), str(out), **kwargs)
    for word in words:
        assert word in str(info.value)
    assert _no_output(out)


SKELETON_META = (
    '<label><name>rat</name><type>skeleton</type><svg>'
    '&lt;line data-node-from="1" data-node-to="2"&gt;&lt;/line&gt;'
    '&lt;circle data-node-id="1" data-label-name="head"&gt;&lt;/circle&gt;'
    '&lt;circle data-node-id="2" data-label-name="tail"&gt;&lt;/circle&gt;</svg></label>'
    '<label><name>head</name><type>points</type><parent>rat</parent></label>'
    '<label><name>tail</name><type>points</type><parent>rat</parent></label>')
SKELETON_IMAGE = ('<image id="0" name="a.jpg" width="10" height="10"><skeleton label="rat">'
                  '<points label="head" points="1,2" occluded="0" outside="0"/>'
                  '<points label="tail" points="3,4" occluded="0" outside="1"/>'
                  '</skeleton></image>')


@pytest.mark.parametrize('case', ['truncated', 'doctype', 'edge to a keypoint not kept',
                                  'svg edge to no node', 'point twice', 'no images',
                                  'two points in one shape'])
def test_cvat_bad_input_is_named_and_writes_nothing(case, tmp_path):
    body, kwargs, error, meta = SKELETON_IMAGE, {}, AnnotationFormatError, SKELETON_META
    if case == 'svg edge to no node':
        meta = meta.replace('data-node-to="2"', 'data-node-to="7"')
    if case == 'point twice':
        body = body.replace('</skeleton>', '<points label="head" points="5,5"/></skeleton>')
    elif case == 'no images':
        body = ''
    elif case == 'two points in one shape':
        body = body.replace('points="1,2"', 'points="1,2;3,3"')
    elif case == 'edge to a keypoint not kept':
        kwargs = dict(keypoints=['head'])
    xml, images = _cvat(tmp_path, body, meta)
    text = open(xml).read()
    if case == 'truncated':
        open(xml, 'w').write(text[:len(text) // 2])
    elif case == 'doctype':
        open(xml, 'w').write(text.replace(CVAT_HEAD, CVAT_HEAD + '<!DOCTYPE a [<!ENTITY b "c">]>'))
    out = tmp_path / 'out'
    with pytest.raises(error) as info:
        convert_to_coco(read_cvat_xml(xml, images), str(out), **kwargs)
    assert xml in str(info.value)
    if case == 'edge to a keypoint not kept':
        assert "'tail'" in str(info.value) and 'skeleton edge 0' in str(info.value)
    assert _no_output(out)


def test_cvat_skeleton_minimal_export_converts(tmp_path):
    xml, images = _cvat(tmp_path, SKELETON_IMAGE, SKELETON_META)
    summary = convert_to_coco(read_cvat_xml(xml, images), str(tmp_path / 'out'))
    assert summary.keypoint_names == ['head', 'tail'] and summary.skeleton == [('head', 'tail')]
    assert summary.num_labelled == 1                           # tail is outside


def test_existing_output_is_refused_then_replaced_with_overwrite(tmp_path):
    folder = tmp_path / 'lm'
    _labelme(folder, 'a', [_point('a', 1, 2)])
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    with pytest.raises(ConversionOptionError, match='not empty'):
        convert_to_coco(read_labelme_dir(str(folder)), str(out))
    with pytest.raises(ConversionOptionError, match='refusing'):
        convert_to_coco(read_labelme_dir(str(folder)), str(out), overwrite=True)
    (out / 'notes.txt').unlink()
    convert_to_coco(read_labelme_dir(str(folder)), str(out))
    convert_to_coco(read_labelme_dir(str(folder)), str(out), overwrite=True,
                    keypoints=['a', 'b'])
    assert parse_pose_metainfo(dict(from_file=str(out / 'metainfo.py')))['num_keypoints'] == 2


# ------------------------------------------------------------------ the tools
def test_tools_generate_convert_and_report(tmp_path, capsys):
    make = load_tool('make_synthetic_data')
    make.main(['custom', '--out', str(tmp_path / 'cvat'), '--format', 'cvat', '--num', '3',
               '--no-progress'])
    make.main(['custom', '--out', str(tmp_path / 'cvat'), '--format', 'cvat', '--num', '3',
               '--skip-existing'])
    assert 'skipping' in capsys.readouterr().out
    cvat2coco = load_tool('dataset_converters/cvat2coco')
    out = tmp_path / 'coco'
    assert cvat2coco.main([str(tmp_path / 'cvat' / 'annotations.xml'), '--images',
                           str(tmp_path / 'cvat' / 'images'), '--out-dir', str(out),
                           '--sigmas', '0.04', '--upper', 'nose,left_ear']) == 0
    printed = capsys.readouterr().out
    assert 'flip pairs PROPOSED' in printed and "data_prefix=dict(img='../cvat/images/')" \
        in printed
    meta = parse_pose_metainfo(dict(from_file=str(out / 'metainfo.py')))
    assert meta['sigmas'].tolist() == pytest.approx([0.04] * K)
    assert meta['upper_body_ids'] == [0, 1]
    labelme2coco = load_tool('dataset_converters/labelme2coco')
    with pytest.raises(SystemExit) as info:
        labelme2coco.main([str(tmp_path / 'missing'), '--out-dir', str(tmp_path / 'x')])
    assert 'labelme2coco: error' in str(info.value) and not (tmp_path / 'x').exists()
