"""Raw HTTP message files (`*-json-http.txt`, curl -v transcripts cleaned of `> `/`< `)."""

from __future__ import annotations

import re
from pathlib import Path

from contract.errors import InputError
from contract.rawhttp import RawHttpError, RawMessage, parse_message
from contract.validation.messages import HttpRequest, HttpResponse

_TEMPLATE_QUERY = re.compile(r"\{\?([^}]*)\}")


def read_raw(path: Path) -> tuple[list[HttpRequest | HttpResponse], list[str]]:
    """Parse a message file (or a curl -v transcript: its request, then its response); the
    notes say what the file needed forgiving."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read as UTF-8 text: {error}", path) from None
    texts = _curl_parts(text) if _is_curl(text) else [text]
    messages: list[HttpRequest | HttpResponse] = []
    notes: list[str] = []
    for part in texts:
        try:
            message = parse_message(part)
        except RawHttpError as error:
            raise InputError(str(error), path, error.line) from None
        notes += [f"{path.name}: {quirk}" for quirk in message.quirks]
        messages.append(_response(message) if message.kind == "response"
                        else _request(message, notes, path))
    return messages, notes


def _is_curl(text: str) -> bool:
    return any(line.startswith(("> ", "< ")) for line in text.splitlines()[:5])


def _curl_parts(text: str) -> list[str]:
    """curl -v prefixes sent lines with `> `, received ones with `< `, its own with `* `;
    the response body follows unprefixed."""
    sent, received, body = [], [], []
    for line in text.splitlines():
        if line.startswith(">"):
            sent.append(line[2:])
        elif line.startswith("<"):
            received.append(line[2:])
        elif not line.startswith(("*", "{ [", "} [")):
            body.append(line)
    parts = ["\n".join(sent)]
    if received:
        parts.append("\n".join(received) + "\n\n" + "\n".join(body))
    return parts


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
