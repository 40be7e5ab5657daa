"""The precision the tools choose by themselves (issue 23, "Defaults a user gets"):
bfloat16 on a CPU with native bfloat16 (``hpekit.runtime.hardware.native_bfloat16``,
monkeypatched here) with one log line and an opt-out, float32 everywhere else.

``tools/test.py`` runs in this process on the trained tiny hourglass
(tests/fixtures/precision/mpii_tiny_trained.pth) and 2 synthetic MPII images;
``tools/train.py`` only builds its Runner and optim wrapper (no step is trained).
"""
import logging
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger
from tool_loader import load_tool

from hpekit.apis import PoseInferencer
from hpekit.apis.exported import BACKENDS
from hpekit.apis.model import resolve_precision
from hpekit.config.setup import load_config
from hpekit.datasets.synthetic.mpii import write_mpii_split
from hpekit.engine.optim_wrappers import AutocastOptimWrapper
from hpekit.registry import MODELS
from hpekit.runtime import hardware
from hpekit.utils import register_all_modules

FIXTURE = osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures', 'precision',
                   'mpii_tiny_trained.pth')
MPII_TINY = 'tests/configs/mpii_tiny.py'
OPENVINO = pytest.mark.skipif('openvino' not in BACKENDS, reason='no OpenVINO backend')
NOTE = 'runs in bfloat16 by default'      # a part of the one log line
# The real detection, taken at collection, before tests/conftest.py's
# float32_tool_defaults replaces it for the session.
DETECT = hardware.native_bfloat16


@pytest.fixture
def native(monkeypatch):
    """``native(True/False)`` makes this CPU (not) have native bfloat16."""
    def set_native(value):
        monkeypatch.setattr(hardware, 'native_bfloat16', lambda: value)
    return set_native


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('mpii'))
    write_mpii_split(root, num_train=2, num_val=2, image_size=(96, 96), seed=3,
                     progress=False)
    return root


@pytest.fixture
def log_file(tmp_path):
    """A fresh current MMLogger writing to a file; returns a function reading it."""
    path = tmp_path / 'current.log'
    logger = MMLogger.get_instance(f'auto_precision_{tmp_path.name}', log_file=str(path))
    yield lambda: path.read_text()
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            logger.removeHandler(handler)


# ------------------------------------------------------------------ detection
def test_detection_agrees_with_proc_cpuinfo():
    if not osp.isfile(hardware.CPUINFO):
        pytest.skip('no /proc/cpuinfo (not Linux)')
    assert DETECT() == bool(hardware.cpuinfo_bfloat16_flags())


def test_without_torchs_probes_the_cpuinfo_flags_decide(monkeypatch, tmp_path):
    for name in hardware._TORCH_PROBES:
        monkeypatch.delattr(torch.cpu, name, raising=False)
    cpuinfo = tmp_path / 'cpuinfo'
    monkeypatch.setattr(hardware, 'CPUINFO', str(cpuinfo))
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n')
    assert DETECT() is False
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n')
    assert DETECT() is True
    cpuinfo.write_text('flags\t\t: fpu amx_tile amx_bf16\nbugs\t\t: avx512_bf16_bug\n')
    assert hardware.cpuinfo_bfloat16_flags() == {'amx_bf16'}
    cpuinfo.unlink()
    assert DETECT() is False


def test_torchs_probes_are_asked_first(monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, 'CPUINFO', str(tmp_path / 'missing'))
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: False)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: True)
    assert DETECT() is True


# ------------------------------------------------------------------ resolution
def test_auto_picks_bfloat16_on_a_native_cpu_with_one_log_line(native, log_file):
    native(True)
    assert resolve_precision('auto', 'cpu', 'pytorch') == 'bfloat16'
    lines = [line for line in log_file().splitlines() if NOTE in line]
    assert len(lines) == 1 and '--precision float32' in lines[0]


def test_auto_stays_float32_for_a_model_bfloat16_cannot_run(native, log_file):
    """The lifter has no predict_exported (set_precision would refuse it): tools/test.py
    on a native CPU must test it in float32, not fail."""
    register_all_modules()
    native(True)
    lifter = MODELS.build(load_config('tests/configs/h36m_lifting_tiny.py').model)
    assert resolve_precision('auto', 'cpu', 'pytorch', model=lifter) == 'float32'
    assert NOTE not in log_file()
    topdown = MODELS.build(load_config(MPII_TINY).model)
    assert resolve_precision('auto', 'cpu', 'pytorch', model=topdown) == 'bfloat16'


@OPENVINO
def test_auto_picks_bfloat16_for_openvino_on_a_native_cpu(native, log_file):
    native(True)
    assert resolve_precision('auto', 'cpu', 'openvino') == 'bfloat16'
    assert log_file().count(NOTE) == 1
    native(False)
    assert resolve_precision('auto', 'cpu', 'openvino') == 'float32'
    assert log_file().count(NOTE) == 1


@pytest.mark.parametrize('device, backend', [
    ('cuda', 'pytorch'), ('cuda:0', 'pytorch'), (torch.device('cuda', 1), 'pytorch'),
    ('cpu', 'onnxruntime')])
def test_auto_stays_float32_on_gpus_and_float32_backends(native, log_file, device, backend):
    native(True)
    assert resolve_precision('auto', device, backend) == 'float32'
    assert NOTE not in log_file()


def test_auto_stays_float32_without_native_bfloat16_and_explicit_values_pass(native,
                                                                            log_file):
    native(False)
    assert resolve_precision('auto', 'cpu') == 'float32'
    assert resolve_precision('bfloat16', 'cpu') == 'bfloat16'   # emulated, as asked
    native(True)
    assert resolve_precision('float32', 'cpu') == 'float32'
    assert NOTE not in log_file()


def test_training_amp_resolution(native):
    native(True)
    assert hardware.resolve_amp(None, 'cpu') == 'bfloat16'
    assert hardware.resolve_amp(None, 'cuda') is False          # GPUs: AMP stays opt-in
    assert hardware.resolve_amp('off', 'cpu') is False
    assert hardware.resolve_amp(True, 'cuda') is True
    assert hardware.resolve_amp('float16', 'cuda') == 'float16'
    native(False)
    assert hardware.resolve_amp(None, 'cpu') is False
    assert hardware.resolve_amp('bfloat16', 'cpu') == 'bfloat16'


# ------------------------------------------------------------------ tools/test.py
def run_test_tool(monkeypatch, work_dir, data_root, *options):
    """Run tools/test.py; returns (precision of the tested model, dtypes its first
    convolution produced, lines of the run's log that carry ``NOTE``)."""
    tool = load_tool('test')
    runners, dtypes = [], set()
    build = tool.Runner.from_cfg

    def from_cfg(cfg):
        runner = build(cfg)
        conv = next(m for m in runner.model.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda module, args, out: dtypes.add(out.dtype))
        runners.append(runner)
        return runner

    monkeypatch.setattr(tool.Runner, 'from_cfg', staticmethod(from_cfg))
    name = f'auto_precision_{work_dir.parent.name}_{work_dir.name}'   # a logger of its own
    metrics = tool.main([MPII_TINY, FIXTURE, '--work-dir', str(work_dir), '--data-root',
                         data_root, *options, '--cfg-options', f'experiment_name={name}'])
    assert 'PCKh' in metrics
    logs = list(work_dir.rglob('*.log'))
    assert len(logs) == 1
    notes = [line for line in logs[0].read_text().splitlines() if NOTE in line]
    return getattr(runners[0].model, 'precision', 'float32'), dtypes, notes


def test_test_tool_default_is_bfloat16_on_a_native_cpu(native, monkeypatch, tmp_path,
                                                       data_root):
    native(True)
    precision, dtypes, notes = run_test_tool(monkeypatch, tmp_path / 'auto', data_root)
    assert precision == 'bfloat16' and dtypes == {torch.bfloat16}
    assert len(notes) == 1 and '--precision float32' in notes[0]


def test_test_tool_precision_float32_turns_it_off(native, monkeypatch, tmp_path, data_root):
    native(True)
    precision, dtypes, notes = run_test_tool(monkeypatch, tmp_path / 'off', data_root,
                                             '--precision', 'float32')
    assert precision == 'float32' and dtypes == {torch.float32} and notes == []


def test_test_tool_default_is_float32_without_native_bfloat16(native, monkeypatch, tmp_path,
                                                              data_root):
    native(False)
    precision, dtypes, notes = run_test_tool(monkeypatch, tmp_path / 'avx2', data_root)
    assert precision == 'float32' and dtypes == {torch.float32} and notes == []


# ------------------------------------------------------------------ tools/train.py
def build_train_runner(tmp_path, data_root, *options):
    """tools/train.py's Runner and its built optim wrapper (nothing trained)."""
    train = load_tool('train')
    # a name of its own: two Runners built within one second would otherwise share
    # mmengine's timestamp-named logger (and the first one's log file)
    name = f'auto_precision_{tmp_path.parent.name}_{tmp_path.name}'
    args = train.parse_args([MPII_TINY, '--work-dir', str(tmp_path), '--data-root',
                             data_root, '--no-validate', *options,
                             '--cfg-options', f'experiment_name={name}'])
    runner = train.build_runner(args)
    return runner, runner.build_optim_wrapper(runner.optim_wrapper)


def train_log_notes(runner):
    """The lines of the Runner's log file that carry ``NOTE``."""
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log'), encoding='utf-8') as f:
        return [line for line in f if NOTE in line]


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU behaviour (GPUs: AMP opt-in)')
def test_train_tool_default_is_bfloat16_amp_on_a_native_cpu(native, tmp_path, data_root):
    native(True)
    runner, wrapper = build_train_runner(tmp_path / 'auto', data_root)
    assert isinstance(wrapper, AutocastOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16
    notes = train_log_notes(runner)
    assert len(notes) == 1 and '--amp off' in notes[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU behaviour (GPUs: AMP opt-in)')
@pytest.mark.parametrize('is_native, options', [(True, ('--amp', 'off')), (False, ())])
def test_train_tool_float32_with_amp_off_or_without_native_bfloat16(
        native, tmp_path, data_root, is_native, options):
    native(is_native)
    runner, wrapper = build_train_runner(tmp_path / 'off', data_root, *options)
    assert type(wrapper).__name__ == 'OptimWrapper'
    assert train_log_notes(runner) == []


# ------------------------------------------------------------------ the demos
class Stop(Exception):
    """Raised by a stand-in model builder once it has seen its arguments."""


def record_and_stop(seen):
    def build(*args, **kwargs):
        seen.append(kwargs['precision'])
        raise Stop
    return build


@pytest.mark.parametrize('is_native, options, want', [
    (True, (), 'bfloat16'), (True, ('--precision', 'float32'), 'float32'),
    (True, ('--backend', 'onnxruntime'), 'float32'), (False, (), 'float32'),
    pytest.param(True, ('--backend', 'openvino'), 'bfloat16', marks=OPENVINO)])
def test_demo_passes_the_resolved_precision(native, monkeypatch, data_root, tmp_path,
                                            is_native, options, want):
    native(is_native)
    demo, seen = load_tool('demo'), []
    monkeypatch.setattr(demo, 'init_model', record_and_stop(seen))
    image = osp.join(data_root, 'images', 'val_000000.jpg')
    with pytest.raises(Stop):
        demo.main([MPII_TINY, FIXTURE, image, '--out', str(tmp_path / 'out.jpg'), *options])
    assert seen == [want]


@pytest.mark.parametrize('is_native, options, want', [
    (True, (), 'bfloat16'), (True, ('--precision', 'float32'), 'float32'),
    (False, (), 'float32')])
def test_inferencer_demo_passes_the_resolved_precision(native, monkeypatch, data_root,
                                                       tmp_path, is_native, options, want):
    native(is_native)
    demo, seen = load_tool('inferencer_demo'), []
    monkeypatch.setattr(demo, 'PoseInferencer', record_and_stop(seen))
    with pytest.raises(Stop):
        demo.main([osp.join(data_root, 'images'), '--pose2d', MPII_TINY,
                   '--pred-out-dir', str(tmp_path / 'pred'), *options])
    assert seen == [want]


def test_pose_inferencer_takes_a_precision_for_its_2d_model():
    assert getattr(PoseInferencer(MPII_TINY).model, 'precision', 'float32') == 'float32'
    assert PoseInferencer(MPII_TINY, precision='bfloat16').model.precision == 'bfloat16'
