"""Facts the WADL states only in prose: defaults, length limits, conditional requirements.

The 2015-08 WADL has no `default` attribute on `hard`; it says "a cache invalidation when set
to `false`, which is the default value". The sentences follow a handful of fixed phrasings,
matched here on the CommonMark text. Each finding keeps the sentence it came from, so the
spec can show why a default or a limit is there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VALUE = r"`(?P<code>[^`]+)`|(?:port )?(?P<word>[\w/*.-]+)"
_DEFAULT_PATTERNS = [
    re.compile(rf"\b[Tt]he default(?: value)?(?: `[^`]+`)? is (?:{_VALUE})"),
    re.compile(r"`(?P<code>[^`]+)`,? which is the default"),
    re.compile(r"defaults to `(?P<code>[^`]+)`"),
    re.compile(r"\bDefault: `?(?P<code>[^`\s.]+)`?"),
]
_MIN_LENGTH = re.compile(r"[Tt]he minimum length(?: for `?\w+`?)? is (\d+)")
_MAX_LENGTH = re.compile(r"[Tt]he maximum length(?: for `?\w+`?)? is (\d+)")
_MINIMUM = re.compile(r"must be greater than or equal to (\d+)")
# "If there is more than one origin, the `rules` parameter is required." (origins.rules);
# "This is a required property if more than one entry is present for caching." (caching.rules)
_REQUIRED_WHEN_SEVERAL = re.compile(
    r"[Ii]f there is more than one \w+, the `?\w+`? parameter is required"
    r"|required property if more than one entry is present")
_NO_VALUE = {"NULL", "NONE", "NIL"}  # "The default value is `NULL`" means: no default
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Finding:
    value: str
    sentence: str


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right_match = _SENTENCE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    return " ".join(text[left:right].split())


def default_of(text: str) -> Finding | None:
    """The default a description states, if it states exactly one."""
    for pattern in _DEFAULT_PATTERNS:
        match = pattern.search(text)
        if match:
            value = match.group("code") or match.groupdict().get("word") or ""
            if value.upper() in _NO_VALUE:
                return None
            return Finding(value.rstrip("."), _sentence_around(text, match.start(), match.end()))
    return None


def length_limits(text: str) -> dict[str, int]:
    """`minLength`/`maxLength` from "The minimum length for `x` is N. The maximum length is M"."""
    limits = {}
    if match := _MIN_LENGTH.search(text):
        limits["minLength"] = int(match.group(1))
    if match := _MAX_LENGTH.search(text):
        limits["maxLength"] = int(match.group(1))
    return limits


def required_when_several(text: str) -> str | None:
    """The sentence saying a member is required only when its list has more than one entry
    (S31), if the description has one."""
    match = _REQUIRED_WHEN_SEVERAL.search(text)
    return _sentence_around(text, match.start(), match.end()) if match else None


def minimum(text: str) -> int | None:
    match = _MINIMUM.search(text)
    return int(match.group(1)) if match else None
