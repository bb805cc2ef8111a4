"""What a check finds, and the verdict per statement."""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from contract.conform.secrets import MASK as MASK  # where the reports found them first
from contract.conform.secrets import masked as masked
from contract.textsafe import one_line, shell_word


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARNING = "warning"  # an INTERPRETATION row not met, or a SHOULD the target may skip
    NOT_OBSERVABLE = "not observable"
    INFO = "info"  # said, never judged: where the target is stricter than the contract


# The statement of an outcome about a fact the spec states that no row of CONTRACT-NOTES
# numbers (the WADL's own schemas and statuses): a failed one is reported as a finding.
SPEC = "spec"


@dataclass(frozen=True)
class Outcome:
    """One observation: a statement held or not, with the request that shows it."""

    statement: str
    status: Status
    message: str
    check: str = ""
    curl: str = ""
    # The exchange that shows it (its request is `exchange.request`), quoted by every report,
    # and a short stable key of why (check, what was expected, what came), for grouping.
    exchange: httpx.Response | None = None
    cause: str = ""


@dataclass
class StatementVerdict:
    id: str
    level: str
    text: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def status(self) -> Status:
        seen = {o.status for o in self.outcomes}
        for status in (Status.FAIL, Status.WARNING, Status.PASS):
            if status in seen:
                return status
        return Status.NOT_OBSERVABLE

    def counts(self) -> dict[str, int]:
        return {s.value: sum(o.status == s for o in self.outcomes) for s in Status
                if any(o.status == s for o in self.outcomes)}


CURL_BODY = 200  # characters of a request body a curl line carries inline; longer: @file
QUOTED_BODY = 400  # characters of an answer's body a report quotes
# The answer's headers a reader needs to see why a check judged it (the rest is noise).
MATTERS = ("content-type", "location", "retry-after", "allow",
           "www-authenticate", "cache-control", "age", "x-cache", "etag", "last-modified")
_VARYING = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                      r"|conform-[0-9a-z-]+|\b[0-9a-f]{8,}\b|\d+\.\d+", re.IGNORECASE)


SHAPE_DEPTH, SHAPE_MEMBERS = 3, 6  # how much of a body's shape a cause names


def gist(response: httpx.Response) -> str:
    """The status and the body's shape (`400 {message: str}`, `405 text/plain body`,
    `202 no body`): what a cause names of an answer, stable across runs (no values)."""
    if not response.content:
        return f"{response.status_code} no body"
    try:
        return f"{response.status_code} {shape(response.json())}"
    except ValueError:
        media = response.headers.get("content-type", "").split(";")[0]
        return f"{response.status_code} {media or 'untyped'} body"


def shape(value: Any, depth: int = 0) -> str:
    """A JSON value's shape, without its values: `{message: {errors: [{message: str}]}}`."""
    if isinstance(value, dict):
        if depth >= SHAPE_DEPTH:
            return "{…}"
        members = [f"{key}: {shape(item, depth + 1)}" for key, item in
                   list(value.items())[:SHAPE_MEMBERS]]
        return "{" + ", ".join(members + ["…"] * (len(value) > SHAPE_MEMBERS)) + "}"
    if isinstance(value, list):
        return "[]" if not value else "[…]" if depth >= SHAPE_DEPTH else \
            f"[{shape(value[0], depth + 1)}]"
    return {bool: "bool", int: "int", float: "number", str: "str"}.get(type(value), "null")


def cause_of(outcome: Outcome) -> str:
    """The outcome's cause, or the one derived for it: its check, what it says with the
    values that vary from one exchange to the next left out, and what came (the answer's
    status and body shape). Outcomes of one statement and status with one cause are one
    row of a report."""
    if outcome.cause:
        return outcome.cause
    came = f" ← {gist(outcome.exchange)}" if outcome.exchange is not None else ""
    return (f"{outcome.check}: " if outcome.check else "") + steady(outcome.message) + came


def steady(message: str) -> str:
    """A message's first line with what varies from one exchange to the next (ids,
    durations) left out: the part of a cause that names what was expected."""
    return _VARYING.sub("…", message.splitlines()[0] if message else "")


def operation_of(request: httpx.Request) -> str:
    """`METHOD /v1.0/{project_id}/ssl_certificate/{domain_name}`: which operation a request
    was for, as the spec's path template that matches it (every variant's; the header form,
    with no project in the path, as the path form's). A path no template matches keeps its
    segments, the project's excepted (a fuzzed domain showed as `y\x9f\x8f` when only
    services and flavors were templated)."""
    path = request.url.path
    candidates = [path]
    if path.startswith("/v1.0/"):  # the header form first when the header says it is
        header_form = "/v1.0/-/" + path[6:]
        candidates.insert(0 if "X-Project-Id" in request.headers else 1, header_form)
    for candidate in candidates:
        for template, pattern in _templates():
            if pattern.match(candidate):
                return f"{request.method} {template}"
    segments = path.split("/")
    if len(segments) > 3 and segments[1] == "v1.0":
        segments[2] = "{project_id}"
    return f"{request.method} {'/'.join(segments)}"


@functools.cache
def _templates() -> list[tuple[str, re.Pattern[str]]]:
    """Every variant's path templates, the most literal first (`/services` before a
    template whose segment is a parameter)."""
    from contract.openapi import operations, template_regex
    from contract.spec.variants import VARIANTS, load_document

    templates = {template for variant in VARIANTS
                 for template, _, _ in operations(load_document(variant))}
    ordered = sorted(templates, key=lambda t: (-len(re.sub(r"\{[^}]+\}", "", t)), t))
    return [(template, template_regex(template)) for template in ordered]


def answer_lines(response: httpx.Response, secrets: dict[str, str],
                 limit: int = QUOTED_BODY) -> list[str]:
    """The answer as reports quote it: the request line, the status, the headers that
    matter, the body up to `limit` characters (the request's secrets masked, each line's
    controls escaped: one line each, nothing a terminal obeys)."""
    request = response.request
    lines = [f"{request.method} {masked(str(request.url), secrets)} → {response.status_code} "
             f"{response.reason_phrase}".rstrip()]
    lines += [f"  {name}: {masked(value, secrets)}" for name, value
              in response.headers.multi_items() if name.lower() in MATTERS]
    text = response.content.decode("utf-8", "replace")
    text = masked(text, secrets)
    if text:
        cut = f" … ({len(response.content)} bytes in all)" if len(text) > limit else ""
        lines.append("  " + " ".join(text[:limit].split()) + cut)
    return [one_line(line) for line in lines]


def curl(request: httpx.Request, secrets: dict[str, str],
         bodies: Path | None = None) -> str:
    """A curl command that sends the same request again (with its Host when it is not the
    URL's, as the edge checks send). A secret header value is shown as the environment
    variable that holds it, or MASK when none does (`secrets` maps each value to what is
    shown); a body longer than CURL_BODY characters goes to a file in `bodies` (named by
    its digest: `body_file`) that the command reads with `@`, else whole on the line."""
    parts = ["curl", "-i", "-X", request.method]
    quoted: list[str] = []
    for name, value in request.headers.multi_items():
        if name.lower() == "host" and value != request.url.netloc.decode("ascii"):
            parts += ["-H", f"Host: {value}"]
        elif (shown := masked(value, secrets)) != value:
            if any(v in shown for v in secrets.values() if v.startswith("$")):
                quoted.append(_expanding(f"{name}: {value}", secrets))
            else:
                parts += ["-H", f"{name}: {shown}"]
        elif name.lower() not in ("host", "content-length", "accept-encoding", "connection",
                                "user-agent"):
            parts += ["-H", f"{name}: {value}"]
    if request.content:
        parts += ["--data-binary", _body(request.content, secrets, bodies)]
    parts.append(masked(str(request.url), secrets))
    words = [shell_word(part) for part in parts]
    return " ".join(words[:4] + quoted + words[4:])


def _body(content: bytes, secrets: dict[str, str], bodies: Path | None) -> str:
    """What `--data-binary` is given: the body, or `@file` when it is long, holds a NUL
    (no shell argument can) or is not UTF-8, and a folder for body files is known."""
    if bodies is not None and in_file(content):
        return f"@{bodies / body_file(content)}"
    return masked(content.decode("utf-8", "replace"), secrets)


def _expanding(header: str, secrets: dict[str, str]) -> str:
    """`-H "Name: $VARIABLE…"`: a header whose secrets the shell fills in from their
    variables, the rest of it escaped for double quotes."""
    return '-H "' + masked(header, secrets, lambda text: re.sub(r'([\\"`$])', r"\\\1",
                                                               text)) + '"'


def in_file(content: bytes) -> bool:
    """Whether a curl line reads this body from a file: longer than CURL_BODY, or what no
    shell argument can hold (a NUL, bytes that are not UTF-8)."""
    try:
        return len(content) > CURL_BODY or "\x00" in content.decode("utf-8")
    except UnicodeDecodeError:
        return True


def body_file(content: bytes) -> str:
    """The name of the file beside a report that holds a request body its curl reads."""
    return f"body-{hashlib.sha256(content).hexdigest()[:12]}.bin"


def secrets_note(secrets: dict[str, str]) -> str:
    """What a reader sets before pasting a curl line: the variables it names, and what
    stands for a secret given on the command line."""
    named = sorted({shown for shown in secrets.values() if shown.startswith("$")})
    note = [f"set {', '.join(v.lstrip('$') for v in named)} before running a curl line"
            ] if named else []
    if MASK in secrets.values():
        note.append(f"{MASK} stands for a token or -H value you gave: put yours there")
    return "; ".join(note)
