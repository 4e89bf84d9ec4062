"""One report, two renderings: report.md (images as relative links) and a self-contained
report.html (images embedded as base64 ``data:`` URIs, one file to mail or archive).

The report is a list of :class:`Section` s holding blocks — :class:`Para`, :class:`Table`,
:class:`Image`, :class:`Code`, :class:`Bullets`. Text may use Markdown's inline ``code`` and
**bold**; the HTML renderer escapes everything else.
"""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment


@dataclass
class Para:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    align_right: list[bool] | None = None  # per column; numbers read better right-aligned


@dataclass
class Image:
    path: Path
    alt: str


@dataclass
class Code:
    text: str


@dataclass
class Bullets:
    items: list[str]


Block = Para | Table | Image | Code | Bullets


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


# --- Markdown ----------------------------------------------------------------------------------


def _md_cell(value: Any) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def _md_block(block: Block, base: Path) -> str:
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Code):
        return f"```\n{block.text}\n```"
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Image):
        rel = Path(os.path.relpath(block.path, base)).as_posix()
        return f"![{block.alt}]({rel})"
    right = block.align_right or [False] * len(block.headers)
    lines = [
        "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
    return "\n".join(lines)


def render_markdown(title: str, sections: list[Section], base: Path) -> str:
    """Markdown with image links relative to ``base`` (the folder report.md is written to)."""
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += [_md_block(b, base) for b in section.blocks]
    return "\n\n".join(parts) + "\n"


# --- HTML --------------------------------------------------------------------------------------


def inline_html(text: str) -> str:
    """Escape ``text``; then ``code`` → <code>, **bold** → <strong>."""
    out = html.escape(str("" if text is None else text), quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title | e }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .88em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; vertical-align: top; }
th { background: #f3f3f3; } td.r { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .88em; background: #f5f5f5; }
pre { padding: .7em; overflow-x: auto; border: 1px solid #e3e3e3; }
img { max-width: 100%; border: 1px solid #eee; }
</style></head>
<body>
<h1>{{ title | e }}</h1>
{% for s in sections %}<h2>{{ s.title | e }}</h2>
{% for b in s.blocks %}{{ b }}
{% endfor %}{% endfor %}</body></html>
"""


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{inline_html(block.text)}</p>"
    if isinstance(block, Code):
        return f"<pre>{html.escape(block.text, quote=False)}</pre>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Image):
        return f'<p><img src="{data_uri(block.path)}" alt="{html.escape(block.alt)}"></p>'
    right = block.align_right or [False] * len(block.headers)
    head = "".join(f"<th>{inline_html(h)}</th>" for h in block.headers)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=r' if r else ''}>{inline_html(c)}</td>" for c, r in zip(row, right)) + "</tr>"
        for row in block.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(title: str, sections: list[Section]) -> str:
    """One self-contained HTML page (no external files: images are base64 data URIs)."""
    rendered = [{"title": s.title, "blocks": [_html_block(b) for b in s.blocks]} for s in sections]
    template = Environment(autoescape=False).from_string(_TEMPLATE)
    return template.render(title=title, sections=rendered)


__all__ = [
    "Block",
    "Bullets",
    "Code",
    "Image",
    "Para",
    "Section",
    "Table",
    "data_uri",
    "inline_html",
    "render_html",
    "render_markdown",
]
