"""HAR 1.2 files (browser dev tools, mitmproxy, Charles...): one exchange per entry."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.validation.messages import Exchange, HttpRequest, HttpResponse


def read_har(path: Path) -> list[Exchange]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"not a HAR file: invalid JSON ({error.msg})", path,
                         error.lineno) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read: {error}", path) from None
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError("not a HAR file: no log.entries list", path)
    exchanges = []
    for index, entry in enumerate(entries):
        try:
            exchanges.append(_exchange(entry, f"{path.name}#{index}"))
        except _Missing as missing:
            raise InputError(f"HAR entry {index}: `{missing}` is missing", path) from None
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise InputError(f"HAR entry {index}: malformed ({type(error).__name__}: {error})",
                             path) from None
    return exchanges


class _Missing(Exception):
    """A field HAR 1.2 requires is not there; the message is its path in the entry."""


def _need(node: Any, *path: str) -> Any:
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            raise _Missing(".".join(path[:depth + 1]))
        node = node[key]
    return node


def _headers(items: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    # HTTP/2 pseudo-headers (":authority") are not headers of the contract.
    return tuple((h["name"], str(h["value"])) for h in items if not h["name"].startswith(":"))


def _exchange(entry: dict[str, Any], name: str) -> Exchange:
    raw_request = _need(entry, "request")
    post = raw_request.get("postData") or {}
    request = HttpRequest(str(_need(entry, "request", "method")).upper(),
                          str(_need(entry, "request", "url")),
                          _headers(raw_request.get("headers", [])),
                          post.get("text", "").encode("utf-8"))
    raw_response = entry.get("response") or {}
    response = None
    if int(raw_response.get("status", 0)) > 0:  # 0: no response was received
        content = raw_response.get("content") or {}
        text = content.get("text") or ""
        body = base64.b64decode(text) if content.get("encoding") == "base64" \
            else text.encode("utf-8")
        response = HttpResponse(int(raw_response["status"]),
                                _headers(raw_response.get("headers", [])), body,
                                raw_response.get("statusText", ""))
    return Exchange(request, response, name)
