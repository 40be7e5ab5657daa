"""Distributed training and testing, proven on CPU with gloo and 2 real processes.

The 2-process runs go through the user-facing launch scripts: tools/dist_train.sh and
tools/dist_test.sh (torchrun) and tools/slurm_train.sh (with tests/helpers/srun, a
stand-in for Slurm's srun that starts the tasks on this machine). Model and data are
tiny (tests/configs/video_dist_tiny.py: 8 train clips, 7 val clips of 4 frames, 32 px).

The flag tests at the end check what each command-line option puts into the config.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.config.setup import load_config, setup_test_config, setup_train_config
from hpekit.datasets.synthetic.h36m import write_h36m_split
from hpekit.engine import distributed
from hpekit.evaluation.functional import mpjpe
from hpekit.fileio import load_predictions
from hpekit.models.wrappers import HpekitDistributedDataParallel

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / 'tests' / 'helpers'
CONFIG = ROOT / 'tests' / 'configs' / 'video_dist_tiny.py'
NUM_TRAIN, NUM_VAL = 8, 7       # 7 val clips: not divisible by 2 processes
# 2 processes × batch 2 against 1 process × batch 4: the same samples per step, the
# mean gradient all-reduced by DDP instead of averaged in one loss. Only the float32
# summation order differs; measured differences are ~1e-8, the tolerance is 1e-6.
WEIGHT_ATOL = 1e-6


def free_port():
    """A TCP port nobody listens on now (bind to port 0, let the OS choose)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, cwd, audit_dir=None, **env):
    """Run ``cmd`` (CPU only, 1 thread per process); return its output; fail loudly."""
    full_env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
                    PYTHON=sys.executable, MASTER_PORT=str(free_port()),
                    PYTHONPATH=f'{ROOT}{os.pathsep}{HELPERS}',
                    PATH=f'{HELPERS}{os.pathsep}{os.environ["PATH"]}', **env)
    full_env.pop('HPEKIT_WRITE_AUDIT_DIR', None)
    if audit_dir is not None:
        audit_dir.mkdir(parents=True, exist_ok=True)
        full_env['HPEKIT_WRITE_AUDIT_DIR'] = str(audit_dir)
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd[:3]} failed:\n{out[-4000:]}'
    return out


def data_options(data_root, *extra):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}', *extra]


def state_dict(path):
    return load_checkpoint_file(str(path), map_location='cpu')['state_dict']


def max_abs_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def written_files(audit_dir, rank):
    """Paths rank ``rank`` opened for writing or renamed into place (see write_audit)."""
    log = audit_dir / f'rank{rank}.txt'
    return log.read_text().split() if log.is_file() else []


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The module's launches, once: 2-proc train, 1-proc train, 2-proc resumed train."""
    tmp = tmp_path_factory.mktemp('dist')
    data = tmp / 'data'
    write_h36m_split(str(data), num_train=NUM_TRAIN, num_valid=NUM_VAL, size=32,
                     num_frames=4, progress=False)
    two, one, resumed = tmp / 'two_procs', tmp / 'one_proc', tmp / 'resumed'
    run(['bash', ROOT / 'tools' / 'dist_train.sh', CONFIG, 2, '--work-dir', two,
         *data_options(data)], cwd=tmp, audit_dir=tmp / 'audit_two')
    run([sys.executable, ROOT / 'tools' / 'train.py', CONFIG, '--work-dir', one,
         *data_options(data, 'train_dataloader.batch_size=4')], cwd=tmp)
    # A 2-process run that stopped after epoch 1 (what rank 0 left behind), resumed
    # by a Slurm job of 2 tasks.
    resumed.mkdir()
    shutil.copy(two / 'epoch_1.pth', resumed / 'epoch_1.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'epoch_1.pth'))
    log = run(['bash', ROOT / 'tools' / 'slurm_train.sh', 'cpu', 'resume-test', CONFIG,
               resumed, '--resume', *data_options(data)],
              cwd=tmp, audit_dir=tmp / 'audit_resumed', GPUS='2')
    return dict(tmp=tmp, data=data, two=two, one=one, resumed=resumed, resume_log=log)


def test_two_processes_take_the_steps_of_one_process_with_the_double_batch(runs):
    for epoch in (1, 2):
        two = state_dict(runs['two'] / f'epoch_{epoch}.pth')
        one = state_dict(runs['one'] / f'epoch_{epoch}.pth')
        assert max_abs_diff(two, one) < WEIGHT_ATOL, f'epoch {epoch}'
    # Guard: the weights moved far more than the tolerance between the checkpoints,
    # so a run that skipped the gradient all-reduce (each rank training on its half)
    # could not pass.
    moved = max_abs_diff(state_dict(runs['two'] / 'epoch_1.pth'),
                         state_dict(runs['two'] / 'epoch_2.pth'))
    assert moved > 1000 * WEIGHT_ATOL


def test_checkpoints_and_metrics_are_written_once_by_rank_0(runs):
    work = runs['two']
    audit = runs['tmp'] / 'audit_two'
    rank0, rank1 = written_files(audit, 0), written_files(audit, 1)
    assert not [p for p in rank1 if p.startswith(str(work))], rank1
    for name in ('epoch_1.pth', 'epoch_2.pth', 'metrics.json', 'best_mpjpe_epoch_2.pth'):
        assert (work / name).is_file()
    # Rank 0 wrote every checkpoint (epoch_1.pth twice: mmengine saves it again after
    # a new best score, to record that score in it).
    for name in ('epoch_1.pth', 'epoch_2.pth', 'best_mpjpe_epoch_2.pth', 'last_checkpoint'):
        assert str(work / name) in rank0, name
    # metrics.json: rewritten by rank 0 after each of the 2 validations, never by rank 1.
    assert rank0.count(str(work / 'metrics.json')) == 2
    history = json.loads((work / 'metrics.json').read_text())
    assert [h['epoch'] for h in history] == [1, 2]


def test_a_distributed_run_resumes_from_rank_0_checkpoint(runs):
    assert 'resumed epoch: 1' in runs['resume_log']
    resumed = state_dict(runs['resumed'] / 'epoch_2.pth')
    straight = state_dict(runs['two'] / 'epoch_2.pth')
    for key in straight:
        assert torch.equal(resumed[key], straight[key]), key
    ckpt = load_checkpoint_file(str(runs['resumed'] / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.025)
    rank1 = written_files(runs['tmp'] / 'audit_resumed', 1)
    assert not [p for p in rank1 if p.startswith(str(runs['resumed']))], rank1


def test_distributed_test_counts_every_sample_exactly_once(runs, tmp_path):
    ckpt = runs['two'] / 'epoch_2.pth'
    one_dir, two_dir = tmp_path / 'one', tmp_path / 'two'
    run([sys.executable, ROOT / 'tools' / 'test.py', CONFIG, ckpt, '--work-dir', one_dir,
         *data_options(runs['data'])], cwd=tmp_path)
    run(['bash', ROOT / 'tools' / 'dist_test.sh', CONFIG, ckpt, 2, '--work-dir', two_dir,
         '--dump', two_dir / 'preds.npz', *data_options(runs['data'])], cwd=tmp_path)
    single = json.loads((one_dir / 'test_metrics.json').read_text())['metrics']
    dist = json.loads((two_dir / 'test_metrics.json').read_text())['metrics']
    assert dist == single          # every metric, exactly
    # The validation inside the 2-process training was distributed too.
    history = json.loads((runs['two'] / 'metrics.json').read_text())
    assert history[-1]['mpjpe'] == single['mpjpe']

    preds = load_predictions(two_dir / 'preds.npz')   # gathered from both ranks
    assert sorted(int(p['sample_idx']) for p in preds) == list(range(NUM_VAL))
    # Guard: the sampler pads 7 samples to 8 (sample 0 twice); counting the pad would
    # have changed MPJPE, so the equality above can detect it.
    pred = np.concatenate([np.asarray(p['pred_joints_3d']) for p in preds + preds[:1]])
    gt = np.concatenate([np.asarray(p['gt_joints_3d']) for p in preds + preds[:1]])
    assert abs(mpjpe(pred, gt) * 1000 - single['mpjpe']) > 1e-6


def test_every_training_option_in_a_two_process_run(runs, tmp_path):
    # bfloat16 autocast (CPU), accumulation over 2 iterations, clipping, lr scaling,
    # per-rank seeds, find_unused_parameters and the loader options, all at once.
    work = tmp_path / 'options'
    log = run(['bash', ROOT / 'tools' / 'dist_train.sh', CONFIG, 2, '--work-dir', work,
               '--amp', '--accumulate', 2, '--clip-grad', 1.0, '--auto-scale-lr',
               '--seed', 1, '--deterministic', '--find-unused-parameters',
               '--pin-memory', '--persistent-workers',
               *data_options(runs['data'], 'train_cfg.max_epochs=1')], cwd=tmp_path)
    # 2 processes × batch 2 against the config's batch 2: lr 0.05 → 0.1.
    assert 'Scaling the original LR by 2.0' in log
    group = load_checkpoint_file(str(work / 'epoch_1.pth'))['optimizer']['param_groups'][0]
    assert group['initial_lr'] == pytest.approx(0.1)
    lines = [line for line in log.splitlines() if 'Epoch(train) [1]' in line]
    assert len(lines) == 2 and 'lr: 1.0000e-01' in lines[0]
    # One optimizer step per 2 iterations: the clipped gradient norm is logged at
    # iteration 2 only.
    assert 'grad_norm' not in lines[0] and 'grad_norm' in lines[1]


# --- command-line options → config (no processes started) ------------------------

QUICK = str(ROOT / 'configs' / 'h36m_video' / 'r18-lstm-fc_b2-3e_h36m-224.py')


def train_cfg(**flags):
    return setup_train_config(load_config(QUICK), QUICK, **flags)


def test_distributed_runs_use_hpekit_ddp_wrapper_and_gloo_on_cpu():
    cfg = train_cfg(launcher='pytorch')
    assert cfg.model_wrapper_cfg == dict(type='hpekit.HpekitDistributedDataParallel',
                                         broadcast_buffers=False)
    if not torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    cfg = train_cfg(launcher='pytorch', find_unused_parameters=True)
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    # A wrapper the config names itself is kept.
    cfg = load_config(QUICK, {'model_wrapper_cfg.type': 'MMDistributedDataParallel'})
    setup_train_config(cfg, QUICK)
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'


def test_ddp_wrapper_drops_device_ids_for_cpu_models(tmp_path):
    from mmengine.model import BaseModel
    store = torch.distributed.FileStore(str(tmp_path / 'store'), 1)
    torch.distributed.init_process_group('gloo', store=store, rank=0, world_size=1)
    try:
        class Tiny(BaseModel):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(2, 1)

            def forward(self, inputs, data_samples=None, mode='tensor'):
                return {'loss': self.fc(inputs).pow(2).mean()}

        with warnings.catch_warnings():
            warnings.simplefilter('error', FutureWarning)   # no deprecated DDP argument
            wrapped = HpekitDistributedDataParallel(Tiny(), device_ids=[0],
                                                    broadcast_buffers=False)
        assert wrapped.device_ids is None
        optim = torch.optim.SGD(wrapped.parameters(), lr=0.1)
        from mmengine.optim import OptimWrapper
        before = wrapped.module.fc.weight.detach().clone()
        wrapped.train_step({'inputs': torch.ones(4, 2)}, OptimWrapper(optim))
        assert not torch.equal(before, wrapped.module.fc.weight)
    finally:
        torch.distributed.destroy_process_group()


def test_sync_bn():
    assert train_cfg(sync_bn=True).sync_bn == 'torch'
    assert train_cfg().get('sync_bn') is None
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r'r18-lstm-fc.*sync_bn.*GPU'):
            train_cfg(sync_bn=True, launcher='pytorch')
    cfg = load_config(QUICK, {'sync_bn': 'apex'})
    with pytest.raises(ValueError, match="sync_bn must be 'torch' or 'mmcv'"):
        setup_train_config(cfg, QUICK)


def test_gradient_accumulation_and_clipping():
    cfg = train_cfg(accumulate=4, clip_grad=1.5)
    assert cfg.optim_wrapper.accumulative_counts == 4
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.5, norm_type=2)
    assert 'accumulative_counts' not in train_cfg().optim_wrapper
    with pytest.raises(ValueError, match='--accumulate must be an int >= 1'):
        train_cfg(accumulate=0)
    with pytest.raises(ValueError, match='--clip-grad must be a max norm > 0'):
        train_cfg(clip_grad=-1.0)


def test_auto_scale_lr_base_batch_size():
    # Default base: the config's own batch size (its lr was set for one process).
    cfg = train_cfg(auto_scale_lr=True)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=2)
    cfg = load_config(QUICK, {'auto_scale_lr.base_batch_size': 16})
    setup_train_config(cfg, QUICK, auto_scale_lr=True)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)
    cfg = load_config(QUICK, {'auto_scale_lr.base_batch_size': 0})
    with pytest.raises(ValueError, match='base_batch_size'):
        setup_train_config(cfg, QUICK, auto_scale_lr=True)
    assert train_cfg().get('auto_scale_lr') is None


def test_deterministic_seeds_each_rank_differently():
    cfg = train_cfg(seed=3, deterministic=True)
    assert cfg.randomness == dict(seed=3, deterministic=True, diff_rank_seed=True)
    assert 'diff_rank_seed' not in train_cfg(seed=3).randomness


def test_pin_memory_and_persistent_workers():
    cfg = train_cfg(pin_memory=True, persistent_workers=True)
    for name in ('train_dataloader', 'val_dataloader'):
        assert cfg[name].pin_memory is True
        assert cfg[name].persistent_workers is True   # the config has num_workers=2
    cfg = load_config(QUICK, {'train_dataloader.num_workers': 0})
    setup_train_config(cfg, QUICK, persistent_workers=True)
    assert cfg.train_dataloader.persistent_workers is False   # needs workers
    ckpt = Path(QUICK)   # any existing file stands in for a checkpoint here
    cfg = setup_test_config(load_config(QUICK), QUICK, str(ckpt), pin_memory=True)
    assert cfg.test_dataloader.pin_memory is True


def test_init_distributed_names_missing_environment(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('CPU path')
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match='RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT'):
        distributed.init_distributed('pytorch')
    with pytest.raises(ValueError, match='launcher'):
        distributed.init_distributed('gpus')
    for name in ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match='OMPI_COMM_WORLD_RANK.*mpirun'):
        distributed.init_distributed('mpi')
    distributed.init_distributed('none')   # single process: nothing to start


def test_slurm_variables_become_torch_variables(monkeypatch):
    monkeypatch.setenv('SLURM_PROCID', '5')
    monkeypatch.setenv('SLURM_NTASKS', '8')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('MASTER_ADDR', 'node7')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    distributed._slurm_to_torch_env()
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'],
            os.environ['MASTER_ADDR'], os.environ['MASTER_PORT']) == \
        ('5', '8', '1', 'node7', '29500')


def test_launch_scripts_print_usage_without_arguments():
    for script, words in (('dist_train.sh', 'CONFIG NGPUS'),
                          ('dist_test.sh', 'CONFIG CHECKPOINT NGPUS'),
                          ('slurm_train.sh', 'PARTITION JOB_NAME CONFIG WORK_DIR'),
                          ('slurm_test.sh', 'PARTITION JOB_NAME CONFIG CHECKPOINT')):
        proc = subprocess.run(['bash', str(ROOT / 'tools' / script)],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and words in proc.stderr, script


def test_finish_distributed_unwraps_the_model_and_leaves_the_group(tmp_path):
    """The tools' last step: DDP wrapper dropped, process group destroyed (1-rank gloo)."""
    torch_dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}',
                                  rank=0, world_size=1)
    try:
        plain = torch.nn.Linear(2, 2)
        runner = SimpleNamespace(model=HpekitDistributedDataParallel(module=plain))
        distributed.finish_distributed(runner)
        assert runner.model is plain
        assert not torch_dist.is_initialized()
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
    distributed.finish_distributed(SimpleNamespace(model=plain))   # undistributed: nothing to do
