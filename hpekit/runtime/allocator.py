"""A fault-free memory allocator for hpekit's tools on Linux CPUs (standard library only).

glibc's malloc gives large blocks (a training step's activations) back to the kernel
when they are freed and maps them again on the next step, so every step pays page
faults and kernel time for memory it had a moment ago. jemalloc told to keep what it
has (``MALLOC_CONF=retain:true,dirty_decay_ms:-1,muzzy_decay_ms:-1``) reuses it instead.
glibc's own knobs (``GLIBC_TUNABLES``: mmap threshold, trim threshold, top pad) help
less: a block above the largest allowed mmap threshold (32 MiB) is still mapped and
unmapped every time. ``tools/benchmark.py allocator`` measures the choices against
each other (docs/benchmarks.md, "Allocator").

``tune_allocator()``, called first thing by ``tools/train.py``, ``test.py``,
``demo.py`` and ``benchmark.py`` (and the ``hpekit-*`` commands), re-executes the
process once with the best allocator available here: jemalloc with the settings above
(``LD_PRELOAD``) where ``libjemalloc.so.2`` is installed (Debian/Ubuntu:
``apt-get install libjemalloc2``; ``make install`` tries it), else glibc with
``GLIBC_TUNABLES`` (largest mmap threshold, no trimming: fewer page faults at large
batches; the figures are in docs/benchmarks.md, "Allocator"). It changes
nothing when ``HPEKIT_NO_ALLOCATOR_TUNING=1`` is set, off Linux, when the process
already runs under the chosen settings, or when the user set ``LD_PRELOAD``,
``MALLOC_CONF`` or ``GLIBC_TUNABLES`` themselves. The memory a tuned process has
freed stays in it for reuse: its RSS stays near its peak instead of shrinking.
"""
import os
import subprocess
import sys

OPT_OUT = 'HPEKIT_NO_ALLOCATOR_TUNING'   # =1: never re-execute, allocator untouched
APPLIED = 'HPEKIT_ALLOCATOR'             # set to the chosen name in the re-executed process
JEMALLOC_PATH = 'HPEKIT_JEMALLOC'        # a libjemalloc.so to use instead of searching

RETAIN_CONF = 'retain:true,dirty_decay_ms:-1,muzzy_decay_ms:-1'
# glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2), no trimming, 64 MiB pad.
GLIBC_TUNED = ('glibc.malloc.mmap_threshold=33554432:'
               'glibc.malloc.trim_threshold=68719476736:'
               'glibc.malloc.top_pad=67108864')
JEMALLOC_PLACES = ('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
                   '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
                   '/usr/lib64/libjemalloc.so.2', '/usr/lib/libjemalloc.so.2',
                   '/usr/local/lib/libjemalloc.so.2', '/opt/homebrew/lib/libjemalloc.2.dylib')

# The measured winner first (docs/benchmarks.md, "Allocator"); the first available one
# is applied. 'glibc' (no change) is always available.
PREFERENCE = ('jemalloc-retain', 'glibc-tuned', 'glibc')
_ALLOCATOR_VARS = ('LD_PRELOAD', 'MALLOC_CONF', 'GLIBC_TUNABLES')


def find_jemalloc(environ=None):
    """Path of libjemalloc (``$HPEKIT_JEMALLOC``, the usual library folders, then
    ``ldconfig -p``), or None."""
    environ = os.environ if environ is None else environ
    given = environ.get(JEMALLOC_PATH)
    if given:
        return given if os.path.isfile(given) else None
    for path in JEMALLOC_PLACES:
        if os.path.isfile(path):
            return path
    try:
        listing = subprocess.run(['ldconfig', '-p'], capture_output=True, text=True,
                                 timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listing.splitlines():
        if 'libjemalloc.so' in line and '=>' in line:
            path = line.split('=>')[-1].strip()
            if os.path.isfile(path):
                return path
    return None


def allocator_names():
    """Every allocator setting ``allocator_env`` knows."""
    return ('glibc', 'glibc-tuned', 'jemalloc', 'jemalloc-retain')


def available(name, environ=None):
    """Whether ``allocator_env(name)`` can be had on this machine."""
    if name.startswith('jemalloc'):
        return sys.platform.startswith('linux') and find_jemalloc(environ) is not None
    return name in allocator_names()


def allocator_env(name, environ=None):
    """A copy of ``environ`` (default ``os.environ``) running a new process under
    allocator ``name``: 'glibc' (as it comes: the allocator variables removed),
    'glibc-tuned' (``GLIBC_TUNABLES``), 'jemalloc' (preloaded, its default settings)
    or 'jemalloc-retain' (preloaded with ``RETAIN_CONF``).

    Raises:
        ValueError: unknown name. FileNotFoundError: jemalloc asked for, none found.
    """
    environ = dict(os.environ if environ is None else environ)
    if name not in allocator_names():
        raise ValueError(f'allocator must be one of {allocator_names()}, got {name!r}')
    for var in _ALLOCATOR_VARS:
        environ.pop(var, None)
    if name == 'glibc-tuned':
        environ['GLIBC_TUNABLES'] = GLIBC_TUNED
    elif name.startswith('jemalloc'):
        path = find_jemalloc(environ)
        if path is None:
            raise FileNotFoundError('jemalloc not found (apt-get install libjemalloc2, or '
                                    f'set {JEMALLOC_PATH}=/path/to/libjemalloc.so.2)')
        environ['LD_PRELOAD'] = path
        if name == 'jemalloc-retain':
            environ['MALLOC_CONF'] = RETAIN_CONF
    return environ


def preferred(environ=None):
    """The first available allocator of ``PREFERENCE``."""
    return next(name for name in PREFERENCE if available(name, environ))


def tune_allocator(environ=None, argv=None, execute=os.execve):
    """Re-execute this process once under the preferred allocator (see the module doc).

    Call it before anything heavy is imported: the process starts again from the
    beginning, with the same interpreter, flags and arguments (``argv``: the command
    line after the interpreter, default ``sys.orig_argv[1:]``). Returns None when nothing is
    done (opt-out, not Linux, already applied, preferred is plain glibc, the user's own
    ``LD_PRELOAD``, ``MALLOC_CONF`` or ``GLIBC_TUNABLES``, or no script to re-run);
    ``execute`` is replaced by tests.
    """
    environ = os.environ if environ is None else environ
    # The interpreter's own command line (flags, -m module or script, arguments).
    argv = list(getattr(sys, 'orig_argv', [sys.executable, *sys.argv])[1:]
                if argv is None else argv)
    if environ.get(OPT_OUT, '') not in ('', '0') or environ.get(APPLIED):
        return None
    if not sys.platform.startswith('linux') or not argv or argv[0] in ('', '-'):
        return None
    if any(environ.get(var) for var in _ALLOCATOR_VARS):
        return None     # the user chose an allocator or its settings: leave them
    name = preferred(environ)
    if name == 'glibc':
        return None
    env = allocator_env(name, environ)
    env[APPLIED] = name
    return execute(sys.executable, [sys.executable, *argv], env)


def retains_memory(environ=None):
    """Whether this process runs under an allocator that keeps freed memory for reuse
    (jemalloc with ``retain:true``, as ``tune_allocator`` applies it): then large
    batches cost no page faults and the fastest batch size per crop is larger."""
    environ = os.environ if environ is None else environ
    if environ.get(APPLIED) == 'jemalloc-retain':
        return True
    return 'jemalloc' in environ.get('LD_PRELOAD', '') and \
        'retain:true' in environ.get('MALLOC_CONF', '')
