"""A table's JSON file and RESULTS.md, written by any number of runs at once.

Each run keeps the rows it measured since its last write (``pending``) and, after every row,
:meth:`TableWriter.commit` s them under the folder's lock (:class:`FolderLock`): it re-reads the
table's JSON file there, merges the pending rows into it (a row measured now replaces the row of
the same method; a row that failed now keeps an earlier measurement; every other row stays as it
is), merges the table-level fields key by key, writes the JSON file, then RESULTS.md from every
table's JSON file beside it. Two runs measuring different rows of one table both keep theirs, and
an interruption loses at most the row in progress.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from aelab.errors import CorruptFileError
from aelab.files import write_json
from aelab.reports.results.document import load_table, write_document
from aelab.reports.results.lock import FolderLock
from aelab.reports.results.methods import CODE_DIM
from aelab.reports.results.rows import make_row
from aelab.reports.results.spec import Context, TableSpec

log = logging.getLogger("aelab.results")


def read_table(path: Path) -> dict[str, Any] | None:
    """The table in ``path`` (None if there is none); one that cannot be read is refused: its rows
    are never overwritten by a partial table."""
    try:
        return load_table(path)
    except CorruptFileError as err:
        raise CorruptFileError(f"{err}; move it away (or repair it) to measure this table again") from None


def merge_rows(spec: TableSpec, old: dict[str, Any] | None, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``old`` (the table file as it is) with ``new`` merged in, by method, in the
    spec's order (rows of methods it does not know last): a new row replaces the old one, unless it
    failed and the old one did not. An old row from before rows were stamped is stamped with the
    file's command. The published rows are not among them (:func:`published_rows` adds them)."""
    previous = old or {}
    old_rows = {r["method"]: r for r in previous.get("rows", []) if r.get("source") != "published"}
    new_rows = {r["method"]: r for r in new}
    order = [r.method for r in spec.measured_rows]
    keys = [*order, *(k for k in old_rows if k not in order), *(k for k in new_rows if k not in order + list(old_rows))]
    merged = []
    for key in keys:
        row = new_rows.get(key)
        if row is None or (row.get("error") and key in old_rows and not old_rows[key].get("error")):
            if row is not None:
                log.warning("[%s] failed now: the table keeps its earlier measurement", key)
            row = old_rows.get(key)
            if row is not None and not row.get("measured"):
                row = {**row, "measured": {"created": previous.get("created"), "command": previous.get("command")}}
        if row is not None:
            merged.append(row)
    return merged


def published_rows(spec: TableSpec) -> list[dict[str, Any]]:
    """The spec's published rows, as the table lists them (last)."""
    return [
        make_row(r.method, r.label, "published", CODE_DIM, test={"sq_err_per_image": r.published})
        for r in spec.rows
        if r.published is not None
    ]


class TableWriter:
    """One run's writes into ``spec``'s JSON file beside ``out`` (and ``out``, RESULTS.md)."""

    def __init__(self, spec: TableSpec, out: Path, header: dict[str, Any]) -> None:
        self.spec, self.out, self.header = spec, Path(out), header
        self.path = self.out.parent / spec.file
        self.started = time.perf_counter()
        self.pending: list[dict[str, Any]] = []  # measured since the last commit
        self.failed: list[str] = []  # every row that failed in this run

    def add(self, row: dict[str, Any]) -> None:
        row["measured"] = {"created": self.header["created"], "command": self.header["command"]}
        self.pending.append(row)
        if row.get("error"):
            self.failed.append(row["method"])

    def commit(self, ctx: Context, group_done: str | None = None) -> dict[str, Any]:
        """Merge the pending rows into the table file as it is now, under the folder's lock; write it
        and RESULTS.md. ``group_done``: the group whose last row this run measured (``end_group``)."""
        with FolderLock(self.out.parent):
            old = read_table(self.path)
            rows = merge_rows(self.spec, old, self.pending)
            if group_done and self.spec.end_group is not None:
                self.spec.end_group(ctx, group_done, rows)
            fields: dict[str, Any] = {
                name: {**((old or {}).get(name) or {}), **ctx.fields.get(name, {})} for name in self.spec.merged_fields
            }
            rows += published_rows(self.spec)
            fields.update(self.spec.derive(rows, fields))
            results = {
                **self.header,
                "table": self.spec.name,
                **fields,
                "rows": rows,
                "failed": list(self.failed),
                "total_time_s": time.perf_counter() - self.started,
            }
            write_json(self.path, results)
            write_document(self.out)
        self.pending = []
        return results


__all__ = ["TableWriter", "merge_rows", "published_rows", "read_table"]
