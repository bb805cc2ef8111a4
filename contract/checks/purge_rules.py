"""The rules between the purge's parameters, which no parameter's schema can state.

As the purge modes' semantics in the spec state them (`x-purge-semantics`: wildcards, files
per request) and as we interpret S12: `all=true` with a `url` (S25), a `url` with non-ASCII
characters (S23), a wildcard where the mode takes none (S21), a purge that names no file
(S22). Each is a `Problem` of the query, citing its statement (which gives its level): the
mock refuses it with 400 and both validators report it, from this one function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contract.checks.params import Problem
from contract.model import Purge, PurgeMode


def purge_problems(purge: Purge, query: Mapping[str, Any]) -> list[Problem]:
    """What breaks the rules in the purge's parsed query (`hard` a boolean, defaults
    applied); nothing when `hard` is not a boolean (its own problem, S17)."""
    hard = query.get("hard")
    if not isinstance(hard, bool):
        return []
    mode = purge.mode(hard)
    url = query.get("url")
    every = str(query.get("all", "")).lower() == "true"
    if every and url is not None:
        return [Problem("query", "all", "all=true and url cannot be combined: all=true "
                        "already covers every asset", ("S25",))]
    if isinstance(url, str) and not url.isascii():
        return [Problem("query", "url", f"{url!r:.60} has non-ASCII characters; "
                        "percent-encode them", ("S23",))]
    if not mode.wildcards and isinstance(url, str) and "*" in url:
        return [Problem("query", "url", f"{url!r:.60} has a wildcard, which {_named(mode)} "
                        "does not take (S12): name one file, or use the mode that takes "
                        "wildcards", ("S21",))]
    if mode.files_per_request is not None and url is None and not every:
        return [Problem("query", "url", f"{_named(mode)} needs the url of one file (S12), or "
                        "all=true", ("S22",))]
    return []


def _named(mode: PurgeMode) -> str:
    return f"a {'purge' if mode.hard else 'cache invalidation'} (hard={str(mode.hard).lower()})"
