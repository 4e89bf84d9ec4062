"""The documentation site: its generated reference pages hold every key, command and API name; the
site builds with ``mkdocs build --strict`` and its links resolve; every tutorial runs, each cell
twice; the pages' Python blocks run. The builds and executions are marked ``docs`` (``pytest -m docs``:
minutes, CI runs them); the page generators are checked in the default run."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest

from conftest import REPO

DOCS = REPO / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("[0-9][0-9]_*.py"))


def _hook(name: str) -> ModuleType:
    """A module of docs/hooks/, loaded as mkdocs loads it: from its path."""
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", DOCS / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_config_key_is_in_the_generated_reference():
    from aelab.config.reference import rows

    page = _hook("reference").config_page()
    keys = rows()
    assert len(keys) > 50
    missing = [row.key for row in keys if f"| `{row.key}` | `" not in page]
    assert missing == []
    for where in {row.applies for row in keys if row.applies}:  # a family's or a kind's own keys
        assert f"\n### {where}\n" in page
    assert "| `experiment` | `hinton2006` |" in page  # the presets, from conf/
    assert "| `model.conv_kernel` | `unfold` |" in page  # the compatibility table


def test_the_reference_names_what_a_key_holds_and_its_column():
    page = _hook("reference").config_page()
    assert "| `resume` | `null` | str or null |" in page
    from aelab.data import DATASETS

    (line,) = [line for line in page.splitlines() if line.startswith("| `data.name` | `mnist` | ")]
    choices = line.split(" | ")[2].split(" \\| ")  # a "|" inside a cell is escaped
    assert sorted(choices) == sorted(DATASETS) and line.endswith(" | the dataset | `dataset` |")
    assert "&lt;dataset>/raw" in page  # a "<" in a cell is text, not an HTML tag


def test_the_cli_page_holds_each_commands_help():
    page = _hook("reference").cli_page()
    for command in ("aelab-train", "aelab-evaluate", "aelab-report", "aelab-results", "aelab-export-gradflow"):
        assert f"\n## {command}\n" in page
        assert command == "aelab-train" or f"usage: {command}" in page  # argparse's own help
    assert "Keys (KEY=VALUE" in page and "optimizer.lr=0.001" in page  # aelab-train's own help


def test_the_api_page_documents_every_public_name():
    import aelab
    import aelab.backprop

    page = _hook("reference").api_page()
    documented = re.findall(r"^::: (\S+)$", page, re.M)
    for package in (aelab, aelab.backprop):
        for name in package.__all__:
            assert any(path.endswith(f".{name}") for path in documented), name
    assert "aelab.config.compose.compose" in documented  # the function, not its module of the same name


def test_the_example_sweep_block_is_rendered_from_its_json_with_links_from_the_page():
    block = _hook("measured").example_sweep_block(DOCS, "how-to")
    assert "](../img/sweep_heatmap.png)" in block and "](docs/img/" not in block
    assert "| `sigmoid` | init |" in block


@pytest.mark.docs
def test_the_site_builds_strictly_and_every_link_resolves(tmp_path, mnist_root):
    site = tmp_path / "site"
    env = {**os.environ, "AELAB_DATA_DIR": str(mnist_root), "NO_MKDOCS_2_WARNING": "1"}
    # -f relative to the repository's top, as documented: mkdocs refuses a docs_dir that is the config
    # file's own folder when it is given the config's absolute path
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "docs/mkdocs.yml", "-d", str(site)]
    done = subprocess.run(build, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    config = (site / "reference" / "config" / "index.html").read_text()
    from aelab.config.reference import rows

    assert [row.key for row in rows() if f"<code>{row.key}</code>" not in config] == []
    for tutorial in TUTORIALS:
        page = (site / "tutorials" / tutorial.stem / "index.html").read_text()
        assert page.count('src="data:image/png;base64,') >= 1, f"{tutorial.name}: no plot in the page"
        assert "Traceback" not in page
    assert _broken_links(site) == []


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def _broken_links(site: Path) -> list[str]:
    """Every link and image of the built pages into the site whose target is not there (a path from
    the site's root, as 404.html has them, or from the page)."""
    broken = []
    for page in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.found:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "data:", "mailto:")) or not parts.path:
                continue
            path = unquote(parts.path)
            target = (site / path.lstrip("/") if path.startswith("/") else page.parent / path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {link}")
    return broken


@pytest.mark.docs
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_every_tutorial_cell_runs_and_runs_again(tutorial, tmp_path, mnist_root, monkeypatch):
    """Each code cell twice in a row, in one kernel: a cell is safe to re-run, and the notebook runs."""
    import jupytext
    import nbclient

    monkeypatch.setenv("AELAB_DATA_DIR", str(mnist_root))  # the kernel inherits the environment
    notebook = jupytext.read(tutorial)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                client.execute_cell(cell, index)
    images = [out for cell in notebook.cells for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert images, f"{tutorial.name} drew no plot"
    assert list(tmp_path.iterdir()) == []  # runs go to a temporary directory, not where the notebook runs


@pytest.mark.docs
def test_the_pages_python_blocks_run(tmp_path, mnist_root, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outputs/runs/... land here
    monkeypatch.setenv("AELAB_DATA_DIR", str(mnist_root))
    blocks = [
        (page, code)
        for page in sorted(DOCS.rglob("*.md"))
        for code in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    ]
    assert blocks
    for page, code in blocks:
        exec(compile(code, str(page), "exec"), {})
