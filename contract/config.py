"""Option defaults besides the flags: a `[tool.cdn-contract.<command>]` table in the working
directory's pyproject.toml, or a `[<command>]` table in its cdn-contract.toml (the latter
wins), for a team that runs the same `conform` or `mock` every day. Flags win over both, and
CDN_CONTRACT_<COMMAND>_<OPTION> environment variables over the files (click's order)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.inputs import read_text

FILES = ("pyproject.toml", "cdn-contract.toml")  # later ones win


def defaults(folder: Path) -> dict[str, dict[str, Any]]:
    """click's `default_map`: {command: {parameter name: value}} from the files present."""
    found: dict[str, dict[str, Any]] = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(read_text(path, "a configuration file"))
        except tomllib.TOMLDecodeError as error:
            line = re.search(r"line (\d+)", str(error))
            raise InputError(f"not TOML: {error}", path,
                             int(line.group(1)) if line else None) from None
        tables = data.get("tool", {}).get("cdn-contract", {}) if name == "pyproject.toml" \
            else data
        if not isinstance(tables, dict):
            raise InputError("[tool.cdn-contract] is not a table", path)
        for command, options in tables.items():
            if not isinstance(options, dict):
                raise InputError(f"{command!r} is not a table of options (e.g. "
                                 f"[{command}] with port = 8080)", path)
            found.setdefault(command, {}).update(
                {key.replace("-", "_"): value for key, value in options.items()})
    return found
