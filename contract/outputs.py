"""Generated files: written atomically, or compared with what is on disk (`--check`).

`derive` (spec/) and `trace` (docs/) both render every file in memory first, then use these,
so a failure never leaves a half-written folder and `--check` means the same everywhere.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from contract.errors import InputError


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Write each file (its name may have folders) atomically; returns the paths that
    changed. A folder that cannot be made or written (`--out /proc/nope`) is bad input:
    InputError naming it, raised before the first file, so nothing is written."""
    _check_writable(out)
    try:
        return _write(files, out)
    except OSError as error:  # a disk that fills up midway, a folder changed under us
        raise InputError(f"cannot be written: {error.strerror or error}",
                         error.filename or out) from None


def _check_writable(out: Path) -> None:
    """InputError unless `out` is a writable folder, or could be made in one."""
    existing = out
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    problem = ("is not a folder" if not existing.is_dir() else
               "is not writable" if not os.access(existing, os.W_OK) else
               refuses_files(existing))
    if problem:
        raise InputError(problem if existing == out else
                         f"cannot be made: {existing} {problem}", out)


def refuses_files(folder: Path) -> str:
    """Why a new file cannot be made in the folder ("" when it can): root passes os.access
    everywhere, and /proc or a read-only mount still refuse, at the first write."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        return f"is not writable ({error.strerror or error})"
    return ""


def _write(files: dict[str, str], out: Path) -> list[Path]:
    changed = []
    for name, text in files.items():
        target = out / name
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                                 suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(temporary, 0o644)  # mkstemp makes 0600; these are files people share
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        changed.append(target)
    return changed


def stale_files(files: dict[str, str], out: Path) -> list[Path]:
    """Files in `out` that differ from what would be generated (or are missing)."""
    return [out / name for name, text in files.items()
            if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
