"""Suite-wide set-up: the real timm for the tests that use it, where tools/install.sh
installed it for the tests, with the test shim its torchvision may need on a CPU torch
(both in tests/timm_for_tests.py; this pytest process only, never its subprocesses)."""
import timm_for_tests

timm_for_tests.add_timm_tests_dir()
timm_for_tests.define_missing_torchvision_ops()
