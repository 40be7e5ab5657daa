"""The rooms of docs/architecture.md hold: the import contract (.importlinter), local
imports only with a stated reason, and one definition of the shared geometry."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'hpekit'


def _modules():
    return sorted(PACKAGE.rglob('*.py'))


def _function_local_imports(path):
    """(line number, line) of each import statement inside a function of ``path``."""
    lines = path.read_text(encoding='utf-8').splitlines()
    found = []
    for node in ast.walk(ast.parse('\n'.join(lines))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [(m.lineno, lines[m.lineno - 1]) for m in ast.walk(node)
                      if isinstance(m, (ast.Import, ast.ImportFrom))]
    return found


def test_the_import_contract_holds():
    lint = Path(sys.executable).with_name('lint-imports')
    if not lint.exists():
        pytest.skip('import-linter is not installed (requirements/tests.txt)')
    result = subprocess.run([str(lint), '--config', str(ROOT / '.importlinter')],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert 'Contracts: 2 kept, 0 broken.' in result.stdout


def test_function_local_imports_say_why():
    """An import inside a function needs a reason (optional dependency, platform-only
    module), written as a comment on its line or the line above; never a cycle."""
    unexplained = []
    for path in _modules():
        lines = path.read_text(encoding='utf-8').splitlines()
        for lineno, line in _function_local_imports(path):
            above = lines[lineno - 2].strip() if lineno > 1 else ''
            if '#' not in line and not above.startswith('#'):
                unexplained.append(f'{path.relative_to(ROOT)}:{lineno}: {line.strip()}')
    assert not unexplained, 'function-local imports without a reason:\n' + \
        '\n'.join(unexplained)


GEOMETRY = {'BOX_PADDING', 'BBOX_PADDING', 'PIXELS_PER_SCALE', 'BOX_PIXELS_PER_SCALE'}
GEOMETRY_FUNCTIONS = {'project', 'boxes_to_center_size', 'to_xyxy',
                      'xywh_to_xyxy', 'crop_boxes', 'check_bboxes'}


def test_shared_geometry_is_defined_once_in_core():
    places = []
    for path in _modules():
        if path.parent.name == 'core':
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Assign):
                names = {t.id for t in node.targets if isinstance(t, ast.Name)}
                places += [f'{path.relative_to(ROOT)}: {n} =' for n in names & GEOMETRY]
            elif isinstance(node, ast.FunctionDef) and node.name in GEOMETRY_FUNCTIONS:
                places.append(f'{path.relative_to(ROOT)}: def {node.name}')
    assert not places, 'geometry defined outside hpekit/core: ' + '; '.join(places)


def test_the_library_has_no_benchmark_harness():
    assert not list(PACKAGE.rglob('benchmark*.py'))
    assert not (PACKAGE / 'memory_sampler.py').exists()
    assert (ROOT / 'tools' / 'benchmarking' / 'harness.py').is_file()
