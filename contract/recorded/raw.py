"""Raw HTTP message files (`*-json-http.txt`, curl -v transcripts cleaned of `> `/`< `)."""

from __future__ import annotations

import re
from pathlib import Path

from contract.errors import InputError
from contract.rawhttp import RawHttpError, RawMessage, parse_message
from contract.validation.messages import HttpRequest, HttpResponse

_TEMPLATE_QUERY = re.compile(r"\{\?([^}]*)\}")
_CURL_PREFIX = re.compile(r"^[<>] ?", re.MULTILINE)


def read_raw(path: Path) -> tuple[HttpRequest | HttpResponse, list[str]]:
    """Parse one message file; the notes say what the file needed forgiving."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read as UTF-8 text: {error}", path) from None
    if text.lstrip().startswith((">", "<")):  # curl -v: "> GET ..." / "< HTTP/1.1 ..."
        text = "\n".join(line for line in _CURL_PREFIX.sub("", text).splitlines()
                         if not line.startswith(("*", "{", "}")))
    try:
        message = parse_message(text)
    except RawHttpError as error:
        raise InputError(str(error), path, error.line) from None
    notes = [f"{path.name}: {quirk}" for quirk in message.quirks]
    if message.kind == "response":
        return _response(message), notes
    return _request(message, notes, path), notes


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
