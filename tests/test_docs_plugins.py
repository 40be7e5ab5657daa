"""The code the docs show is the code that runs: docs/plugins.md shows the example
package's files inline (readable as plain Markdown), each block under a line naming its
path and equal to that file; the configs of a user's own folder shown in
docs/plugins.md and docs/config.md load through the ``hpekit::`` package syntax."""
import re
from pathlib import Path

import pytest

from hpekit.config.checks import check_config
from hpekit.config.setup import load_config
from hpekit.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = 'examples/hpekit_plugin_example'
# A code block under a line naming a file: `path`:, a blank line, ```lang … ```.
FILE_BLOCK = re.compile(r'^`([^`\n]+)`:\n\n```(\w*)\n(.*?)^```$', re.S | re.M)


def file_blocks(page):
    """[(path, language, code)] of the file blocks of docs/<page>."""
    return FILE_BLOCK.findall((ROOT / 'docs' / page).read_text(encoding='utf-8'))


def test_plugins_page_shows_every_example_file_as_it_is():
    shown = {path: code for path, _, code in file_blocks('plugins.md')
             if path.startswith(PACKAGE + '/')}
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob('*.py'))
    assert sorted(shown) == files, 'docs/plugins.md shows other files than the package has'
    for path in files:
        assert shown[path] == (ROOT / path).read_text(encoding='utf-8'), (
            f'docs/plugins.md: the block under `{path}` differs from the file; paste the '
            'file again')


def test_a_drifted_block_is_caught():
    """The check itself: a block that no longer equals its file is found."""
    text = (ROOT / 'docs' / 'plugins.md').read_text(encoding='utf-8')
    drifted = text.replace('class SEBottleneck', 'class SEBottleneckOld', 1)
    assert drifted != text
    blocks = {p: c for p, _, c in FILE_BLOCK.findall(drifted)}
    assert blocks[f'{PACKAGE}/block.py'] != (ROOT / PACKAGE / 'block.py').read_text()


def test_no_page_uses_file_includes():
    """The pages read as plain Markdown (on a code host, in an editor): no snippet
    include lines, and mkdocs.yml has no include extension left."""
    for page in (ROOT / 'docs').glob('*.md'):
        assert '--8<--' not in page.read_text(encoding='utf-8'), page.name
    assert 'snippets' not in (ROOT / 'mkdocs.yml').read_text(encoding='utf-8')


USER_CONFIGS = [(page, path, code) for page in ('plugins.md', 'config.md')
                for path, language, code in file_blocks(page)
                if language == 'python' and not path.startswith(('examples/', 'configs/'))]


def test_the_pages_show_a_user_config_with_the_package_syntax():
    assert {page for page, _, _ in USER_CONFIGS} == {'plugins.md', 'config.md'}
    for page, path, code in USER_CONFIGS:
        assert "'hpekit::" in code, f'docs/{page}: `{path}` does not use hpekit::'


@pytest.mark.parametrize('page, path, code', USER_CONFIGS,
                         ids=[f'{page}:{path}' for page, path, _ in USER_CONFIGS])
def test_user_configs_of_the_pages_load_and_check(page, path, code, tmp_path):
    register_all_modules()
    file = tmp_path / path
    file.parent.mkdir(parents=True)
    file.write_text(code)
    cfg = load_config(str(file))
    check_config(cfg, loaders=())
    assert cfg.model.type and cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
