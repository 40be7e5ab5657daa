"""Suite-wide set-up: the real timm for the tests that use it, where tools/install.sh
installed it for the tests, with the test shim its torchvision may need on a CPU torch
(both in tests/timm_for_tests.py; this pytest process only, never its subprocesses);
one torch thread in this pytest process (``one_torch_thread``); and the tools'
automatic precision as on a CPU without native bfloat16 (``float32_tool_defaults``)."""
import pytest
import timm_for_tests
import torch

from hpekit.runtime import hardware

timm_for_tests.add_timm_tests_dir()
timm_for_tests.define_missing_torchvision_ops()


@pytest.fixture(autouse=True, scope='session')
def one_torch_thread():
    """One intra-op torch thread for the whole session in this pytest process (its
    subprocesses choose their own): the tests' models and batches are tiny, and on a
    shared 2-core machine two threads wait on each other whenever another process
    holds a core (the same in-process steps took 2 s alone and 11 s in the suite)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope='session')
def float32_tool_defaults():
    """The tools' defaults stay float32 in this pytest process on every CPU: on one
    with native bfloat16 they would pick bfloat16 (``hardware.native_bfloat16``) and
    the suite's float32 expectations would not hold there.
    tests/tools/test_auto_precision.py sets the answer per test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hardware, 'native_bfloat16', lambda: False)
        yield


@pytest.fixture(scope='module')
def mpii_root(tmp_path_factory):
    """A synthetic MPII folder (3 training images, 2 validation images): small enough
    for a benchmark mode's few steps, and two ranks of a 2-process run get different
    training images."""
    from hpekit.datasets.synthetic.mpii import write_mpii_split
    root = str(tmp_path_factory.mktemp('mpii'))
    write_mpii_split(root, num_train=3, num_val=2, seed=0, progress=False)
    return root
