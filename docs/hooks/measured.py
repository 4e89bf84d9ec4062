"""Pages that show a measurement file: the text is rendered from the file when the site is built, so
the page cannot disagree with it.

``<!-- example-sweep -->`` in a page becomes the example sweep's block, rendered from
``docs/example_sweep.json`` by ``scripts/example_sweep.py``'s ``render`` (the function that writes
the JSON and the figures), with its figure links made relative to the page.
"""

from __future__ import annotations

import json
import posixpath
import runpy
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

EXAMPLE_SWEEP = "<!-- example-sweep -->"


def example_sweep_block(docs: Path, page_dir: str) -> str:
    """The example sweep's Markdown, its image links relative to ``page_dir`` (a folder in docs/)."""
    script: dict[str, Any] = runpy.run_path(str(docs.parent / "scripts" / "example_sweep.py"), run_name="example_sweep")
    measured = json.loads((docs / "example_sweep.json").read_text(encoding="utf-8"))
    img = posixpath.relpath("img", page_dir or ".")
    return str(script["render"](measured)).replace("](docs/img/", f"]({img}/")


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if EXAMPLE_SWEEP in markdown:
        block = example_sweep_block(Path(config.docs_dir), posixpath.dirname(page.file.src_uri))
        markdown = markdown.replace(EXAMPLE_SWEEP, block)
    return markdown
