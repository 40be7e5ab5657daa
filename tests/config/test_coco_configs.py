"""The COCO configs: models build with MMPose's sizes, every part is given the codec, the data,
metric and schedule resolve, and CocoMetric gets the meta keys it reads."""
from pathlib import Path

import pytest

from hpekit.config.checks import check_config
from hpekit.config.setup import load_config
from hpekit.registry import MODELS
from hpekit.utils import register_all_modules

register_all_modules()
CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'coco'
# config → (parameters in millions, codec input (W, H), heatmap (w, h))
EXPECTED = {
    'simplebaseline-res50_b64-210e_coco-256x192.py': (34.0, (192, 256), (48, 64)),
    'hg2-bottleneck_b32-210e_coco-256x256.py': (6.73, (256, 256), (64, 64)),
    'hg2_synthetic-quick.py': (0.65, (96, 128), (24, 32)),
}


def test_every_config_of_the_folder_is_covered():
    """Here, or in tests/config/test_zoo_configs.py (HRNet and RTMPose)."""
    zoo = {p.name for pattern in ('hrnet*.py', 'rtmpose*.py') for p in CONFIG_DIR.glob(pattern)}
    assert {p.name for p in CONFIG_DIR.glob('*.py')} - zoo == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_config_builds_with_its_codec(name):
    params_m, input_size, heatmap_size = EXPECTED[name]
    cfg = load_config(str(CONFIG_DIR / name))
    check_config(cfg, loaders=())   # parts, arguments and values; no data needed
    assert tuple(cfg.codec.input_size) == input_size
    assert tuple(cfg.codec.heatmap_size) == heatmap_size
    model = MODELS.build(cfg.model)   # no init_weights: no checkpoint is read
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params_m,
                                                                              abs=0.01)
    assert model.spec.input_size == input_size and model.spec.num_keypoints == 17
    for key in ('train_dataloader', 'val_dataloader'):
        affine = [t for t in cfg[key].dataset.pipeline if t.type == 'TopdownAffine']
        assert tuple(affine[0].input_size) == input_size
    pack = cfg.val_dataloader.dataset.pipeline[-1]
    assert {'id', 'img_id', 'category_id', 'bbox_score', 'bbox'} <= set(pack.meta_keys)
    assert cfg.val_evaluator.type == 'CocoMetric'
    assert cfg.val_evaluator.ann_file == \
        cfg.data_root + 'annotations/person_keypoints_val2017.json'
    assert cfg.default_hooks.checkpoint.save_best == 'coco/AP'


def test_reference_configs_validate_on_detections():
    for name in EXPECTED:
        dataset = load_config(str(CONFIG_DIR / name)).val_dataloader.dataset
        expected = None if 'synthetic' in name else \
            'data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json'
        assert dataset.get('bbox_file') == expected
