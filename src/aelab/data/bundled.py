"""Datasets that ship inside an installed package (scikit-learn's digits, scikit-image's
photographs): their files found without importing the package, each checked against the SHA-256
aelab's results were made with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aelab.data.fetch import check_digest, read
from aelab.errors import DataError


def package_folder(package: str, pip_name: str, what: str) -> Path:
    """The folder of an installed top-level ``package`` (found, not imported), or one DataError
    saying how to install it (``pip_name``) for ``what``."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise DataError(f"{what} ships with {pip_name}, which is not installed: pip install {pip_name}")
    return Path(locations[0])


def bundled_file(folder: Path, name: str, sha256: str, pip_name: str) -> bytes:
    """The bytes of ``folder/name``, checked against ``sha256``; a missing or other file is one
    DataError naming it."""
    path = folder / name
    if not path.is_file():
        raise DataError(f"{path} is missing: reinstall {pip_name} (pip install --force-reinstall {pip_name})")
    data = read(path)
    remedy = f"reinstall {pip_name} (pip install --force-reinstall {pip_name})"
    check_digest(path, data, sha256=sha256, remedy=remedy, against="the one aelab's results were made with")
    return data


__all__ = ["bundled_file", "package_folder"]
