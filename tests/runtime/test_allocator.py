"""hpekit.runtime.allocator: the tools re-run themselves once under the tuned allocator
(jemalloc with retain settings where installed), with an opt-out, and fall back to
glibc as it is where jemalloc is absent."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpekit.runtime import allocator

ROOT = Path(__file__).resolve().parents[2]
HAS_JEMALLOC = allocator.find_jemalloc() is not None


def test_allocator_env_sets_and_clears_the_variables():
    base = {'PATH': '/bin', 'LD_PRELOAD': '/x.so', 'MALLOC_CONF': 'a', 'GLIBC_TUNABLES': 'b'}
    plain = allocator.allocator_env('glibc', base)
    assert plain == {'PATH': '/bin'}
    tuned = allocator.allocator_env('glibc-tuned', base)
    assert tuned['GLIBC_TUNABLES'] == allocator.GLIBC_TUNED and 'LD_PRELOAD' not in tuned
    assert base['LD_PRELOAD'] == '/x.so'            # the caller's dict is untouched
    with pytest.raises(ValueError, match='allocator must be one of'):
        allocator.allocator_env('tcmalloc', base)


def test_jemalloc_missing_is_a_clear_error_and_not_preferred(monkeypatch, tmp_path):
    monkeypatch.setattr(allocator, 'JEMALLOC_PLACES', ())
    monkeypatch.setattr(allocator.subprocess, 'run',
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=''))
    env = {allocator.JEMALLOC_PATH: str(tmp_path / 'none.so')}
    assert allocator.find_jemalloc(env) is None and not allocator.available('jemalloc', env)
    with pytest.raises(FileNotFoundError, match='libjemalloc2'):
        allocator.allocator_env('jemalloc-retain', env)
    assert allocator.preferred(env) == 'glibc-tuned'      # the fallback
    calls = []
    allocator.tune_allocator(env, ['tools/train.py'],
                             execute=lambda path, argv, new_env: calls.append(new_env))
    assert calls[0]['GLIBC_TUNABLES'] == allocator.GLIBC_TUNED
    assert 'LD_PRELOAD' not in calls[0]


@pytest.mark.skipif(not HAS_JEMALLOC, reason='libjemalloc not installed here')
def test_jemalloc_retain_env():
    env = allocator.allocator_env('jemalloc-retain', {})
    assert 'jemalloc' in env['LD_PRELOAD'] and env['MALLOC_CONF'] == allocator.RETAIN_CONF


def test_tune_allocator_re_executes_once_with_the_preferred_settings(monkeypatch):
    monkeypatch.setattr(allocator, 'preferred', lambda environ=None: 'glibc-tuned')
    calls = []

    def execute(path, argv, env):
        calls.append((path, argv, env))
        return 'executed'

    assert allocator.tune_allocator({'PATH': '/bin'}, ['-X', 'dev', 'tools/train.py', 'c.py'],
                                    execute=execute) == 'executed'
    path, argv, env = calls[0]
    assert path == sys.executable and argv == [sys.executable, '-X', 'dev',
                                               'tools/train.py', 'c.py']
    assert env[allocator.APPLIED] == 'glibc-tuned'
    assert env['GLIBC_TUNABLES'] == allocator.GLIBC_TUNED
    # Not again in the re-executed process, not with the opt-out, not over a foreign
    # preload, not without a script.
    for environ, argv in [(env, ['t.py']), ({allocator.OPT_OUT: '1'}, ['t.py']),
                          ({'LD_PRELOAD': '/usr/lib/libtcmalloc.so'}, ['t.py']),
                          ({'GLIBC_TUNABLES': 'glibc.malloc.arena_max=1'}, ['t.py']),
                          ({'MALLOC_CONF': 'narenas:1'}, ['t.py']), ({}, [])]:
        assert allocator.tune_allocator(environ, argv, execute=pytest.fail) is None


SCRIPT = '''
import os, sys
from hpekit.runtime.allocator import tune_allocator
tune_allocator()
maps = open('/proc/self/maps').read()
print(os.environ.get('HPEKIT_ALLOCATOR', 'none'), 'jemalloc' in maps, sys.argv[1:])
'''


@pytest.mark.parametrize('opt_out, without_jemalloc', [(False, False), (True, False),
                                                       (False, True)])
def test_a_script_runs_under_the_tuned_allocator_unless_opted_out(tmp_path, opt_out,
                                                                  without_jemalloc):
    script = tmp_path / 'tool.py'
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items()
           if k not in ('LD_PRELOAD', 'MALLOC_CONF', 'GLIBC_TUNABLES', allocator.APPLIED,
                        allocator.OPT_OUT)}
    if opt_out:
        env[allocator.OPT_OUT] = '1'
    if without_jemalloc:   # a path that does not exist: as on a machine without it
        env[allocator.JEMALLOC_PATH] = str(tmp_path / 'no-libjemalloc.so.2')
    out = subprocess.run([sys.executable, str(script), 'a', '--b'], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    name, mapped, args = out.split(' ', 2)
    assert args.strip() == "['a', '--b']"
    if opt_out:
        assert (name, mapped) == ('none', 'False')
    elif HAS_JEMALLOC and not without_jemalloc:
        assert (name, mapped) == ('jemalloc-retain', 'True')
    else:
        assert (name, mapped) == ('glibc-tuned', 'False')


def test_retains_memory():
    assert allocator.retains_memory({allocator.APPLIED: 'jemalloc-retain'})
    assert allocator.retains_memory({'LD_PRELOAD': '/x/libjemalloc.so.2',
                                     'MALLOC_CONF': allocator.RETAIN_CONF})
    assert not allocator.retains_memory({allocator.APPLIED: 'glibc-tuned'})
    assert not allocator.retains_memory({})
