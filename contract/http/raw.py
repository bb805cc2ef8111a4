"""Raw HTTP messages as the docs write them (`*-json-http.txt` samples).

The samples are hand-written, so the reader is lenient and reports what it had to forgive as
`quirks` instead of failing: a status line without the `HTTP/1.1` prefix, a request target
that is still a URI template (`/services{?marker,limit}`), bare LF line endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_STATUS = re.compile(r"^(?:(HTTP/\d(?:\.\d)?)\s+)?(\d{3})(?:\s+(.*))?$")
_REQUEST = re.compile(r"^([A-Z]+)\s+(\S+)(?:\s+(HTTP/\d(?:\.\d)?))?$")


@dataclass
class RawMessage:
    """One parsed HTTP message; `method`/`target` for requests, `status` for responses."""

    kind: str  # "request" | "response"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    method: str | None = None
    target: str | None = None
    status: int | None = None
    reason: str = ""
    quirks: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """First value of a header, matched case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


class RawHttpError(ValueError):
    """The text is not an HTTP message at all; `line` is 1-based."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def parse_message(text: str) -> RawMessage:
    """Parse a request or response; which one is decided by the start line."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip() if lines else ""
    if not start:
        raise RawHttpError("empty message: no start line", 1)
    status = _STATUS.match(start)
    request = _REQUEST.match(start)
    if status:
        message = RawMessage(kind="response", status=int(status.group(2)),
                             reason=(status.group(3) or "").strip())
        if not status.group(1):
            message.quirks.append(f"status line {start!r} has no HTTP version")
    elif request:
        message = RawMessage(kind="request", method=request.group(1), target=request.group(2))
        if not request.group(3):
            message.quirks.append(f"request line {start!r} has no HTTP version")
        if message.target and "{" in message.target:
            message.quirks.append(f"request target {message.target!r} is a URI template, "
                                  "not a URI")
    else:
        raise RawHttpError(f"not an HTTP request or status line: {start!r}", 1)
    index = 1
    while index < len(lines) and lines[index].strip():
        name, sep, value = lines[index].partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise RawHttpError(f"malformed header line: {lines[index]!r}", index + 1)
        message.headers.append((name, value.strip()))
        index += 1
    message.body = "\n".join(lines[index + 1:]).strip("\n")
    return message
