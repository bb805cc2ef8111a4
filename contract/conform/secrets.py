"""The secrets of a run and how every report hides them.

A secret is the token, the other tenant's token and every `-H` value (a gateway key, a
tenant header) unless the user names the header as one that may be shown
(`--show-header`). Reports show each as what stands for it: the environment variable that
held it (a curl line then reads it) or MASK.

A secret is hidden where it occurs as a value, never inside another word: with the token
`t`, `application/json` and `http://` stay as they are, while `X-Auth-Token: t`,
`?key=t&`, `"t"` and `t-not-valid` (a probe's invalid token made from it) are hidden. A
value is whole when the characters either side of it are not letters, digits or `_`, nor
an apostrophe within a word (`don't` keeps its t; `'t'` is hidden). It is hidden as written
in a URL (percent-encoded), in JSON text and in HTML too.
"""

from __future__ import annotations

import dataclasses
import enum
import html
import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, TypeVar, cast
from urllib.parse import quote, quote_plus

MASK = "***"  # a secret that came from no environment variable: shown as this, never itself
T = TypeVar("T")


def secrets_of(values: Iterable[tuple[str, str]], shown: Iterable[str] = ()
               ) -> dict[str, str]:
    """{value: what stands for it} of `-H` headers (name, value), each MASK but the
    headers named in `shown` (case-insensitive) and empty values."""
    visible = {name.lower() for name in shown}
    return {value: MASK for name, value in values if value and name.lower() not in visible}


def masked(text: str, secrets: dict[str, str],
           escape: Callable[[str], str] | None = None) -> str:
    """`text` with each secret, where it is a value of its own, as what stands for it;
    `escape` applied to the rest (what a shell's double quotes need), never to that."""
    if not secrets or not text:
        return escape(text) if escape else text
    pattern, shown = _pattern(tuple(secrets.items()))
    if escape is None:
        return pattern.sub(lambda found: shown[found.group()], text)
    parts, at = [], 0
    for found in pattern.finditer(text):
        parts += [escape(text[at:found.start()]), shown[found.group()]]
        at = found.end()
    return "".join([*parts, escape(text[at:])])


@lru_cache(maxsize=32)
def _pattern(secrets: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every form of every secret, longest first (a secret holding another
    is hidden whole), and what each form found stands for."""
    shown: dict[str, str] = {}
    for secret, standing in secrets:
        for form in _forms(secret):
            shown.setdefault(form, standing)
    alternatives = [_bounded(form) for form in sorted(shown, key=len, reverse=True)]
    return re.compile("|".join(alternatives)), shown


def _forms(secret: str) -> list[str]:
    """How a secret may be written in a report: itself, percent-encoded (a URL), as a
    JSON string's content, HTML-escaped."""
    forms = [secret, quote(secret, safe=""), quote_plus(secret, safe=""),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             html.escape(secret)]
    return list(dict.fromkeys(form for form in forms if form))


def _bounded(form: str) -> str:
    """`form` as a pattern that matches it only where it is not part of a longer word
    (nor of a contraction: the t of `don't`; a quoted value, `'t'`, is one of its own)."""
    before = r"(?<!\w)(?<!\w')(?<!\w\u2019)" if re.match(r"\w", form[0]) else ""
    after = r"(?!\w)(?!'\w)(?!\u2019\w)" if re.match(r"\w", form[-1]) else ""
    return before + re.escape(form) + after


def masked_tree(value: T, secrets: dict[str, str],
                escape: Callable[[str], str] | None = None) -> T:
    """`value` with every string in it masked (and given to `escape`): the reports of a
    run (dataclasses, lists, dicts of them) as every report shows them. An exchange (an
    httpx object) is left as it is: what quotes it masks what it quotes."""
    if not secrets and escape is None:
        return value
    found: Any = value
    if isinstance(found, enum.Enum):
        return value
    if isinstance(found, str):
        found = masked(found, secrets)
        found = escape(found) if escape else found
    elif isinstance(found, list | tuple):
        found = type(found)(masked_tree(item, secrets, escape) for item in found)
    elif isinstance(found, dict):
        found = {masked_tree(k, secrets, escape): masked_tree(v, secrets, escape)
                 for k, v in found.items()}
    elif dataclasses.is_dataclass(found) and not isinstance(found, type):
        found = dataclasses.replace(found, **{
            f.name: masked_tree(getattr(found, f.name), secrets, escape)
            for f in dataclasses.fields(found) if f.init})
    return cast(T, found)
