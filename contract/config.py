"""Option defaults besides the flags: a `[tool.cdn-contract.<command>]` table in the working
directory's pyproject.toml, or a `[<command>]` table in its cdn-contract.toml (the latter
wins), for a team that runs the same `conform` or `mock` every day. Flags win over both, and
CDN_CONTRACT_<COMMAND>_<OPTION> environment variables over the files (click's order).

Each value remembers the file and line it came from, so that a bad value, or a key no
command has, is blamed on that line and not on a flag nobody typed."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.inputs import read_text

FILES = ("pyproject.toml", "cdn-contract.toml")  # later ones win
Where = tuple[Path, int | None]  # a file and the line of a key in it


@dataclass
class Defaults:
    """click's `default_map` ({command: {parameter name: value}}, a group's subcommands
    nested), and where each value was set: {(command, ..., parameter name): (file, line)}."""

    default_map: dict[str, Any] = field(default_factory=dict)
    origins: dict[tuple[str, ...], Where] = field(default_factory=dict)


def defaults(folder: Path) -> Defaults:
    """The defaults of the files present in `folder`."""
    found = Defaults()
    for name in FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            text = read_text(path, "a configuration file")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            line = re.search(r"line (\d+)", str(error))
            raise InputError(f"not TOML: {error}", path,
                             int(line.group(1)) if line else None) from None
        prefix: tuple[str, ...] = ("tool", "cdn-contract") if name == "pyproject.toml" else ()
        tables = data.get("tool", {}).get("cdn-contract", {}) if prefix else data
        if not isinstance(tables, dict):
            raise InputError("[tool.cdn-contract] is not a table", path)
        _merge(tables, (), found, path, text.splitlines(), prefix)
    return found


def _merge(options: dict[str, Any], command: tuple[str, ...], into: Defaults, path: Path,
           lines: list[str], prefix: tuple[str, ...]) -> None:
    target = into.default_map
    for part in command:
        target = target.setdefault(part, {})
    for key, value in options.items():
        if isinstance(value, dict):
            _merge(value, (*command, key), into, path, lines, prefix)
            continue
        if not command:
            raise InputError(f"{key!r} is not a table of options (e.g. [mock] with port = "
                             "8080)", path, _line_of(lines, (*prefix, key)))
        parameter = key.replace("-", "_")
        target[parameter] = value
        into.origins[(*command, parameter)] = (path, _line_of(lines, (*prefix, *command, key)))


def _line_of(lines: list[str], keys: tuple[str, ...]) -> int | None:
    """The line that sets `keys` (a table path, then a key): `key = ` under its `[table]`,
    or a dotted `table.key = ` line; None when it is written some other way."""
    table, key = keys[:-1], keys[-1]
    current: tuple[str, ...] = ()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[([^\[\]]+)\]\s*(#.*)?", stripped)
        if header:
            current = tuple(part.strip().strip('"\'') for part in header.group(1).split("."))
            continue
        assigned = re.match(r"([\w.\"'-]+)\s*=", stripped)
        if assigned:
            path = (*current, *(p.strip().strip('"\'') for p in assigned.group(1).split(".")))
            if path == (*table, key):
                return number
    return None


def check_known(found: Defaults, commands: Mapping[str, Any]) -> None:
    """InputError at the first key that no command has, with the nearest known option.
    `commands` maps a command's name to its option names, or to a mapping of the same
    shape for a group."""
    for keys, (path, line) in found.origins.items():
        known: Mapping[str, Any] | set[str] = commands
        for depth, part in enumerate(keys):
            last = depth == len(keys) - 1
            names = set(known) if isinstance(known, Mapping) else known
            if part not in names or (last and isinstance(known, Mapping)):
                what = "option" if last else "command"
                where = " ".join(keys[:depth]) or "cdn-contract"
                spelled = part.replace("_", "-") if last else part
                near = difflib.get_close_matches(part, sorted(names), n=1)
                hint = f" (did you mean {near[0].replace('_', '-')!r}?)" if near else \
                    f" (known: {', '.join(sorted(n.replace('_', '-') for n in names))})"
                raise InputError(f"unknown {what} {spelled!r} for {where}{hint}", path, line)
            if not last:
                known = known[part] if isinstance(known, Mapping) else set()


PREFIX = "CDN_CONTRACT_"  # click's auto_envvar_prefix, and the variables read by name
# the variables read by name, not by click's CDN_CONTRACT_<COMMAND>_<OPTION> scheme
NAMED = frozenset({"SHARED", "BASE_URL", "TOKEN", "HEADERS", "PROJECT_ID", "OTHER_PROJECT_ID",
                   "OTHER_TOKEN"})


def check_environment(environ: Mapping[str, str], commands: Mapping[str, Any]) -> None:
    """InputError at the first CDN_CONTRACT_ variable that names no command's option
    (CDN_CONTRACT_MOCK_PROT), with the nearest: click ignores it silently, while the same
    typo in a file is caught. `commands` is check_known's mapping."""
    for variable in sorted(environ):
        if not variable.startswith(PREFIX) or variable[len(PREFIX):] in NAMED:
            continue
        problem = _unknown(variable[len(PREFIX):].lower(), commands, ())
        if problem:
            raise InputError(f"environment variable {variable}: {problem}")


def _unknown(rest: str, known: Mapping[str, Any], command: tuple[str, ...]) -> str | None:
    """Why `rest` (mock_prot, generate_client_out) names no option below `command`."""
    for name, below in known.items():
        if not rest.startswith(f"{name}_"):
            continue
        option = rest[len(name) + 1:]
        if isinstance(below, Mapping):
            return _unknown(option, below, (*command, name))
        if option in below:
            return None
        near = difflib.get_close_matches(option, sorted(below), n=1)
        hint = f" (did you mean {PREFIX}{'_'.join((*command, name, near[0])).upper()}?)" \
            if near else ""
        return f"{' '.join((*command, name))} has no option {option.replace('_', '-')!r}{hint}"
    words = sorted(known)
    near = difflib.get_close_matches(rest.split("_")[0], words, n=1)
    return (f"no command {rest.split('_')[0]!r}" + (f" (did you mean {near[0]!r}?)" if near else
            f" (known: {', '.join(words)})") + f"; the form is {PREFIX}<COMMAND>_<OPTION>, "
            f"or one of {', '.join(PREFIX + n for n in sorted(NAMED))}")
