"""The `request_url` rules of origins and caching entries (S26, S28), as the edge runs them.

The docs name PCRE; the edge runs the subset RE2 takes (no backreferences, no lookaround),
in time linear in the path, so no tenant's pattern can stall the process while matching. A
pattern can still cost while compiling: `[a-z/]{1,1000}` repeated 72 times is within the
length limit and took RE2 8 s. RE2 stops compiling once the program passes `max_mem`, so a
rule is compiled within `MAX_PROGRAM_BYTES` (tens of milliseconds at worst), and the API
refuses one past it at create and update, naming the rule; a pattern RE2 cannot take for
another reason is accepted and matches nothing.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_PROGRAM_BYTES = 256 * 1024  # RE2's memory budget for one rule's compiled program
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = MAX_PROGRAM_BYTES
_TOO_LARGE = "pattern too large"


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> tuple[Any, str | None]:
    """The rule compiled by RE2, or None and why RE2 cannot take it within the bound."""
    try:
        return re2.compile(pattern, _OPTIONS), None
    except re2.error as error:
        detail = error.args[0] if error.args else error
        return None, detail.decode() if isinstance(detail, bytes) else str(detail)


def too_costly(pattern: str) -> bool:
    """The pattern's program passes MAX_PROGRAM_BYTES: the API refuses such a rule."""
    problem = _compile(pattern)[1]
    return problem is not None and _TOO_LARGE in problem


def matches(pattern: str, path: str) -> bool:
    """A `request_url` rule against a path; a pattern RE2 cannot take matches nothing."""
    rule = _compile(pattern)[0]
    return rule is not None and rule.match(path) is not None


def costly_rule(body: dict[str, Any]) -> str | None:
    """Why a service's rules are refused: the first whose pattern is past the bound."""
    for member in ("origins", "caching"):
        for index, entry in enumerate(body.get(member) or []):
            for number, rule in enumerate(entry.get("rules") or [] if isinstance(
                    entry, dict) else []):
                pattern = rule.get("request_url") if isinstance(rule, dict) else None
                if isinstance(pattern, str) and too_costly(pattern):
                    return (f"/{member}/{index}/rules/{number}/request_url (rule "
                            f"{rule.get('name')!r}): the pattern compiles to a program past "
                            f"the {MAX_PROGRAM_BYTES} bytes a rule may take (RE2)")
    return None
