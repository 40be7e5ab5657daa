"""The memory sampler of ``tools/benchmark.py``, run as its own process (standard
library only, as its package's ``__init__``: keep torch and hpekit out of it):
``python -m tools.benchmarking.memory_sampler PID INTERVAL PSS_INTERVAL MIN_GAP``.

Sampling from outside leaves the timed process alone: no thread of its own wakes up,
takes its GIL or competes with it for a core's time slice (what a sampling thread
cost: docs/benchmarks.md, "The memory sampler does not disturb the timing"). It reads
``/proc/PID/statm`` of the process and its descendants (itself excluded) every
INTERVAL s for RSS and ``/proc/PID/smaps_rollup`` for PSS rarely (see
``tools.benchmarking.harness.PeakMemory``). Commands on stdin, one byte each: ``p``
pause, ``r`` resume, ``q`` (or end of input) take a last sample and print the result
as one JSON line: ``peak`` and ``peak_pss`` (bytes), ``samples``, ``pss_samples``. It
prints ``ready`` after its first sample.
"""
import json
import os
import select
import sys
import time

PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096


def rss_bytes(pid):
    try:
        with open(f'/proc/{pid}/statm') as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid):
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def descendants(pid, exclude=()):
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        try:
            with open(f'/proc/{parent}/task/{parent}/children') as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            children = []
        children = [c for c in children if c not in exclude]
        found += children
        stack += children
    return found


class Sampler:
    """Peak RSS (often) and PSS (rarely) of a process tree."""

    def __init__(self, pid, pss_interval_s=5.0, pss_min_gap_s=1.0, exclude=()):
        self.pid, self.exclude = pid, tuple(exclude)
        self.pss_interval_s, self.pss_min_gap_s = pss_interval_s, pss_min_gap_s
        self.peak = self.peak_pss = self.samples = self.pss_samples = 0
        self._last_pss_time, self._pss_rss_peak = -float('inf'), 0

    def _want_pss(self, rss, now):
        since = now - self._last_pss_time
        if since >= self.pss_interval_s:
            return True
        return rss > 1.02 * self._pss_rss_peak and since >= self.pss_min_gap_s

    def sample(self, force_pss=False):
        pids = [self.pid] + descendants(self.pid, self.exclude)
        rss = sum(rss_bytes(p) for p in pids)
        self.peak = max(self.peak, rss)
        self.samples += 1
        now = time.monotonic()
        if force_pss or self._want_pss(rss, now):
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))
            self._last_pss_time = now
            self._pss_rss_peak = max(self._pss_rss_peak, rss)
            self.pss_samples += 1

    def result(self):
        return {'peak': self.peak, 'peak_pss': self.peak_pss, 'samples': self.samples,
                'pss_samples': self.pss_samples}


def main(argv=None):
    pid, interval, pss_interval, min_gap = (argv or sys.argv[1:])[:4]
    sampler = Sampler(int(pid), float(pss_interval), float(min_gap), exclude=(os.getpid(),))
    interval = float(interval)
    sampler.sample(force_pss=True)
    print('ready', flush=True)
    paused, stdin = False, sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([stdin], [], [], interval)
        if ready:
            data = os.read(stdin, 64)
            if not data or b'q' in data:
                break
            for byte in data:
                if byte == ord('p'):
                    paused = True
                elif byte == ord('r'):
                    paused = False
            continue
        if not paused:
            sampler.sample()
    sampler.sample(force_pss=True)
    print(json.dumps(sampler.result()), flush=True)


if __name__ == '__main__':
    main()
