"""The report's "Reproduce" section: the commands that complete the sweep, run it again, rebuild
the report and open the runs in each logger's viewer, each from where the sweep was launched."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from aelab.config import override_key
from aelab.loggers.base import view_commands
from aelab.reports.render import Code, Para, Section
from aelab.reports.sweep.collect import Sweep


def display_dir(sweep: Sweep) -> str:
    """The sweep dir as the commands should name it: relative to where it was launched, if inside."""
    path = sweep.dir.resolve()
    if sweep.cwd:
        try:
            return path.relative_to(Path(sweep.cwd).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


# overrides a reproduced command leaves out: how the last attempt ran, not what the sweep is
NOT_REPRODUCED = ("skip_done", "hydra.mode", "hydra.job.config.override_dirname.exclude_keys")


def train_command(
    sweep: Sweep, task: list[str], multirun: bool = True, extra: list[str] | None = None, sweep_dir: str | None = None
) -> str:
    """The ``aelab-train`` command of the sweep (``multirun``) or of one of its jobs. ``sweep_dir``:
    the sweep dir to name (default: this one); a single run names none."""
    hydra = [
        o
        for o in sweep.hydra_overrides
        if override_key(o) not in NOT_REPRODUCED and not o.startswith("hydra.sweep.dir=")
    ]
    if multirun:
        hydra.append(f"hydra.sweep.dir={sweep_dir or display_dir(sweep)}")
    else:  # a single run: no launcher, no sweep dir
        hydra = []
    args = [*hydra, *[o for o in task if override_key(o) not in NOT_REPRODUCED]]
    for e in extra or []:
        args = [a for a in args if override_key(a) != override_key(e)] + [e]
    return " ".join(["aelab-train", *(["-m"] if multirun else []), *map(shlex.quote, args)])


def reproduce_section(sweep: Sweep) -> Section:
    blocks: list[Any] = []
    cd = f"cd {shlex.quote(sweep.cwd)}\n" if sweep.cwd else ""
    if sweep.task_overrides or sweep.hydra_overrides:
        again = Path(display_dir(sweep))
        blocks += [
            Para(
                "Complete it after an interruption or failures (same command, same sweep dir): completed jobs "
                "of the same config are skipped, unfinished ones resume from their last checkpoint, the others "
                "run:"
            ),
            Code(cd + train_command(sweep, sweep.task_overrides, extra=["skip_done=true"])),
            Para("Run the whole sweep again, into a new sweep dir (a sweep dir holds one sweep):"),
            Code(cd + train_command(sweep, sweep.task_overrides, sweep_dir=str(again.parent / f"{again.name}-again"))),
        ]
        if sweep.params:
            blocks.append(
                Para(
                    "Swept by the config (`hydra.sweeper.params`): "
                    + ", ".join(f"`{k}={v}`" for k, v in sweep.params.items())
                    + "."
                )
            )
    else:
        blocks.append(Para("No `multirun.yaml` in the sweep dir: the sweep's command line is unknown."))
    where = display_dir(sweep)
    views = [view_commands(j.config, Path(where)) for j in sweep.jobs if j.config is not None]
    commands = list(dict.fromkeys(command for job in views for command in job))
    blocks += [Para("Rebuild this report:"), Code(cd + f"aelab-report {shlex.quote(where)}")]
    if commands:
        blocks += [Para("Look at the runs as their loggers recorded them:"), *(Code(cd + c) for c in commands)]
    else:
        blocks.append(Para("These runs were trained without a logger that has a viewer (`logging.loggers`)."))
    return Section("Reproduce", blocks)


__all__ = ["NOT_REPRODUCED", "display_dir", "reproduce_section", "train_command"]
