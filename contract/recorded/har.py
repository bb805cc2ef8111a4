"""HAR 1.2 files (browser dev tools, mitmproxy, Charles...): one exchange per entry. Read
for `validate`; written by `conform --har` (every exchange of a run, secrets masked)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from contract.errors import InputError
from contract.inputs import read_text
from contract.textsafe import json_safe
from contract.validation.messages import Exchange, HttpRequest, HttpResponse


def read_har(path: Path) -> list[Exchange]:
    try:
        data = json.loads(read_text(path, "a HAR file"))
    except json.JSONDecodeError as error:
        raise InputError(f"not a HAR file: invalid JSON ({error.msg})", path,
                         error.lineno) from None
    except RecursionError:
        raise InputError("not a HAR file: JSON nested too deep to read", path) from None
    log = data.get("log") if isinstance(data, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise InputError("not a HAR file: no log.entries list", path)
    exchanges = []
    for index, entry in enumerate(entries):
        try:
            exchanges.append(_exchange(entry, f"{path.name}#{index}"))
        except _Missing as missing:
            raise InputError(f"HAR entry {index}: `{missing}` is missing", path) from None
        except _Malformed as malformed:
            raise InputError(f"HAR entry {index}: {malformed}", path) from None
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise InputError(f"HAR entry {index}: malformed ({type(error).__name__}: {error})",
                             path) from None
    return exchanges


class _Missing(Exception):
    """A field HAR 1.2 requires is not there; the message is its path in the entry."""


class _Malformed(Exception):
    """A field is there but of the wrong kind; the message names it."""


def _text(node: Any, where: str) -> str:
    if not isinstance(node, str):
        kind = {bool: "a boolean", int: "a number", float: "a number", dict: "an object",
                list: "an array", type(None): "null"}.get(type(node), type(node).__name__)
        raise _Malformed(f"`{where}` is {kind}, not a string")
    return node


def _need(node: Any, *path: str) -> Any:
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            raise _Missing(".".join(path[:depth + 1]))
        node = node[key]
    return node


def _headers(items: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list) or not all(isinstance(h, dict) for h in items):
        raise _Malformed(f"`{where}` is not a list of name/value objects")
    named = [(_text(h.get("name"), f"{where}[{n}].name"), h.get("value", ""))
             for n, h in enumerate(items)]
    # HTTP/2 pseudo-headers (":authority") are not headers of the contract.
    return tuple((name, str(value)) for name, value in named if not name.startswith(":"))


def _exchange(entry: dict[str, Any], name: str) -> Exchange:
    raw_request = _need(entry, "request")
    post = raw_request.get("postData") or {}
    url = _text(_need(entry, "request", "url"), "request.url")
    try:
        urlsplit(url).port  # noqa: B018 -- what a malformed URL (`http://[::1/`) fails on
    except ValueError as error:
        raise _Malformed(f"`request.url` {url[:80]!r} is not a URL ({error})") from None
    request = HttpRequest(str(_need(entry, "request", "method")).upper(), url,
                          _headers(raw_request.get("headers", []), "request.headers"),
                          _text(post.get("text", ""), "request.postData.text").encode("utf-8"))
    raw_response = entry.get("response") or {}
    response = None
    if int(raw_response.get("status", 0)) > 0:  # 0: no response was received
        content = raw_response.get("content") or {}
        text = _text(content.get("text") or "", "response.content.text")
        body = base64.b64decode(text) if content.get("encoding") == "base64" \
            else text.encode("utf-8")
        response = HttpResponse(int(raw_response["status"]),
                                _headers(raw_response.get("headers", []), "response.headers"),
                                body,
                                raw_response.get("statusText", ""))
    return Exchange(request, response, name)


Shown = Callable[[str], str]  # what a text is written as: its secrets masked


class HarWriter:
    """HAR 1.2 written to a file as the exchanges come, one entry at a time: a run's
    traffic is never held whole, and `close` (in a `finally`: after an interrupt too)
    ends the document, so the file is valid JSON whatever stopped the run. Each text is
    written as `shown` gives it (the secrets masked); controls a terminal obeys are
    escaped (`\\u001b`): the values read back are the ones written. Threads may add at
    once (a run's scenario waits beside its checks): one entry is written at a time."""

    def __init__(self, file: TextIO, creator: str, version: str, shown: Shown = str):
        self.file, self.shown, self.count, self.ended = file, shown, 0, False
        self.lock = threading.Lock()
        head = json.dumps({"version": "1.2", "creator": {"name": creator, "version": version}})
        file.write('{"log": ' + head[:-1] + ', "entries": [\n')

    @classmethod
    def open(cls, path: Path, creator: str, version: str, shown: Shown = str) -> HarWriter:
        return cls(path.open("w", encoding="utf-8"), creator, version, shown)

    def add(self, response: httpx.Response) -> None:
        text = json_safe(json.dumps(_entry(response, self.shown), ensure_ascii=False))
        with self.lock:
            if not self.ended:
                self.file.write((",\n" if self.count else "") + text)
                self.count += 1

    def end(self) -> None:
        """The end of the document; nothing is added after it."""
        with self.lock:
            if not self.ended:
                self.file.write("\n]}}\n")
                self.ended = True

    def close(self) -> None:
        if not self.file.closed:
            self.end()
            self.file.close()


def as_har(responses: Iterable[httpx.Response], creator: str, version: str,
           shown: Shown = str) -> str:
    """HAR 1.2 of `responses` (each with its request), in order: what a browser's devtools
    open and `read_har` reads back, each text as `shown` gives it (a secret masked)."""
    text = io.StringIO()
    writer = HarWriter(text, creator, version, shown)
    for response in responses:
        writer.add(response)
    writer.end()
    return text.getvalue()


def _entry(response: httpx.Response, shown: Shown) -> dict[str, Any]:
    request = response.request
    started = response.extensions.get("started") or datetime.now(UTC)
    took = response.elapsed.total_seconds() * 1000 if hasattr(response, "_elapsed") else 0
    url = httpx.URL(str(request.url))
    entry: dict[str, Any] = {
        "startedDateTime": started.isoformat() if isinstance(started, datetime) else
        datetime.now(UTC).isoformat(),
        "time": round(took, 3),
        "request": {"method": request.method, "url": shown(str(url)),
                    "httpVersion": "HTTP/1.1",
                    "cookies": [], "headers": _written(request.headers, shown),
                    "queryString": [{"name": k, "value": shown(v)}
                                    for k, v in url.params.multi_items()],
                    "headersSize": -1, "bodySize": len(request.content)},
        "response": {"status": response.status_code, "statusText": response.reason_phrase,
                     "httpVersion": response.http_version, "cookies": [],
                     "headers": _written(response.headers, shown),
                     "content": {"size": len(response.content),
                                 "mimeType": response.headers.get("content-type", "")},
                     "redirectURL": shown(response.headers.get("location", "")),
                     "headersSize": -1, "bodySize": len(response.content)},
        "cache": {}, "timings": {"send": 0, "wait": round(took, 3), "receive": 0}}
    if request.content:  # HAR has no encoding for a request body: bytes not UTF-8 as U+FFFD
        entry["request"]["postData"] = {"mimeType": request.headers.get("content-type", ""),
                                        "text": shown(request.content.decode("utf-8",
                                                                             "replace"))}
    if response.content:
        try:
            entry["response"]["content"]["text"] = shown(response.content.decode("utf-8"))
        except UnicodeDecodeError:
            entry["response"]["content"].update(
                text=base64.b64encode(response.content).decode("ascii"), encoding="base64")
    return entry


def _written(headers: httpx.Headers, shown: Shown) -> list[dict[str, str]]:
    return [{"name": name, "value": shown(value)} for name, value in headers.multi_items()]
