"""The generic registry (names from a folder, entries imported on demand) and the fail points."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from aelab.errors import ConfigError
from aelab.registry import Registry, folder_of


def test_names_come_from_the_folder_and_entries_import_on_demand(tmp_path, monkeypatch):
    pkg = folder_of("aelab") / "_registry_probe"
    assert not pkg.exists()
    pkg.mkdir()
    try:
        (pkg / "__init__.py").write_text("")
        (pkg / "beta.py").write_text("ENTRY = 'b'\n")
        (pkg / "alpha.py").write_text("ENTRY = 'a'\n")
        (pkg / "_private.py").write_text("ENTRY = 'p'\n")
        reg: Registry[str] = Registry("probe", "aelab._registry_probe", "ENTRY", order=("beta",))
        assert reg.names() == ["beta", "alpha"]  # the declared order first, then alphabetical
        assert "aelab._registry_probe.alpha" not in sys.modules  # listing imports nothing
        assert reg["alpha"] == "a" and dict(reg) == {"beta": "b", "alpha": "a"}
        with pytest.raises(ConfigError, match=r"^probe=gamma is not valid; choose one of: beta, alpha$"):
            reg.check("probe", "gamma")
        with pytest.raises(KeyError):
            reg["_private"]
    finally:
        for f in pkg.rglob("*"):
            if f.is_file():
                f.unlink()
        for d in sorted(pkg.rglob("*"), reverse=True):
            d.rmdir()
        pkg.rmdir()


@pytest.mark.parametrize(("spec", "expected"), [("p@2", -signal.SIGKILL), ("p@2=term", -signal.SIGTERM), ("q", 0)])
def test_a_fail_point_signals_the_process_the_nth_time_it_is_passed(spec, expected):
    code = "from aelab import faults\nfor i in range(3):\n    print(i, flush=True)\n    faults.point('p')\n"
    env = {**os.environ, "AELAB_FAILPOINT": spec}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == expected
    assert proc.stdout.split() == (["0", "1"] if expected else ["0", "1", "2"])
