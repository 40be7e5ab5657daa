"""Kill-mid-save loops: a training run is SIGKILLed again and again at random points —
inside a checkpoint's write, around its rename, inside the pointer's write, after old
checkpoints are deleted, or at a random moment — and restarted with --resume auto.

After every kill a loadable checkpoint exists (once the first save completed) and
``last_checkpoint`` never names a damaged file; at the end the weights are
bit-identical to the uninterrupted run's and metrics.json is equal.

CI runs one chain per retention (``max_keep_ckpts=1`` and keep-all) with a fixed
seed. ``HPEKIT_FAULT_ROUNDS=N`` runs N chains per retention, ``HPEKIT_FAULT_SEED``
changes the random kill plans (see docs/reliability.md).
"""
import json
import os
import random
import shutil

import pytest
import torch
from conftest import ITERS, train_argv

from hpekit.checkpoint.loading import CheckpointError, load_checkpoint_file
from hpekit.checkpoint.resume import find_resumable_checkpoint

ROUNDS = int(os.environ.get('HPEKIT_FAULT_ROUNDS', '1'))
SEED = int(os.environ.get('HPEKIT_FAULT_SEED', '0'))
# Kill points, in the order they happen within one save. The first four leave the new
# file unfinished or unnamed (resume goes back one save), the last two follow the
# pointer update (resume starts at the new file).
EARLY = ('write', 'before_rename', 'after_rename', 'pointer_write')
LATE = ('after_pointer', 'after_delete')
BEST_ITERS = (3, 6)   # validation after each epoch: a new best checkpoint


def _target(rng, phase, it):
    """The file a phase aims at: the iteration's checkpoint, or its best checkpoint."""
    if it in BEST_ITERS and phase in ('write', 'before_rename', 'after_rename') and \
            rng.random() < 0.5:
        return f'best_mpjpe_iter_{it}.pth'
    return f'iter_{it}.pth'


def kill_plan(rng, keep, thorough):
    """(phase, file, iteration) kill points in an order one run can reach.

    ``thorough`` (CI's round): with ``max_keep_ckpts=1`` one kill per iteration, every
    phase once, in random order; with keep-all three kills: the best checkpoint's
    replacement (iteration 6), a random moment and one random phase. Other rounds:
    per iteration, up to two early phases (the resumed run saves that file again),
    then one late phase; half of them start with a kill at a random moment.
    """
    plan = []
    if thorough and keep == 1:
        phases = list(EARLY + LATE)
        rng.shuffle(phases)
        if phases[0] == 'after_delete':   # iteration 1 has nothing to delete
            phases.append(phases.pop(0))
        return [(phase, _target(rng, phase, it), it)
                for it, phase in enumerate(phases, start=1)]
    if thorough:   # a random moment (in iteration 1..it-1), a phase at it, the best's
        it = rng.randint(2, ITERS - 1)   # replacement
        phase = rng.choice(EARLY + ('after_pointer', ))
        kills = [('random_time', rng.randint(1, it - 1)), (phase, it), ('after_delete', ITERS)]
        return [(p, _target(rng, p, i), i) for p, i in kills]
    for it in sorted(rng.sample(range(1, ITERS + 1), k=rng.randint(2, ITERS))):
        # At iteration 1 there is no pointer yet: once iter_1.pth is complete under its
        # name (after_rename, pointer_write), --resume auto rightly resumes from it, and
        # later saves (still no pointer) would too; and there is nothing to delete.
        early = [p for p in EARLY if it > 1 or p in ('write', 'before_rename')]
        for phase in rng.sample(early, k=rng.randint(0, 2)):
            plan.append((phase, _target(rng, phase, it), it))
        late = [p for p in LATE
                if p != 'after_delete' or (keep == 1 and it > 1) or it == ITERS]
        plan.append((rng.choice(late), f'iter_{it}.pth', it))
    if rng.random() < 0.5 and plan[0][2] > 1:
        it = rng.randint(1, plan[0][2] - 1)
        plan.insert(0, ('random_time', f'iter_{it}.pth', it))
    return plan


def _weights(path):
    return load_checkpoint_file(str(path), map_location='cpu')['state_dict']


def _check_invariants(work, completed_any):
    """What must hold after every kill."""
    pointer = work / 'last_checkpoint'
    if pointer.exists():   # never names a damaged or missing file
        target = pointer.read_text().strip()
        assert target, 'last_checkpoint is empty'
        load_checkpoint_file(target, map_location='cpu')
    path, skipped = find_resumable_checkpoint(str(work))
    if completed_any:
        assert path is not None, f'no loadable checkpoint after a kill: {skipped}'
    for name in os.listdir(work):   # every checkpoint under its final name loads
        if name.endswith('.pth'):
            try:
                load_checkpoint_file(str(work / name), map_location='cpu')
            except CheckpointError as err:
                pytest.fail(f'{name} is damaged after a kill: {err}')


def run_chain(server, config, data_root, work, keep, plan, rng, straight):
    """Kill at each point of ``plan`` (restarting with --resume auto), then finish.

    Returns (kill points that fired, logs, the kill point a run ended before, or None).
    """
    options = [f'default_hooks.checkpoint.max_keep_ckpts={keep}']
    run_seconds = float((straight.parent / 'straight.seconds').read_text())
    # a kill anywhere in a file (sizes vary a little: the logged history grows)
    sizes = {'iter': int(0.98 * (straight / 'iter_1.pth').stat().st_size),
             'best': int(0.98 * (straight / f'best_mpjpe_iter_{ITERS}.pth').stat().st_size)}
    fired, completed_any, logs = [], False, []
    for n, (phase, name, it) in enumerate(plan):
        marker = work.parent / f'{work.name}.stalled{n}'
        log = work.parent / f'{work.name}.run{n}.out'
        logs.append(log)
        argv = train_argv(config, work, data_root, *options)
        if phase == 'random_time':   # a random moment in iteration `it` (train, save,
            limit = work.parent / f'{work.name}.limit{n}'   # validation)
            fault = dict(phase=phase, iteration=it, marker=str(marker),
                         limit_marker=str(limit))
            result = server.run(argv, log, fault=fault, marker=marker, limit_marker=limit,
                                delay=rng.uniform(0, 1) * run_seconds / ITERS)
        else:
            fault = dict(phase=phase, file=name, marker=str(marker), work_dir=str(work),
                         offset=rng.randint(1, sizes[name.split('_')[0]]))
            result = server.run(argv, log, fault=fault, marker=marker)
        if result == 0:   # the run ended before this kill point
            return fired, logs, (phase, name)
        assert result == 'killed', f'run {n} failed ({result}):\n{log.read_text()[-4000:]}'
        fired.append((phase, name))
        completed_any = completed_any or (work / 'last_checkpoint').exists()
        _check_invariants(work, completed_any)
        if keep == 1 and completed_any:
            kept = [p for p in os.listdir(work) if p.startswith('iter_')]
            assert 1 <= len(kept) <= 2, kept   # the old one goes only after the new one
    log = work.parent / f'{work.name}.final.out'
    logs.append(log)
    result = server.run(train_argv(config, work, data_root, *options), log)
    assert result == 0, log.read_text()[-4000:]
    return fired, logs, None


@pytest.mark.parametrize('keep', [1, -1], ids=['keep1', 'keep_all'])
@pytest.mark.parametrize('round_', range(ROUNDS))
def test_kills_at_random_points_resume_bit_identical(keep, round_, tmp_path, fork_server,
                                                     fault_config, data_root, straight):
    rng = random.Random(f'{SEED}-{keep}-{round_}')
    plan = kill_plan(rng, keep, thorough=round_ == 0)
    work = tmp_path / 'work'
    fired, logs, missed = run_chain(fork_server, fault_config, data_root, work, keep,
                                    plan, rng, straight)
    print(f'plan {plan}\nfired {fired}\nmissed {missed}')
    # CI's plan reaches every point (a random-moment kill may come after the run's
    # end). A random plan may miss one: e.g. with no last_checkpoint yet, a complete
    # checkpoint is what --resume auto rightly resumes from, past the planned point.
    if round_ == 0:
        assert missed is None or missed[0] == 'random_time', f'{missed} of {plan} missed'
    else:
        assert fired, f'no kill happened: {plan}'
    final = f'iter_{ITERS}.pth'
    a, b = _weights(work / final), _weights(straight / final)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs after {fired}'
    assert (json.loads((work / 'metrics.json').read_text())
            == json.loads((straight / 'metrics.json').read_text()))
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]
    checkpoints = sorted(n for n in os.listdir(work) if n.endswith('.pth'))
    expected = sorted(n for n in os.listdir(straight) if n.endswith('.pth'))
    if keep == 1:
        expected = [n for n in expected if not n.startswith('iter_')] + [final]
    assert checkpoints == sorted(expected)   # nothing lost, nothing left over
    text = ''.join(log.read_text() for log in logs)
    assert 'Traceback' not in text
    shutil.rmtree(work)
