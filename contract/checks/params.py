"""What the generated request checks produce, and the few parsing rules they share.

The rules mirror openapi-core's reading of OpenAPI 3.1 exactly (a test holds the two to the
same verdicts): `form` query parameters take their first value and may not be empty;
integers read as Python's `int()` does; booleans are `true`/`false` in any case (S17); a
`uuid` has its dashes where RFC 4122 puts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract.checks.messages import Incoming
from contract.formats import is_uuid as is_uuid  # the generated checks import it from here

_JSON_TYPES = ("application/json",)
# A guard against hostile input, not a contract rule: the documented bodies nest 5 levels;
# a body past this is refused before anything recursive (the JSON parser, a deep copy, a
# patch) meets it.
MAX_JSON_DEPTH = 64
NO_BODY: Any = object()  # what `read_body` returns when there is no usable body (JSON null is one)


@dataclass(frozen=True)
class Problem:
    """One reason a request is refused with 400."""

    location: str  # path, query, header or body
    name: str  # parameter name, or JSON pointer in the body
    message: str
    statements: tuple[str, ...] = ()

    def text(self) -> str:
        """The message of the error body, citing the statements the rule comes from (as the
        generated client's refusals do)."""
        where = "body" if self.location == "body" else f"{self.location} parameter"
        text = f"{where} `{self.name}`: {self.message}" if self.name else f"{where}: {self.message}"
        return f"{text} ({', '.join(self.statements)})" if self.statements else text


@dataclass(slots=True)
class Parsed:
    """A request read against one operation: typed values, defaults applied, problems."""

    operation: str
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    defaults: dict[str, Any] = field(default_factory=dict)  # query values the contract supplied
    problems: list[Problem] = field(default_factory=list)


def as_integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def as_boolean(text: str) -> bool | None:
    lowered = text.lower()
    return True if lowered == "true" else False if lowered == "false" else None


def is_integer(value: Any) -> bool:
    """JSON Schema's integer: any number with no fractional part, never a boolean."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_body(request: Incoming, media_types: tuple[str, ...], required: bool,
              problems: list[Problem], missing: str = "a request body is required") -> Any:
    """The JSON body, or NO_BODY (and a problem if one was due). A missing Content-Type means
    JSON."""
    if not request.body:
        if required:
            problems.append(Problem("body", "", missing))
        return NO_BODY
    declared = (request.header("content-type") or _JSON_TYPES[0]).split(";")[0].strip().lower()
    if declared not in media_types:
        problems.append(Problem("body", "", f"media type {declared!r} is not accepted "
                                f"(accepted: {', '.join(media_types)})"))
        return NO_BODY
    if request.body.count(b"[") + request.body.count(b"{") > MAX_JSON_DEPTH \
            and json_depth(request.body) > MAX_JSON_DEPTH:
        problems.append(Problem("body", "", f"JSON nested more than {MAX_JSON_DEPTH} levels "
                                "deep"))
        return NO_BODY
    try:
        value = json.loads(request.body)
        if b"\\u" in request.body:  # an escape may spell half a surrogate pair
            json.dumps(value, ensure_ascii=False).encode()
        return value
    except UnicodeEncodeError:
        problems.append(Problem("body", "", "not valid JSON text: a \\u escape spells a "
                                "lone surrogate (half of a UTF-16 pair), which no Unicode "
                                "string holds (RFC 8259 §8.2)"))
        return NO_BODY
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        problems.append(Problem("body", "", f"not valid JSON: {error}"))
        return NO_BODY


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do
    not count), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest
