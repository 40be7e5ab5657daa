"""The benchmark harness behind ``tools/benchmark.py`` (never imported by hpekit)."""
