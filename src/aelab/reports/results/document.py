"""RESULTS.md: the tables' parts, in the order of :data:`TABLES`, each rendered from its JSON file
beside it through the renderer every aelab report uses (:mod:`aelab.reports.render`).

The main table's part is the document's head: its title and everything before the first heading
of another table's part (:attr:`TableSpec.headings`). :func:`render_document` keeps, for a table
without a JSON file, its part of the document already there, so producing one table never drops
or changes another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aelab.errors import CorruptFileError
from aelab.files import write_text
from aelab.reports.render import render_markdown
from aelab.reports.results.spec import TableSpec
from aelab.reports.results.tables import TABLES


def split_document(text: str) -> dict[str, str]:
    """An existing RESULTS.md cut into its tables' parts: the head (the main table: the title and
    everything before the first other table's heading), then each other table's, from its first
    ``## `` heading to the next table's, each without trailing blank lines."""
    owner = {f"## {title}": spec.name for spec in TABLES.values() for title in spec.headings}
    head = next(spec.name for spec in TABLES.values() if not spec.headings)
    parts: dict[str, list[str]] = {head: []}
    current = head
    for line in text.splitlines():
        if line in owner:
            current = owner[line]
        parts.setdefault(current, []).append(line)
    return {table: "\n".join(lines).rstrip() for table, lines in parts.items() if "\n".join(lines).strip()}


def load_table(path: Path) -> dict[str, Any] | None:
    """The results dict in ``path`` (None if there is none); one that cannot be read is one
    CorruptFileError that names it."""
    if not path.exists():
        return None
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CorruptFileError(f"{path} cannot be read ({type(err).__name__}: {err})") from None
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise CorruptFileError(f"{path} does not hold a results table (no list of rows)")
    return results


def render_table(spec: TableSpec, results: dict[str, Any], base: Path) -> str:
    """``spec``'s part of RESULTS.md from its results dict, images in ``base``/img linked relative to
    ``base``; the head part (the main table) with the document's title."""
    sections = spec.render(results, Path(base) / "img")
    text = render_markdown(results["title"] if not spec.headings else "-", sections, Path(base))
    if spec.headings:  # a part inside the document: no title of its own
        text = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    return text.rstrip()


def _rendered(spec: TableSpec, results: dict[str, Any], folder: Path, base: Path) -> str:
    """:func:`render_table`, with a table file of another shape (an older aelab's, edited) as one error."""
    try:
        return render_table(spec, results, base)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise CorruptFileError(
            f"{folder / spec.file} does not hold the table this aelab writes "
            f"({type(err).__name__}: {err}); measure it again or restore it"
        ) from None


def render_document(folder: Path, existing: str | None = None, base: Path | None = None) -> str:
    """RESULTS.md from the tables' JSON files in ``folder`` (images in ``folder``/img, linked
    relative to ``base``): each table rendered from its JSON file, or, without one, its part of
    ``existing`` (the document already there) kept as it is; tables in neither are left out, but
    for the head part, which is at least the main table's title."""
    folder = Path(folder)
    base = folder if base is None else Path(base)
    old = split_document(existing) if existing else {}
    parts: list[str] = []
    for spec in TABLES.values():
        results = load_table(folder / spec.file)
        if results is not None:
            parts.append(_rendered(spec, results, folder, base))
        elif spec.name in old:
            parts.append(old[spec.name])
        elif not spec.headings:
            parts.append(f"# {spec.title}")
    return "\n\n".join(parts) + "\n"


def write_document(out: str | Path) -> Path:
    """``out`` from the tables' JSON files beside it; a table without one keeps its part of the
    ``out`` already there (e.g. the main table, whose runs are not on this machine)."""
    out = Path(out)
    existing = out.read_text(encoding="utf-8") if out.exists() else None
    return write_text(out, render_document(out.parent, existing, out.parent))


__all__ = ["load_table", "render_document", "render_table", "split_document", "write_document"]
