"""The terminal table of ``tools/benchmark.py``: a result dict → aligned text.

``arm_rows(result)`` turns any mode's result into one row per arm (``train-step``:
hpekit, plain, plain_baseline; ``inference``: every backend@batch; ``sampler``: off,
sampler, legacy; ``allocator``: every allocator; ``pipeline``/``loader``: one row);
``render(headers, rows)`` aligns any table; ``format_result(result)`` is the whole
text; ``format_roofline(peaks)`` the calibration alone. Every figure is one of the
result's (the JSON ``--json OUT`` writes), rounded: ms, samples/s and GFLOP/s to 2
decimals, ratios to 3, MB and % of peak to 1. The one derived figure is an
interleaved arm's samples/s (its samples per step / median step time, as the
harness's ``summarize`` computes the top-level one). With a roofline
(``result['roofline']``, ``tools.benchmarking.roofline``) every arm has GFLOP/s and
``% peak`` (100 × ``peak_fraction``), and the peaks are printed under the table.

Standard library only.
"""

COLUMNS = ('arm', 'samples/s', 'ms/sample', 'median ms/step', 'p10–p90 ms/step',
           '× ref (paired)', 'GFLOP/s', '% peak', 'sys ms/step', 'minflt/step', 'RSS MB')
# Scalar ratios printed under the table, as the JSON names them.
RATIOS = ('overhead', 'overhead_paired', 'legacy_overhead', 'speedup_vs_baseline',
          'speedup_vs_baseline_paired')
# Scalar facts printed in the title block, where the mode reports them.
FACTS = ('workload', 'num_workers', 'nproc', 'per_process_batch', 'flip_test', 'compile',
         'optim_wrapper', 'params_equal_across_ranks', 'num_clips', 'file_gb',
         'cpu_samples_per_s', 'cv2_threads')


def fmt(value, digits=2):
    """A number as the table prints it ('—' for None)."""
    if value is None:
        return '—'
    if isinstance(value, (bool, int)) or not isinstance(value, float):
        return str(value)
    return f'{value:.{digits}f}'


def _spread(stats):
    return f'{fmt(stats["p10"])}–{fmt(stats["p90"])}'


def _row(name, steps, samples_per_s, ratio=None, **extra):
    return {'arm': name, 'samples/s': fmt(samples_per_s),
            'median ms/step': fmt(steps['median']), 'p10–p90 ms/step': _spread(steps),
            '× ref (paired)': ratio, **extra}


def _with_roofline(rows, result):
    """``rows`` with the GFLOP/s and % peak cells of ``result['roofline']['arms']``
    (keyed by arm name; ``plain_baseline (ALLOCATOR)`` rows by ``plain_baseline``)."""
    arms = (result.get('roofline') or {}).get('arms') or {}
    for row in rows:
        arm = arms.get(row['arm'].split(' (')[0])
        if arm is not None:
            row['GFLOP/s'] = fmt(arm['gflops'])
            row['% peak'] = fmt(100 * arm['peak_fraction'], 1)
    return rows


def arm_rows(result):
    """One dict per arm (column → text; absent columns are left out)."""
    return _with_roofline(_arm_rows(result), result)


def _arm_rows(result):
    mode = result['mode']
    if 'interleaved' in result or mode == 'allocator':
        arms = result['allocators'] if mode == 'allocator' else \
            result['interleaved']['arms']
        ratios = result['ratios'] if mode == 'allocator' else \
            result['interleaved']['ratios']
        ratio_key = 'wall_paired_per_sample' if mode == 'inference' else 'wall_paired'
        rows = []
        for i, (name, arm) in enumerate(arms.items()):
            steps = arm['wall_ms']
            per_step = arm.get('samples_per_step', result['batch_size'])
            row = _row(name, steps, arm.get('samples_per_s',
                                            per_step * 1e3 / steps['median']),
                       'ref' if i == 0 else fmt(ratios[name][ratio_key], 3))
            if 'wall_ms_per_sample' in arm:
                row['ms/sample'] = fmt(arm['wall_ms_per_sample']['median'])
            if isinstance(arm.get('sys_ms'), dict):
                row['sys ms/step'] = fmt(arm['sys_ms']['median'])
                row['minflt/step'] = fmt(arm['minflt']['median'], 0)
            if isinstance(arm.get('rss_mb'), dict):
                row['RSS MB'] = fmt(arm['rss_mb']['median'], 1)
            rows.append(row)
        return rows
    if mode == 'train-step':
        rows = [_row('hpekit', result['hpekit']['step_ms'],
                     result['hpekit']['samples_per_s'],
                     fmt(result.get('overhead_paired'), 3) if 'plain' in result else None)]
        if 'plain' in result:
            rows.append(_row('plain', result['plain']['step_ms'],
                             result['plain']['samples_per_s'], 'ref'))
        if 'plain_baseline' in result:
            base = result['plain_baseline']
            rows.append(_row(f'plain_baseline ({base["allocator"]})', base['step_ms'],
                             base['samples_per_s']))
        return rows
    return [_row(mode, result['step_ms'], result['samples_per_s'])]


def render(headers, rows, indent='  '):
    """Aligned columns: ``headers`` in order, those empty in every row left out; the
    first column left-aligned, the others right-aligned."""
    headers = [h for i, h in enumerate(headers)
               if i == 0 or any(row.get(h) not in (None, '') for row in rows)]
    cells = [[str(row.get(h) if row.get(h) is not None else '—') for h in headers]
             for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values):
        return indent + '  '.join(v.ljust(w) if i == 0 else v.rjust(w)
                                  for i, (v, w) in enumerate(zip(values, widths)))

    rule = indent + '  '.join('-' * w for w in widths)
    return '\n'.join([line(headers), rule] + [line(c) for c in cells])


def format_roofline(peaks):
    """The calibration of ``tools.benchmarking.roofline.calibrate``: one row per
    kernel, dtype and thread count, then the peaks."""
    rows = [{'kernel': m['kernel'], 'dtype': m['dtype'],
             'threads': 'device' if m['threads'] is None else str(m['threads']),
             'shape': m['shape'], 'ms': fmt(1e3 * m['seconds']), 'GFLOP/s': fmt(m['gflops'])}
            for m in peaks['measurements']]
    lines = [f"roofline  device {peaks['device']}  threads {peaks['threads']}  "
             f"({fmt(peaks['seconds'])} s)",
             render(('kernel', 'dtype', 'threads', 'shape', 'ms', 'GFLOP/s'), rows), '',
             '  ' + peak_line(peaks), f"  GFLOP/s: {peaks['convention']}"]
    return '\n'.join(lines)


def peak_line(peaks):
    """'peak GFLOP/s: float32 9.1 (1 thread) 17.0 (2 threads); bfloat16 …'."""
    parts = []
    for dtype, peak in peaks['peak_gflops'].items():
        if peaks['threads'] is None:
            parts.append(f'{dtype} {fmt(peak["all_threads"])}')
        elif peaks['threads'] == 1:
            parts.append(f'{dtype} {fmt(peak["one_thread"])} (1 thread)')
        else:
            parts.append(f'{dtype} {fmt(peak["one_thread"])} (1 thread) '
                         f'{fmt(peak["all_threads"])} ({peaks["threads"]} threads)')
    return 'peak GFLOP/s: ' + '; '.join(parts)


def _roofline_lines(result):
    """The lines under the table that say what the GFLOP/s and % peak columns mean."""
    roof = result.get('roofline')
    if not roof:
        return []
    passes = {1: 'one forward pass', 2: '2 forward passes (flip test)',
              3: '3 forward passes (a training step: forward + backward)'}
    work = passes.get(roof['passes_per_sample'], f"{roof['passes_per_sample']} passes")
    bases = sorted({f"{a['dtype']} against its {a['peak_basis']} peak"
                    for a in roof['arms'].values()})
    return ['', f"  roofline: {fmt(roof['flops_per_sample'] / 1e9, 3)} GFLOP per sample "
                f"= {work} of {fmt(roof['forward_flops'] / 1e9, 3)}; % peak: "
                + ', '.join(bases),
            '  ' + peak_line(roof['peaks']),
            f"  GFLOP/s: {roof['convention']}"]


def format_result(result, json_path=None):
    """The whole terminal text of one run of ``tools/benchmark.py``."""
    load = result.get('loadavg_start'), result.get('loadavg')
    head = (f'{result["mode"]}  {result["config"]}  device {result["device"]}  '
            f'batch {result["batch_size"]}  {result["iters"]} timed '
            f'(+{result["warmup"]} warm-up)  allocator {result.get("allocator")}  '
            f'threads {result.get("torch_threads")}')
    if load[0] and load[1]:
        head += f'  load {load[0][0]} → {load[1][0]}'
    lines = [head]
    facts = [f'{k} {fmt(result[k])}' for k in FACTS if k in result]
    if facts:
        lines.append('  ' + '  '.join(facts))
    rows = arm_rows(result)
    lines += ['', render(COLUMNS, rows)]
    if any(row.get('× ref (paired)') == 'ref' for row in rows):
        per = ', per sample' if result['mode'] == 'inference' else ''
        lines += ['', f"  × ref (paired): median over the steps of this arm's time / "
                      f"the ref arm's next to it{per}"]
    for arm, reason in result.get('not_run', {}).items():
        lines += ['', f'  not run: {arm}: {reason}']
    lines += _roofline_lines(result)
    ratios = [f'{k} {fmt(result[k], 3)}' for k in RATIOS if k in result]
    if ratios:
        lines += ['', '  ratios: ' + '  '.join(ratios)]
    if result['mode'] == 'pipeline':
        share = result['transforms_share']
        lines += ['', render(('transform', 'ms/sample', 'share %'), [
            {'transform': name, 'ms/sample': fmt(ms), 'share %': fmt(100 * share[name], 1)}
            for name, ms in result['transforms_ms'].items()])]
    memory = [f'{label} {fmt(result.get(key), 1)} MB'
              for label, key in (('RSS', 'peak_rss_mb'), ('PSS', 'peak_pss_mb'),
                                 ('GPU', 'peak_gpu_mb')) if result.get(key) is not None]
    if memory:
        lines += ['', '  peak ' + '  '.join(memory)]
    lines += ['', f'full JSON: {json_path}' if json_path else
              'full JSON: --json OUT writes it']
    return '\n'.join(lines)
