"""The README's measured figures come from scripts, not from hand edits."""

from __future__ import annotations

import json
import runpy

from conftest import REPO


def test_the_example_sweep_block_is_the_scripts_rendering_of_its_measurements():
    script = runpy.run_path(str(REPO / "scripts" / "example_sweep.py"), run_name="example_sweep")
    measured = json.loads((REPO / "docs" / "example_sweep.json").read_text())
    readme = (REPO / "README.md").read_text()
    block = readme.split(script["START"], 1)[1].split(script["END"], 1)[0]
    assert block.strip() == script["render"](measured).strip()
    assert measured["completed"] == measured["jobs"] == 16
    for name in ("sweep_heatmap", "sweep_gradflow"):
        assert (REPO / "docs" / "img" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
