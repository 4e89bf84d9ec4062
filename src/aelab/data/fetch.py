"""What every dataset with files shares: reading a file and checking its published digest, unpacking
``.gz`` archives lying beside a missing file, and torchvision's download (with its progress bar),
which on failure removes the folders it made and says why in one line. Nothing here imports torch.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

from aelab.errors import DataError


def read(path: Path) -> bytes:
    """A data file's bytes, or one DataError naming it."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataError(f"{path} cannot be read: {err.strerror or err}") from None


def check_digest(
    path: Path,
    data: bytes,
    md5: str | None = None,
    sha256: str | None = None,
    remedy: str = "replace the file",
    against: str = "the published one",
    why: str = "bytes were changed",
) -> None:
    """One DataError unless ``data`` (the bytes of ``path``) has the published MD5 / SHA-256 (or ``against``'s)."""
    for name, want, got in (
        ("MD5", md5, lambda: hashlib.md5(data, usedforsecurity=False).hexdigest()),
        ("SHA-256", sha256, lambda: hashlib.sha256(data).hexdigest()),
    ):
        if want is not None and got() != want:
            raise DataError(f"{path} is corrupt: its {name} differs from {against} ({why}); {remedy}")


def unpack_beside(raw: Path, missing: list[str], also: tuple[str, ...] = ()) -> list[str]:
    """Unpack ``<file>.gz`` archives lying beside a missing raw file, or in the subfolders ``also``
    (no network needed); return what is still missing."""
    for name in missing:
        archive = next((raw / sub / f"{name}.gz" for sub in ("", *also) if (raw / sub / f"{name}.gz").is_file()), None)
        if archive is None:
            continue
        try:
            with gzip.open(archive, "rb") as packed:
                (raw / name).write_bytes(packed.read())
        except (OSError, EOFError) as err:
            (raw / name).unlink(missing_ok=True)
            raise DataError(f"{archive} could not be unpacked ({type(err).__name__}: {reason(err)})") from None
    return [m for m in missing if not (raw / m).is_file()]


def reason(err: BaseException) -> str:
    """An exception's message on one line (torchvision's download errors span several)."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return text if len(text) <= 200 else text[:197] + "..."


def download(folders: list[Path], get: Callable[[], None], where: str, holds: str) -> None:
    """Run torchvision's download ``get`` (it shows a progress bar and checks the published MD5s);
    on failure the ``folders`` it made are removed again (a refused run leaves nothing behind) and
    one DataError gives the reason. ``holds``: the folder under data.root the files belong in."""
    made = [p for p in folders if not p.exists()]
    try:
        get()
    except Exception as err:  # the network, a mirror, a checksum: said in one line below
        for folder in reversed(made):
            try:
                folder.rmdir()  # only if empty: never a file the user put there
            except OSError:
                pass
        raise DataError(
            f"{where} and downloading it failed ({type(err).__name__}: {reason(err)}): check the network, "
            f"or copy the files there, or point data.root (or AELAB_DATA_DIR) at a folder holding {holds}"
        ) from None


__all__ = ["check_digest", "download", "read", "reason", "unpack_beside"]
