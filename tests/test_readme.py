"""The README is a map: at most 250 lines, its links resolve, and its headline numbers are the ones
the results harness measured (docs/results.json)."""

from __future__ import annotations

import json
import re

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_a_map_of_at_most_250_lines():
    assert len(README.splitlines()) <= 250


def test_every_link_of_the_readme_resolves_to_a_file_of_the_repository():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    assert links
    missing = [link for link in links if not link.startswith("http") and not (REPO / link).exists()]
    assert missing == []


def test_the_headline_numbers_are_the_measured_ones():
    rows = {row["method"]: row for row in json.loads((REPO / "docs" / "results.json").read_text())["rows"]}
    block = README.split("<!-- headline:start -->", 1)[1].split("<!-- headline:end -->", 1)[0]
    shown = [float(v) for v in re.findall(r"\|\s*\**([0-9]+\.[0-9]+)\**\s*\|", block)]
    measured = [rows[m]["test"]["sq_err_per_image"] for m in ("pca", "linear", "hinton2006", "conv")]
    published = rows["deep_ae_published"]["test"]["sq_err_per_image"]
    assert shown == [round(v, 2) for v in [*measured, published]]


def test_the_example_sweep_json_holds_the_measured_sweep():
    measured = json.loads((REPO / "docs" / "example_sweep.json").read_text())
    assert measured["completed"] == measured["jobs"] == 16
    for name in ("sweep_heatmap", "sweep_gradflow"):
        assert (REPO / "docs" / "img" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
