"""Every registered part runs from the small example declared beside its class.

Like timm's ``test_models.py``: the sweep lists hpekit's MODELS, BLOCKS,
KEYPOINT_CODECS, TRANSFORMS, METRICS and DATASETS and exercises each part from its
``sweep_example`` class attribute — forward and backward for modules, an encode →
decode round trip for codecs, a synthetic sample for transforms and datasets,
process → compute for metrics. A part registered without an example fails.

``sweep_example`` formats (see docs/plugins.md):

- modules (MODELS, BLOCKS): ``dict(cfg=kwargs, inputs=[shape | [shapes] ...])`` —
  one random float tensor per shape (a list of shapes is one tuple argument); data
  preprocessors ``dict(cfg=kwargs, data=[uint8 item shapes])``;
- codecs: ``dict(cfg, encode=kwargs, decode=key of the encoded output (or a tuple of
  keys, passed in order), expect, atol)``;
- transforms: ``dict(cfg, results=<kind>)`` with a kind of ``SAMPLES`` below;
- datasets: ``dict(cfg, data=<kind of files written under data_root> | None)``;
- metrics: ``dict(cfg, samples=<kind>)``.

Any example may add ``requires='package'``: the part is skipped (not failed) where that
optional package cannot be imported (e.g. ``TimmBackbone`` without timm).
"""
import importlib

import numpy as np
import pytest
import torch

from hpekit.registry import BLOCKS, DATASETS, KEYPOINT_CODECS, METRICS, MODELS, TRANSFORMS
from hpekit.utils import register_all_modules

register_all_modules()
K = 4  # keypoints of the synthetic transform samples


def parts(registry):
    return sorted(registry.module_dict.items())


def ids(items):
    return [name for name, _ in items]


ALL = [(r, name, cls) for r in (MODELS, BLOCKS, KEYPOINT_CODECS, TRANSFORMS, METRICS,
                                DATASETS) for name, cls in parts(r)]


@pytest.mark.parametrize('registry, name, cls', ALL,
                         ids=[f'{r.name}:{n}' for r, n, _ in ALL])
def test_every_part_declares_an_example(registry, name, cls):
    assert 'sweep_example' in vars(cls), (
        f'{registry.name} part {name} ({cls.__module__}) has no sweep_example; declare '
        'one beside the class (see tests/end_to_end/test_sweep.py)')


# ------------------------------------------------------------------ modules
def _tensor_args(shapes):
    args = []
    for shape in shapes:
        if isinstance(shape, list):
            args.append(tuple(torch.randn(*s, requires_grad=True) for s in shape))
        else:
            args.append(torch.randn(*shape, requires_grad=True))
    return args


def _flat(output):
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        return [t for v in output.values() for t in _flat(v)]
    return [t for v in output for t in _flat(v)]


def _run_module(module, example):
    torch.manual_seed(0)
    if 'data' in example:   # a data preprocessor: uint8 items → normalised batch
        items = [torch.randint(0, 256, s, dtype=torch.uint8) for s in example['data']]
        out = module(dict(inputs=items, data_samples=None))
        assert out['inputs'].dtype == torch.float32
        assert out['inputs'].shape == (len(items), *example['data'][0])
        return
    args = _tensor_args(example['inputs'])
    outputs = _flat(module(*args))
    assert outputs and all(torch.isfinite(o).all() for o in outputs)
    sum(o.float().sum() for o in outputs).backward()
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    inputs = [a for arg in args for a in (arg if isinstance(arg, tuple) else (arg,))]
    assert any(g is not None and g.abs().sum() > 0 for g in grads + [a.grad for a in inputs])


MODULES = parts(MODELS) + parts(BLOCKS)


def _skip_without_requirement(example):
    """Skip a part whose example names an optional package that cannot be imported."""
    package = example.get('requires')
    if package:
        try:
            importlib.import_module(package)
        except Exception as err:   # noqa: BLE001 - e.g. timm with a mismatched torchvision
            pytest.skip(f'optional {package!r} cannot be imported: {err}')


@pytest.mark.parametrize('name, cls', MODULES, ids=ids(MODULES))
def test_modules_forward_and_backward(name, cls):
    example = vars(cls)['sweep_example']
    _skip_without_requirement(example)
    module = cls(**example['cfg'])
    if hasattr(module, 'init_weights'):
        module.init_weights()
    _run_module(module.train(), example)


# ------------------------------------------------------------------- codecs
@pytest.mark.parametrize('name, cls', parts(KEYPOINT_CODECS), ids=ids(parts(KEYPOINT_CODECS)))
def test_codecs_round_trip(name, cls):
    example = vars(cls)['sweep_example']
    codec = cls(**example['cfg'])
    encoded = codec.encode(**example['encode'])
    keys = example['decode']   # one output key, or several (SimCC: x and y labels)
    decoded = codec.decode(*[encoded[k] for k in ([keys] if isinstance(keys, str) else keys)])[0]
    np.testing.assert_allclose(np.asarray(decoded).reshape(np.shape(example['expect'])),
                               example['expect'], atol=example['atol'])


# --------------------------------------------------------------- transforms
def _image_sample(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    return dict(img=img, img_shape=img.shape[:2], img_scale=1.0,
                center=np.array([30.0, 20.0], np.float32),
                bbox_size=np.array([40.0, 36.0], np.float32),
                keypoints=np.array([[20, 10], [40, 10], [22, 30], [38, 30]], np.float32),
                keypoints_visible=np.ones(K, np.float32), flip_indices=[1, 0, 3, 2],
                upper_body_ids=[0, 1], lower_body_ids=[2, 3], sample_idx=0)


def _image_file_sample(tmp_path):
    import cv2
    sample = _image_sample(tmp_path)
    path = str(tmp_path / 'img.jpg')
    cv2.imwrite(path, sample.pop('img'))
    return dict(sample, img_path=path)


def _crop_sample(tmp_path):
    from hpekit.datasets.transforms import TopdownAffine
    return TopdownAffine(input_size=(32, 32), augment=False)(_image_sample(tmp_path))


def _clip_sample(tmp_path):
    rng = np.random.default_rng(0)
    return dict(frames=rng.integers(0, 256, (4, 20, 24, 3), dtype=np.uint8),
                joints_3d=rng.normal(size=(4, K, 3)).astype(np.float32),
                flip_indices=[1, 0, 3, 2], sample_idx=0)


def _clip_files_sample(tmp_path):
    import cv2
    rng = np.random.default_rng(0)
    paths = []
    for t in range(2):
        paths.append(str(tmp_path / f'frame_{t}.jpg'))
        cv2.imwrite(paths[-1], rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    return dict(img_paths=paths, center=np.array([[20.0, 15.0]] * 2, np.float32),
                bbox_size=np.array([[24.0, 24.0]] * 2, np.float32),
                keypoints=rng.uniform(5, 25, (2, K, 2)).astype(np.float32),
                joints_3d=rng.normal(size=(2, K, 3)).astype(np.float32),
                flip_indices=[1, 0, 3, 2], sample_idx=0)


def _lifting_sample(tmp_path):
    rng = np.random.default_rng(0)
    return dict(keypoints_norm=rng.uniform(-1, 1, (5, K, 2)).astype(np.float32),
                joints_3d=rng.normal(size=(3, K, 3)).astype(np.float32),
                image_size=(64, 48), flip_indices=[1, 0, 3, 2], sample_idx=0)


SAMPLES = dict(image=_image_sample, image_file=_image_file_sample, crop=_crop_sample,
               clip=_clip_sample, clip_files=_clip_files_sample, lifting=_lifting_sample)


@pytest.mark.parametrize('name, cls', parts(TRANSFORMS), ids=ids(parts(TRANSFORMS)))
def test_transforms_on_a_synthetic_sample(name, cls, tmp_path):
    example = vars(cls)['sweep_example']
    _skip_without_requirement(example)
    np.random.seed(0)
    results = SAMPLES[example['results']](tmp_path)
    out = cls(**example['cfg'])(results)
    assert isinstance(out, dict) and out
    if 'inputs' in out:   # a packing transform
        assert isinstance(out['inputs'], torch.Tensor) and 'data_samples' in out


# ----------------------------------------------------------------- datasets
def _write_mpii(root):
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    write_mpii_split(str(root), num_train=1, num_val=2, image_size=(160, 120),
                     progress=False)


def _write_h36m(root):
    rng = np.random.default_rng(0)
    np.save(root / 'videoframes_clips_valid.npy',
            rng.integers(0, 256, (2, 2, 16, 16, 3), dtype=np.uint8))
    np.save(root / 'joint_3d_clips_valid.npy',
            rng.normal(scale=0.2, size=(2, 2, 17, 3)).astype(np.float32))


def _write_h36m_full(root):
    from hpekit.datasets.synthetic.h36m_full import write_h36m_full
    write_h36m_full(str(root), subjects=('S9',), actions=('Walking',), subactions=1,
                    num_cameras=1, num_frames=3, image_size=32, progress=False)


DATA = dict(mpii=_write_mpii, h36m=_write_h36m, h36m_full=_write_h36m_full)


def _write_coco(root):
    from hpekit.datasets.synthetic.coco import write_coco_split
    write_coco_split(str(root), num_train=0, num_val=2, image_size=(160, 120),
                     progress=False)


DATA['coco'] = _write_coco


@pytest.mark.parametrize('name, cls', parts(DATASETS), ids=ids(parts(DATASETS)))
def test_datasets_on_synthetic_files(name, cls, tmp_path):
    example = vars(cls)['sweep_example']
    cfg = dict(example['cfg'])
    if example['data'] is not None:
        DATA[example['data']](tmp_path)
        cfg['data_root'] = str(tmp_path)
    dataset = cls(**cfg)
    assert len(dataset) > 0 and dataset.metainfo['num_keypoints'] > 0
    item = dataset[0]
    assert isinstance(item['inputs'], torch.Tensor)
    assert item['data_samples'].metainfo['flip_indices'] == dataset.metainfo['flip_indices']


# ------------------------------------------------------------------ metrics
def _joint_samples(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 2, 17, 3))
    return [dict(pred_joints_3d=torch.tensor(g + 0.01), gt_joints_3d=torch.tensor(g),
                 metainfo=dict(sample_idx=i)) for i, g in enumerate(gt)], {}


def _mpii_samples(tmp_path):
    from hpekit.evaluation.functional import load_mpii_gt
    _write_mpii(tmp_path)
    gt_file = str(tmp_path / 'annotations' / 'mpii_gt_val.mat')
    gt = load_mpii_gt(gt_file)
    samples = [dict(pred_keypoints=pos - 1.0, metainfo=dict(sample_idx=i))
               for i, pos in enumerate(gt['pos_gt_src'])]
    return samples, dict(gt_file=gt_file)


def _action_samples(tmp_path):
    # two overlapping clips of one sequence (frames 0-2 and 2-4) and a padded clip
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(6, 17, 3))
    clips = [([0, 1, 2], 'Walking'), ([2, 3, 4], 'Walking'), ([5, -1, -1], 'Eating')]
    return [dict(pred_joints_3d=torch.tensor(gt[np.maximum(ids, 0)] + 0.01),
                 gt_joints_3d=torch.tensor(gt[np.maximum(ids, 0)]),
                 metainfo=dict(sample_idx=i, frame_ids=np.array(ids), action=action))
            for i, (ids, action) in enumerate(clips)], {}


METRIC_SAMPLES = dict(joints_3d=_joint_samples, mpii=_mpii_samples,
                      h36m_actions=_action_samples)


def _coco_samples(tmp_path):
    import json
    _write_coco(tmp_path)
    ann_file = str(tmp_path / 'annotations' / 'person_keypoints_val2017.json')
    with open(ann_file) as f:
        anns = [a for a in json.load(f)['annotations'] if a['num_keypoints']]
    return [dict(pred_keypoints=np.reshape(a['keypoints'], (-1, 3))[:, :2] + 1.0,
                 keypoint_scores=np.ones(len(a['keypoints']) // 3),
                 metainfo=dict(id=a['id'], img_id=a['image_id'])) for a in anns], \
        dict(ann_file=ann_file)


def _keypoints_2d_samples(tmp_path):
    gt = np.random.default_rng(0).uniform(0, 50, (3, K, 2))
    return [dict(pred_keypoints=torch.tensor(g + 1.0), gt_keypoints=g,
                 keypoints_visible=np.ones(K), metainfo=dict(bbox=np.array([0, 0, 50, 50.0])))
            for g in gt], {}


METRIC_SAMPLES.update(coco=_coco_samples, keypoints_2d=_keypoints_2d_samples)


@pytest.mark.parametrize('name, cls', parts(METRICS), ids=ids(parts(METRICS)))
def test_metrics_process_and_compute(name, cls, tmp_path):
    example = vars(cls)['sweep_example']
    samples, extra = METRIC_SAMPLES[example['samples']](tmp_path)
    metric = cls(**example['cfg'], **extra)
    metric.process({}, samples)
    results = metric.compute_metrics(metric.results)
    assert results and all(np.isfinite(v) for v in results.values()
                           if isinstance(v, float))
