"""The docs say what the configs do: numbers in docs/quick_start.md are read against
the config it describes, and no doc fixes a keypoint count in a generic export shape."""
import re
from pathlib import Path

import pytest

from hpekit.config.setup import load_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / 'docs'
WORDS = {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6, 'seven': 7,
         'eight': 8, 'nine': 9, 'ten': 10}


def _number(text):
    return WORDS[text.lower()] if text.lower() in WORDS else int(text)


def _quick_start():
    text = (DOCS / 'quick_start.md').read_text(encoding='utf-8')
    trained = re.search(r'trains `(configs/[^`]+\.py)`', text)
    assert trained, 'docs/quick_start.md no longer says which config `make demo` trains'
    return text, load_config(str(ROOT / trained.group(1)))


def test_quick_start_names_existing_configs():
    text = (DOCS / 'quick_start.md').read_text(encoding='utf-8')
    named = set(re.findall(r'configs/[\w./-]+\.py', text))
    assert named
    for path in named:
        assert (ROOT / path).is_file(), f'docs/quick_start.md names missing {path}'


def test_quick_start_validation_interval():
    text, cfg = _quick_start()
    interval = cfg.train_cfg.get('val_interval', 1)
    said = re.findall(r'validat\w* (?:after )?every (?:(\w+) )?epochs?', text, re.I)
    assert said, 'docs/quick_start.md no longer says how often it validates'
    for word in said:
        assert (_number(word) if word else 1) == interval, (
            f'docs/quick_start.md says validation every {word or "1"} epoch(s); '
            f'the config validates every {interval}')


def test_quick_start_epochs_checkpoints_batch_lr():
    text, cfg = _quick_start()
    max_epochs = cfg.train_cfg.max_epochs
    table = re.search(r'^\| epoch \|((?: [\d.]+ \|)+)$', text, re.M)
    if table:   # the figures table has one column per epoch
        epochs = [int(x) for x in re.findall(r'\d+', table.group(1))]
        assert epochs == list(range(1, max_epochs + 1)), (epochs, max_epochs)
    ckpt_interval = cfg.default_hooks.checkpoint.get('interval', 1)
    for n in map(int, re.findall(r'epoch_(\d+)\.pth', text)):
        assert n <= max_epochs and n % ckpt_interval == 0, f'epoch_{n}.pth never written'
    for n in re.findall(r'(\w+) epochs? of \d+', text):
        assert _number(n) == max_epochs, f'quick_start: "{n} epochs", config {max_epochs}'
    for n in re.findall(r'batch(?: size)?(?: of)? (\d+)', text, re.I):
        assert int(n) == cfg.train_dataloader.batch_size
    for lr in re.findall(r'\blr(?: of| =|=)? ([\d.]+e-?\d+|\d*\.\d+)', text):
        assert float(lr) == cfg.optim_wrapper.optimizer.lr


def test_old_quick_start_text_is_caught():
    """The check itself: the sentence that had drifted is refused."""
    text, cfg = _quick_start()
    old = text.replace('validating after every epoch', 'validating every two epochs')
    said = re.findall(r'validat\w* (?:after )?every (?:(\w+) )?epochs?', old, re.I)
    assert any((_number(w) if w else 1) != cfg.train_cfg.val_interval for w in said)


def _export_shapes(text):
    """(output name, dims) of the output column of the export table in docs/tools.md."""
    section = text.split('## `tools/export_onnx.py`', 1)[1].split('\n## ', 1)[0]
    rows = [line for line in section.splitlines() if line.startswith('| ')
            and '[' in line]
    assert rows, 'docs/tools.md: the export table is gone'
    shapes = []
    for row in rows:
        output = row.strip('|').split('|')[-1]
        for name, dims in re.findall(r'`(\w+)`[^[]*\[([^\]]+)\]', output):
            shapes.append((name, [d.strip() for d in dims.split(',')]))
    return shapes


def _keypoint_axis(name, dims):
    return dims[1] if name == 'heatmaps' else dims[-2]


@pytest.mark.parametrize('doc', ['tools.md'])
def test_export_shapes_have_no_fixed_keypoint_count(doc):
    """Export is generic (any dataset): its output's keypoint axis is K, not 16/17."""
    shapes = _export_shapes((DOCS / doc).read_text(encoding='utf-8'))
    assert {name for name, _ in shapes} >= {'heatmaps', 'joints_3d'}
    for name, dims in shapes:
        assert not _keypoint_axis(name, dims).isdigit(), (
            f'docs/{doc}: export output `{name}` [{", ".join(dims)}] fixes the keypoint '
            'count; it is the config\'s K')


def test_old_export_text_is_caught():
    old = '## `tools/export_onnx.py`\n| a | b | `heatmaps` float32 [B, 16, H/4, W/4] |\n'
    ((name, dims), ) = _export_shapes(old)
    assert _keypoint_axis(name, dims).isdigit()
