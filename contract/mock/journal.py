"""The request journal: every API request the mock answered, for a client author to see
what their client sent (WireMock's request journal, MockServer's `retrieve`).

Bounded (`--journal N` entries, and `JOURNAL_BYTES` held: the oldest go first; 0 turns it
off). An entry holds references to the request and the answer the pipeline made
anyway; what is derived from them (the body's digest, the statements touched, the masked
headers) is computed when the journal is read, never on the request path.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from contract.checks.messages import Incoming, Outgoing
from contract.checks.routing import Match
from contract.mock.settings import MockSettings
from contract.mock.touched import CITED
from contract.recorded.har import as_har

DEFAULT_SIZE = MockSettings.journal
JOURNAL_BYTES = 32 * 1024 * 1024  # what entries hold at most (see Served.size)
PAGE = 100  # entries a page holds unless `limit` says otherwise (at most MAX_PAGE)
MAX_PAGE = 1000
# the headers an entry shows (the rest are transport detail); the secret ones masked
SHOWN = ("x-project-id", "content-type", "accept", "prefer", "user-agent", "content-length")
SECRET = ("x-auth-token", "authorization")
KEPT = frozenset((*SHOWN, *SECRET))
SMALL_HEAD = 512  # header values up to this many bytes are kept as they came
ENTRY_BYTES = 1024  # what an entry holds besides bodies and headers: objects, path, query


@dataclass(slots=True)
class Served:
    """One API request and what became of it, filled in as the pipeline goes."""

    request: Incoming
    behaves: frozenset[str]
    fault: str
    time: float  # wall clock, when it was answered
    match: Match | None = None
    refused: bool = False  # the contract refused it (admission), not the mock's state
    response: Outgoing | None = None
    id: int = 0
    size: int = 0  # its bytes as the journal's bound counts them (set when kept)

    @property
    def operation(self) -> str | None:
        return self.match.operation.id if self.match is not None else None

    @property
    def status(self) -> int:
        return self.response.status if self.response is not None else 0


class Journal:
    """The last `size` requests served, oldest first."""

    def __init__(self, size: int = DEFAULT_SIZE, max_bytes: int = JOURNAL_BYTES):
        self.size, self.max_bytes = size, max_bytes
        self.entries: deque[Served] = deque()
        self.held = 0  # bytes of bodies held
        self.last_id = 0
        self.dropped = 0  # entries dropped for the bounds since the last clear

    def add(self, served: Served) -> None:
        """Keep `served`; a request (answered: the pipeline is done with it) with large
        headers is left with those an entry shows alone: a client's other headers, padding
        or cookies, are not held by the mock for it."""
        request = served.request
        held = sum(map(len, request.headers.values()))
        if held > SMALL_HEAD:  # else kept whole: trimming costs more than it saves
            request.headers = kept = {k: v for k, v in request.headers.items() if k in KEPT}
            held = sum(map(len, kept.values()))
        self.last_id = served.id = self.last_id + 1
        # the URI is within the contract's limit (414 past it): ENTRY_BYTES counts it, and
        # header names
        served.size = size = ENTRY_BYTES + held + len(request.body) + (
            len(served.response.body) if served.response is not None else 0)
        self.entries.append(served)
        self.held += size
        if len(self.entries) > self.size or self.held > self.max_bytes:
            self._drop()

    def _drop(self) -> None:
        """The oldest entries, until the bounds hold."""
        while len(self.entries) > self.size or self.held > self.max_bytes:
            self.held -= self.entries.popleft().size
            self.dropped += 1

    def clear(self) -> None:
        self.entries.clear()
        self.held = self.dropped = 0

    def select(self, keep: Callable[[Served], bool], after: int = 0) -> Iterator[Served]:
        """The entries `keep` takes, oldest first, from the one after id `after`."""
        return (served for served in self.entries if served.id > after and keep(served))


def cited(body: bytes) -> tuple[str, ...]:
    """The statements a refusal's message (its body) cites."""
    return tuple(found.decode() for found in CITED.findall(body)) if body else ()


def masked(value: str) -> str:
    """A secret header's value as an entry shows it: a digest that tells two tokens apart
    without giving either."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:12]


def headers_shown(request: Incoming) -> dict[str, str]:
    shown = {name: request.headers[name] for name in SHOWN if name in request.headers}
    shown.update({name: masked(request.headers[name]) for name in SECRET
                  if name in request.headers})
    return shown


def as_dict(served: Served, statements: list[str]) -> dict[str, Any]:
    """One entry as `GET /__mock__/requests` lists it."""
    request = served.request
    match = served.match
    return {"id": served.id, "time": _iso(served.time), "method": request.method,
            "path": request.path, "operation": served.operation,
            "path_params": dict(match.path_params) if match is not None else {},
            "query": [[name, value] for name, value in request.query],
            "headers": headers_shown(request),
            "body": {"size": len(request.body),
                     "sha256": hashlib.sha256(request.body).hexdigest()
                     if request.body else None},
            "status": served.status, "refused": served.refused,
            "statements": statements, "behaviours": sorted(served.behaves),
            "fault": served.fault or None}


def har(entries: list[Served], version: str) -> str:
    """The entries as HAR 1.2 (what `cdn-contract validate` and browsers read), the secret
    headers masked (in the headers only: a short token would mask text all over a body).
    A request whose answer a fault broke shows the answer the mock made."""
    responses = []
    for served in entries:
        request = served.request
        headers = {name: masked(value) if name in SECRET else value
                   for name, value in request.headers.items()}
        response = served.response or Outgoing(0)
        responses.append(httpx.Response(
            response.status, headers=response.headers, content=response.body,
            request=httpx.Request(request.method, _url(request), headers=headers,
                                  content=request.body),
            extensions={"started": datetime.fromtimestamp(served.time, UTC)}))
    return as_har(responses, "cdn-contract mock", version)


def _url(request: Incoming) -> httpx.URL:
    return httpx.URL(request.base_url + request.path, params=request.query)


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")
