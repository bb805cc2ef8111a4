"""Raw HTTP message files (`*-json-http.txt`) and curl -v transcripts.

A curl -v transcript carries less than the exchange: curl never writes the request body it
sends (`} [168 bytes data]`), and the response body goes to standard output, so a capture of
standard error alone has none. Those parts are *not recorded*: the exchange says so in a
note, and nothing in them is judged. Without `-s`, curl's progress meter is mixed into the
transcript; it is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from contract.errors import InputError
from contract.http.raw import RawHttpError, RawMessage, parse_message
from contract.inputs import read_text
from contract.validation.messages import HttpRequest, HttpResponse

_TEMPLATE_QUERY = re.compile(r"\{\?([^}]*)\}")
_TIME = r"(?:--:--:--|\d+:\d\d:\d\d)"
_PROGRESS_ROW = re.compile(rf"^\s*\d+\s+\d+\S*\s+\d+\s+\d+\S*\s+\d+\s+\d+\S*\s+\d+\S*\s+"
                           rf"\d+\S*\s+{_TIME}\s+{_TIME}\s+{_TIME}\s+\d+\S*")
_PROGRESS_HEAD = re.compile(r"^\s*(% Total|Dload)\b")
_DATA = re.compile(r"^([{}]) \[(\d+) bytes data\]")
RECORDING_HELP = ("record with `curl -sv URL > file 2>&1` (then the response body is in the "
                  "file too), save a HAR from the browser's developer tools, or put "
                  "`cdn-contract proxy` in front of the implementation")


@dataclass
class RawFile:
    messages: list[HttpRequest | HttpResponse]
    notes: list[str]  # what the file needed forgiving, or does not carry
    unrecorded: frozenset[str] = frozenset()  # "request.body", "response.body"


def read_raw(path: Path) -> RawFile:
    """Parse a message file (or a curl -v transcript: its request, then its response)."""
    text = read_text(path, "a recorded message")
    unrecorded: set[str] = set()
    notes: list[str] = []
    if _is_curl(text):
        texts, unrecorded = _curl_parts(text)
        notes += [f"{path.name}: the {part.replace('.', ' ')} is not recorded in this curl "
                  f"transcript, so it is not judged; {RECORDING_HELP}"
                  for part in sorted(unrecorded)]
    else:
        texts = [text]
    messages: list[HttpRequest | HttpResponse] = []
    for part in texts:
        try:
            message = parse_message(part)
        except RawHttpError as error:
            raise InputError(str(error), path, error.line) from None
        notes += [f"{path.name}: {quirk}" for quirk in message.quirks]
        messages.append(_response(message) if message.kind == "response"
                        else _request(message, notes, path))
    return RawFile(messages, notes, frozenset(unrecorded))


def _is_curl(text: str) -> bool:
    return any(_PROGRESS_ROW.sub("", line).startswith(("> ", "< "))
               for line in text.splitlines()[:12])


def _curl_parts(text: str) -> tuple[list[str], set[str]]:
    """curl -v prefixes sent lines with `> `, received ones with `< `, its own with `* `,
    and counts the data it sends and receives (`} [N bytes data]`, `{ [N ...]`); the
    response body follows, unprefixed, when standard output was captured too. Returns the
    request and response texts, and the parts the transcript does not carry."""
    sent, received, body = [], [], []
    sent_bytes = received_bytes = 0
    for raw in text.splitlines():  # splits at a lone \r too: the progress meter's
        line = _PROGRESS_ROW.sub("", raw)
        data = _DATA.match(line)
        if data:
            if data.group(1) == "}":
                sent_bytes += int(data.group(2))
            else:
                received_bytes += int(data.group(2))
        elif line.startswith(">"):
            sent.append(line[2:])
        elif line.startswith("<"):
            received.append(line[2:])
        elif received and not line.startswith("*") and not _PROGRESS_HEAD.match(line):
            body.append(line)  # what follows the response head: its body, if captured
    unrecorded = set()
    if sent_bytes or _declared(sent):  # curl never writes what it sends
        unrecorded.add("request.body")
    if received and not "".join(body).strip() and (received_bytes or _declared(received)):
        unrecorded.add("response.body")
    parts = ["\n".join(sent)]
    if received:
        parts.append("\n".join(received) + "\n\n" + "\n".join(body))
    return parts, unrecorded


def _declared(lines: list[str]) -> int:
    """The Content-Length among header lines, 0 when there is none."""
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0


def _request(message: RawMessage, notes: list[str], path: Path) -> HttpRequest:
    target = message.target or "/"
    match = _TEMPLATE_QUERY.search(target)
    if match:
        pairs = [p for p in match.group(1).split(",") if "=" in p]
        query = "&".join(pairs)
        target = target[: match.start()] + (f"?{query}" if query else "") + target[match.end():]
        notes.append(f"{path.name}: read the URI template {match.group(0)!r} as "
                     f"{('?' + query) if query else 'no query'}")
    return HttpRequest(message.method or "GET", target, tuple(message.headers),
                       message.body.encode("utf-8"))


def _response(message: RawMessage) -> HttpResponse:
    return HttpResponse(message.status or 0, tuple(message.headers), message.body.encode("utf-8"),
                        message.reason)
