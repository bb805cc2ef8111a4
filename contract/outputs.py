"""Generated files: written atomically, or compared with what is on disk (`--check`).

`derive` (spec/) and `trace` (docs/) both render every file in memory first, then use these,
so a failure never leaves a half-written folder and `--check` means the same everywhere.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Write each file (its name may have folders) atomically; returns the paths that
    changed."""
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
