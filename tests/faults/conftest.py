"""The fault battery under pytest: its fixtures (the session's context and reference runs, one
sandbox per case), the opt-in of the extended variants, and the tried/held table printed at the
end of a session that ran fault cases."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import CATEGORIES, REPO, Case, Ctx, Refs

HERE = Path(__file__).resolve().parent
EXTENDED = "faults_extended"
_CATEGORY: dict[str, str] = {}  # nodeid -> category, for every fault case collected
_OUTCOMES: dict[str, dict[str, Any]] = {}  # nodeid -> status, reason, seconds
_STRAGGLERS: list[int] = []
_PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()  # a case's reports, for its fixture's teardown


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Note each case's category; leave out the extended variants unless ``-m`` names them."""
    wanted = EXTENDED in (config.getoption("markexpr", "") or "")
    kept, dropped = [], []
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            _CATEGORY[item.nodeid] = item.module.CATEGORY  # type: ignore[attr-defined]
            if item.get_closest_marker(EXTENDED) and not wanted:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_PHASES, {})[report.when] = report
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _CATEGORY:
        return
    o = _OUTCOMES.setdefault(report.nodeid, {"status": None, "reason": "", "seconds": 0.0})
    o["seconds"] += report.duration
    if report.failed:
        o["status"], o["reason"] = "failed", _why(report)
    elif report.skipped and o["status"] != "failed":
        o["status"], o["reason"] = "skipped", _why(report)
    elif report.when == "call" and o["status"] is None:
        o["status"] = "held"
        o["reason"] = next((v for k, v in report.user_properties if k == "held"), "")


def _why(report: pytest.TestReport) -> str:
    """The one-line reason of a failed or skipped phase."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        text = longrepr[2].removeprefix("Skipped: ")
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = crash.message if crash is not None else report.longreprtext.strip().splitlines()[-1:][0]
    return " ".join(str(text).split())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The battery's table: per category, the cases tried (not skipped), held, skipped and failed."""
    if not _OUTCOMES:
        return
    tr = terminalreporter
    tr.section("fault battery")
    rows = [(_CATEGORY[n], n, o) for n, o in _OUTCOMES.items()]
    if config.getoption("verbose") > 0:
        for _, nodeid, o in sorted(rows, key=lambda r: CATEGORIES.index(r[0])):
            tr.write_line(f"{o['status'] or '?':<7} {o['seconds']:6.1f}s  {nodeid.split('::')[-1]}: {o['reason']}")
        tr.write_line("")
    tr.write_line(f"{'category':<17} {'tried':>5} {'held':>5} {'skipped':>8} {'failed':>7}")
    tr.write_line("-" * 46)

    def line(name: str, outs: list[dict[str, Any]]) -> str:
        count = [sum(o["status"] == s for o in outs) for s in ("held", "skipped", "failed")]
        tried = len(outs) - count[1]
        return f"{name:<17} {tried:>5} {count[0]:>5} {count[1]:>8} {count[2]:>7}"

    for cat in CATEGORIES:
        outs = [o for c, _, o in rows if c == cat]
        if outs:
            tr.write_line(line(cat, outs))
    tr.write_line("-" * 46)
    tr.write_line(line("total", [o for _, _, o in rows]))
    wall = sum(o["seconds"] for _, _, o in rows)
    tr.write_line(
        f"time in fault cases {wall:.0f} s"
        + (f"; killed {sum(_STRAGGLERS)} leftover process(es)" if any(_STRAGGLERS) else "")
    )


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fault_ctx(tmp_path_factory: pytest.TempPathFactory, mnist_root: Path) -> Iterator[Ctx]:
    """The session's battery context; at its end every process it started is gone and every tmpfs unmounted."""
    ctx = Ctx(REPO, tmp_path_factory.mktemp("faults"), mnist_root, int(os.environ.get("AELAB_FAULTS_SEED", "0")))
    try:
        yield ctx
    finally:
        _STRAGGLERS.append(ctx.registry.kill_all())
        ctx.umount_all()


@pytest.fixture(scope="session")
def refs(fault_ctx: Ctx) -> Refs:
    return Refs(fault_ctx)


@pytest.fixture
def case(request: pytest.FixtureRequest, fault_ctx: Ctx, refs: Refs, tmp_path: Path) -> Iterator[Case]:
    """A sandbox for one case; its directory is removed when the case held (kept with
    AELAB_FAULTS_KEEP=1), and no process it started outlives it."""
    node = request.node
    base = tmp_path / "case"
    print(f"case directory: {base}")
    c = Case(fault_ctx, refs, f"{node.module.CATEGORY}/{node.name}", base)
    c.on_held = lambda reason: node.user_properties.append(("held", reason))
    try:
        yield c
    finally:
        c.kill_jobs()
        for mount in [m for m in fault_ctx.mounts if base in m.parents]:
            fault_ctx.umount(mount)
        phases = node.stash.get(_PHASES, {})
        if "call" in phases and phases["call"].passed and not os.environ.get("AELAB_FAULTS_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
