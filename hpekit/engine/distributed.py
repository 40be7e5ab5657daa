"""Start ``torch.distributed`` for ``tools/train.py`` / ``tools/test.py`` on GPUs and CPUs.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` for every launcher, which fails
on machines without CUDA. ``init_distributed`` hands GPU runs to mmengine unchanged
and starts CPU runs itself with gloo, from the same environment variables, so every
distributed code path runs (and is tested) without a GPU. The Runner then finds the
process group already started and uses it.
"""
import datetime
import gc
import os
import signal
import subprocess
import sys

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist
from mmengine.model import is_model_wrapper


def init_distributed(launcher, dist_cfg=None):
    """Join the process group of a distributed run; do nothing for ``launcher='none'``.

    Args:
        launcher (str): 'none', 'pytorch' (torchrun sets RANK, WORLD_SIZE, LOCAL_RANK,
            MASTER_ADDR, MASTER_PORT) or 'slurm' (srun sets SLURM_PROCID, SLURM_NTASKS,
            SLURM_LOCALID, SLURM_NODELIST; MASTER_PORT defaults to 29500) or 'mpi'
            (mpirun of Open MPI sets OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE and
            OMPI_COMM_WORLD_LOCAL_RANK; MASTER_ADDR defaults to 127.0.0.1 and
            MASTER_PORT to 29500, as mmengine's MPI launcher).
        dist_cfg (dict, optional): ``env_cfg.dist_cfg`` of the config: ``backend``
            ('nccl' on GPUs; CPU runs always use 'gloo') and ``timeout`` in seconds.
    """
    if launcher == 'none' or torch_dist.is_initialized():
        return
    if launcher not in ('pytorch', 'slurm', 'mpi'):
        raise ValueError(f"launcher must be 'none', 'pytorch', 'slurm' or 'mpi', got "
                         f'{launcher!r}')
    dist_cfg = dict(dist_cfg or {})
    if torch.cuda.is_available():
        init_dist(launcher, **dist_cfg)
        return
    if launcher == 'slurm':
        _slurm_to_torch_env()
    if launcher == 'mpi':
        _mpi_to_torch_env()
    _require_env('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', launcher=launcher)
    kwargs = {}
    if dist_cfg.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(backend='gloo', init_method='env://', **kwargs)


def finish_distributed(runner):
    """Leave the process group at the end of a successful run (no-op when undistributed).

    All ranks meet at a barrier; the DDP wrapper (which holds the group) is replaced by
    the plain model and collected; then the group is destroyed. Its gloo threads so
    stop now, not during interpreter shutdown, where a live group can abort the
    process ("terminate called without an active exception") after a good run.

    Args:
        runner: the finished mmengine Runner; ``runner.model`` is unwrapped in place.
    """
    if not torch_dist.is_initialized():
        return
    torch_dist.barrier()
    if is_model_wrapper(runner.model):
        runner.model = runner.model.module
    gc.collect()
    torch_dist.destroy_process_group()


def _require_env(*names, launcher):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise RuntimeError(f'--launcher {launcher}: environment variable(s) '
                           f'{", ".join(missing)} not set; start the job with '
                           f'{dict(pytorch="torchrun", slurm="srun", mpi="mpirun")[launcher]} '
                           '(see docs/distributed.md)')


def _mpi_to_torch_env():
    """Set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT from Open MPI's."""
    _require_env('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', launcher='mpi')
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['LOCAL_RANK'] = os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29500')


def _slurm_to_torch_env():
    """Set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT from Slurm's variables."""
    _require_env('SLURM_PROCID', 'SLURM_NTASKS', launcher='slurm')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ.setdefault('MASTER_PORT', '29500')
    if not os.environ.get('MASTER_ADDR'):
        _require_env('SLURM_NODELIST', launcher='slurm')
        hosts = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
                               capture_output=True, text=True, check=True).stdout.split()
        os.environ['MASTER_ADDR'] = hosts[0]


def strip_option(argv, name):
    """``argv`` without ``name VALUE`` / ``name=VALUE`` (e.g. '--nproc')."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + '='):
            out.append(arg)
    return out


def worker_env(threads, root, **extra):
    """This process's environment for a worker process of one run: ``threads``
    torch/OpenMP threads, ``root`` (the repository) first on ``PYTHONPATH``, plus
    ``extra`` variables."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               **{k: str(v) for k, v in extra.items()})
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH')) if p)
    return env


def launch_local(script, argv, nproc, threads_per_proc=1):
    """Run ``script`` in ``nproc`` processes on this machine and wait for them.

    The CPU way to use several cores for one training run (``tools/train.py --nproc
    N``): torch's own launcher (``python -m torch.distributed.run --standalone``, as
    ``tools/dist_train.sh`` uses it, with a free port chosen by its rendezvous) starts
    ``script argv --launcher pytorch`` N times; each process joins the gloo group
    (``init_distributed``), trains on its share of every epoch (mmengine's
    distributed sampler, the config's batch size per process) and DDP averages the
    gradients. Each process gets ``threads_per_proc`` threads (``OMP_NUM_THREADS``);
    single-threaded processes do not spin-wait on each other when other jobs share the
    cores (the speed-up is measured in docs/benchmarks.md, "--nproc").

    Args:
        script (str): the tool, e.g. ``tools/train.py``.
        argv (list[str]): its arguments (without ``--nproc`` or ``--launcher``).
        nproc (int): processes to start.
        threads_per_proc (int): torch/OpenMP threads of each.

    Returns:
        int: the launcher's exit status (non-zero when any process failed); 130 after
        Ctrl-C (see ``_wait_interrupted``).
    """
    if nproc < 1 or threads_per_proc < 1:
        raise ValueError(f'nproc and threads_per_proc must be >= 1, got {nproc}, '
                         f'{threads_per_proc}')
    root = os.path.dirname(os.path.dirname(os.path.abspath(script)))
    env = worker_env(threads_per_proc, root)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           f'--nproc-per-node={nproc}', os.path.abspath(script), *argv,
           '--launcher', 'pytorch']
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return _wait_interrupted(proc)


def _wait_interrupted(proc, grace_s=10.0, stop_s=60.0):
    """Ctrl-C reached the launcher: let torchrun and its ranks stop, then return 130.

    A terminal's Ctrl-C reaches the whole process group: torchrun passes SIGINT on to
    the ranks, which stop within an iteration (``hpekit.engine.interrupt``: status
    130, the "interrupted by SIGINT …" line, workers stopped, lock released). So the
    launcher waits for them — further Ctrl-Cs ignored meanwhile — rather than killing
    torchrun, which would orphan the ranks. If torchrun is still running after
    ``grace_s`` (the SIGINT was sent to the launcher alone), it gets SIGTERM, and
    SIGKILL after ``stop_s`` more seconds.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for sig, timeout in ((None, grace_s), (signal.SIGTERM, stop_s),
                             (signal.SIGKILL, None)):
            if sig is not None:
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        signal.signal(signal.SIGINT, previous)
    return 128 + signal.SIGINT
