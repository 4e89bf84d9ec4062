"""The reference pages, generated at build time from the code, never kept by hand nor committed:

* ``reference/config.md``: every config key (:func:`aelab.config.reference.markdown`);
* ``reference/cli.md``: each console command's ``--help``, as the command prints it;
* ``reference/api.md``: mkdocstrings directives for every name of ``aelab.__all__`` and
  ``aelab.backprop.__all__``, and for :mod:`aelab.build`.

``tests/test_docs.py`` reads the same functions.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.resources
import io
import os
from collections.abc import Callable

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

COLUMNS = "100"  # argparse wraps --help at the terminal's width; the page has a fixed one


def config_page() -> str:
    from aelab.config import CONF_PACKAGE
    from aelab.config.reference import markdown

    return markdown(importlib.resources.files(CONF_PACKAGE))


def _argparse_help(module: str) -> str:
    """What ``<command> --help`` prints: the command's own parser, run in this process."""
    main: Callable[[list[str]], int] = importlib.import_module(f"aelab.cli.{module}").main
    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(["--help"])
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out.getvalue()


def _train_help() -> str:
    from aelab.cli.startup import help_text

    return help_text()


COMMANDS: dict[str, tuple[str, Callable[[], str]]] = {
    "aelab-train": (
        "train one autoencoder or a sweep (also `python -m aelab`, `python scripts/train.py`)",
        _train_help,
    ),
    "aelab-evaluate": ("test metrics and a reconstruction grid of a run", lambda: _argparse_help("evaluate")),
    "aelab-report": ("a sweep's report", lambda: _argparse_help("report")),
    "aelab-results": ("the results tables", lambda: _argparse_help("results")),
    "aelab-export-gradflow": ("the gradient-flow chart as a PNG", lambda: _argparse_help("export_gradflow")),
}


def cli_page() -> str:
    out = [
        "# Command-line reference",
        "",
        "What each console command prints for `--help`, generated from the commands themselves when the",
        "site is built. The config keys `aelab-train` takes are explained in the",
        "[configuration reference](config.md).",
        "",
    ]
    for command, (what, text) in COMMANDS.items():
        out += [f"## {command}", "", f"{what[0].upper()}{what[1:]}.", "", "```text", text().rstrip(), "```", ""]
    return "\n".join(out)


def _api_names(package: str) -> list[str]:
    """Where each name the lazy package exports (its ``__all__``) is defined, in its ``_API``'s order:
    a function's or class's own module (``aelab.config.compose`` is also a module's name), else the
    module ``_API`` names (an object such as the ``ACTIVATIONS`` registry)."""
    module = importlib.import_module(package)
    table: dict[str, str] = module._API
    found = []
    for name, where in table.items():
        if name not in module.__all__:
            continue
        obj = getattr(importlib.import_module(where), name)
        defined = getattr(obj, "__module__", None) if callable(obj) else None
        found.append(f"{defined}.{obj.__qualname__}" if defined else f"{where}.{name}")
    return found


def api_page() -> str:
    out = [
        "# Python API",
        "",
        "Generated from the docstrings when the site is built. `import aelab` is instant: each name below",
        "loads its module (and torch) on first use, as `aelab.<name>`.",
        "",
        "## aelab",
        "",
    ]
    out += [f"::: {path}\n" for path in _api_names("aelab")]
    out += [
        "## aelab.backprop",
        "",
        "The lecture's layers, activations and losses, as `aelab.backprop.<name>`.",
        "",
        "::: aelab.backprop",
        "    options:",
        "      members: false",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "",
    ]
    out += [f"::: {path}\n" for path in _api_names("aelab.backprop")]
    out += [
        "## aelab.build",
        "",
        "::: aelab.build",
        "    options:",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "      members: [build, model_config, ae_config, default_shape]",  # build_model: under aelab
        "",
    ]
    return "\n".join(out)


PAGES: dict[str, Callable[[], str]] = {
    "reference/config.md": config_page,
    "reference/cli.md": cli_page,
    "reference/api.md": api_page,
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, make in PAGES.items():
        files.append(File.generated(config, uri, content=make()))
    return files
