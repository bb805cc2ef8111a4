"""The outbound gate: every request conform sends to a target passes here.

conform is pointed at servers the user does not control, with the user's token and headers.
The judged must not be trusted by the judge, so one place decides, for every request (the
probes, the preflight, schemathesis' cases, its checks' own requests and their cleanup,
the re-sent unauthenticated request, the edge probes):

- where it may go: a gate talks to one origin (scheme, host, port). A URL a server wrote
  (a Location, a `next` link) is resolved as a URL (RFC 3986) and is refused, never
  followed, when it leaves that origin. Redirects are never followed: a 3xx is an answer.
- how much is read: the body (decoded: a gzip or deflate bomb counts what it inflates to),
  the whole exchange's time (one deadline, not one per read: a byte every few seconds does
  not keep it alive), and how deep the JSON nests. The head is bounded by h11 (100 KiB).
- one retry, of an idempotent request whose kept-alive connection the server closed before
  any byte of an answer came (the race every client meets with a keep-alive timeout; browsers and
  urllib3 send such a request again): on a new connection, within the same deadline.

Past a bound, or off the origin, the gate raises `Breach`: a finding on the target, named
with what was seen; never a MemoryError, a RecursionError or an endless wait.
"""

from __future__ import annotations

import io
import re
import ssl
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx
import requests
import requests.adapters
import urllib3

MIB = 1024 * 1024
ACCEPTED_ENCODINGS = "gzip, deflate"  # the codings the gate inflates with a bound
_PIECE = 64 * 1024  # bytes inflated at a time


@dataclass(frozen=True)
class Bounds:
    """What conform reads of any answer (the `conform` options of the same names)."""

    max_body: int = 16 * MIB  # bytes of one body, decoded
    deadline: float = 30.0  # seconds for one whole exchange: connect, send, head and body
    max_pages: int = 200  # `next` links followed in one listing
    max_json_depth: int = 64  # arrays and objects nested in one body
    timeout: float = 10.0  # seconds one connect or read may wait (within the deadline)


class Breach(httpx.HTTPError):
    """The target's answer passed a bound, or a URL it wrote leaves its origin: a finding on
    the target. An httpx error, so that a caller that gives up on a failed exchange gives up
    on this one too."""

    def __init__(self, message: str, bound: str, request: httpx.Request | None = None
                 ) -> None:
        super().__init__(message)
        self.bound = bound  # the option it passed, or "origin": what reports group it by
        if request is not None:
            self.request = request


# -- origins ---------------------------------------------------------------------------------
def origin_of(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what credentials are
    bound to."""
    parsed = httpx.URL(str(url))
    return parsed.scheme, parsed.host, parsed.port or {"http": 80, "https": 443}.get(
        parsed.scheme)


def on_host_of(url: str, base_url: str) -> str:
    """`url` (scheme, port, path) moved to the host of `base_url`: where a service the
    target names beside itself (its edge) is reached, whatever host it named."""
    named, base = httpx.URL(url), httpx.URL(base_url)
    return str(named.copy_with(host=base.host, username=None, password=None))


# -- the deadline: one per exchange, enforced at every read, write and connect ---------------
class _Exchange(threading.local):
    """The exchange under way on this thread."""

    until: float | None = None  # the monotonic time it must end by
    heard = 0  # bytes of an answer read since it was sent (a retry needs none)


_exchange = _Exchange()


def _left(timeout: float | None) -> float | None:
    """`timeout` cut to what is left of the current exchange's deadline."""
    until = _exchange.until
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the exchange's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every wait ends by the exchange's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, _left(timeout))
        _exchange.heard += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _left(timeout),
                                                         local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process for every client of the run: loading the CA bundle
    takes tens of milliseconds, and a run makes a client per fuzzed operation."""
    return httpx.create_ssl_context()


def bounded_client(bounds: Bounds, headers: dict[str, str] | None = None) -> httpx.Client:
    """An httpx client whose connections keep the exchange's deadline, that never follows a
    redirect, and asks only for the codings the gate inflates with a bound."""
    transport = httpx.HTTPTransport(verify=_tls())
    # httpx takes no network backend of its own: its pool's is swapped for one that keeps
    # the deadline (the pool makes every connection with it).
    transport._pool._network_backend = _DeadlineBackend()
    return httpx.Client(transport=transport, timeout=bounds.timeout, follow_redirects=False,
                        headers={"Accept-Encoding": ACCEPTED_ENCODINGS, **(headers or {})})


# -- reading an answer within the bounds -----------------------------------------------------
# What keeps a client's exchanges (a run's --har): given each answer once its body is read.
RECORDERS: weakref.WeakKeyDictionary[httpx.Client, Callable[[httpx.Response], None]] = \
    weakref.WeakKeyDictionary()


def exchange(client: httpx.Client, request: httpx.Request, bounds: Bounds) -> httpx.Response:
    """Send `request` and read its answer within `bounds`: the response, its body read
    (decoded); Breach past a bound; httpx's errors as they come."""
    started = time.monotonic()
    _exchange.until = started + bounds.deadline
    response: httpx.Response | None = None
    try:
        response = _send(client, request)
        body = _read(response, bounds)
    except httpx.TimeoutException as error:
        if time.monotonic() - started < bounds.deadline:
            raise
        raise Breach(f"{request.method} {request.url}: no whole answer within "
                     f"--request-deadline {bounds.deadline:g} s "
                     f"({_seen(response)} in {time.monotonic() - started:.1f} s)",
                     "--request-deadline", request) from error
    finally:
        _exchange.until = None
        if response is not None:
            response.close()
    # the body read as httpx's own read() keeps it: the response (the one the run records)
    # then serves .content and .json() as if httpx had read it
    response._content = body
    if (record := RECORDERS.get(client)) is not None:
        record(response)
    if _too_deep(body, bounds.max_json_depth):
        raise Breach(f"{request.method} {request.url}: the answer's JSON nests deeper than "
                     f"--max-json-depth {bounds.max_json_depth}", "--max-json-depth", request)
    return response


IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})  # RFC 9110 9.2.2
_CLOSED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)  # no head came


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """The answer's head; an idempotent request sent once more when the connection it went
    out on was a kept-alive one that the server closed (or reset) before answering. A fresh
    connection that does so is the server's answer, and so is any other request's."""
    connected: list[str] = []  # httpcore's trace: a connect event only on a new connection

    def trace(event: str, _info: dict[str, Any]) -> None:
        if event.startswith("connection.connect_tcp"):
            connected.append(event)

    request.extensions = {**request.extensions, "trace": trace}
    _exchange.heard = 0  # bytes of an answer: a garbled head is an answer, not a close
    try:
        return client.send(request, stream=True)
    except _CLOSED:
        if connected or _exchange.heard or request.method not in IDEMPOTENT:
            raise
    return client.send(request, stream=True)


def _seen(response: httpx.Response | None) -> str:
    if response is None:
        return "no head"
    return f"HTTP {response.status_code}, {response.num_bytes_downloaded} bytes of body"


def _read(response: httpx.Response, bounds: Bounds) -> bytes:
    """The body, decoded, Breach once it passes bounds.max_body."""
    pieces, size = [], 0
    inflate = _inflater(response.headers.get("Content-Encoding", ""))
    for chunk in response.iter_raw():
        for piece in inflate(chunk):
            size += len(piece)
            if size > bounds.max_body:
                coded = response.num_bytes_downloaded
                raise Breach(f"{response.request.method} {response.request.url}: the answer's "
                             f"body passed --max-body {bounds.max_body} bytes ({size} bytes "
                             "read" + (f" from {coded} on the wire" if coded < size else "")
                             + ")", "--max-body", response.request)
            pieces.append(piece)
    return b"".join(pieces)


def _inflater(coding: str) -> Callable[[bytes], Iterator[bytes]]:
    """What turns the body's chunks into decoded pieces of at most 64 KiB each (a bomb is
    stopped after the piece that passes the bound, never inflated whole). A coding the gate
    did not ask for is kept as sent."""
    coding = coding.strip().lower()
    if coding not in ("gzip", "x-gzip", "deflate"):
        return lambda chunk: iter((chunk,))
    state: dict[str, Any] = {"zlib": zlib.decompressobj(
        zlib.MAX_WBITS | 16 if "gzip" in coding else zlib.MAX_WBITS)}

    def inflate(chunk: bytes) -> Iterator[bytes]:
        data = chunk
        while data:
            try:
                piece = state["zlib"].decompress(data, _PIECE)
            except zlib.error:
                if coding != "deflate" or state.get("raw"):
                    raise httpx.DecodingError(f"the body is not valid {coding}") from None
                state["zlib"], state["raw"] = zlib.decompressobj(-zlib.MAX_WBITS), True
                continue  # deflate sent without its zlib header, as some servers do
            yield piece
            data = state["zlib"].unconsumed_tail
    return inflate


_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(body: bytes, limit: int) -> bool:
    """Whether `body`, read as JSON, nests more than `limit` arrays and objects (strings
    skipped). A body with fewer brackets than the limit is not scanned."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for token in _NESTING.finditer(body):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif mark in (b"]", b"}"):
            depth -= 1
    return False


# -- one origin ------------------------------------------------------------------------------
class Gate:
    """Where one target is reached: its origin, the client that carries the credentials
    (the user's headers), and the bounds. Every request is checked to stay on the origin."""

    def __init__(self, base_url: str, bounds: Bounds,
                 headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = origin_of(self.base_url)
        self.bounds = bounds
        self.client = bounded_client(bounds, headers)

    def resolve(self, written: str, against: str | httpx.URL) -> str:
        """A URL a server wrote (a Location, a link), resolved against the URL of the
        request it answered (RFC 3986); Breach when it leaves the origin."""
        url = urljoin(str(against), written)
        self.check(url, f"the target's URL {written!r}")
        return url

    def check(self, url: str | httpx.URL, what: str) -> None:
        """Breach unless `url` is on this gate's origin, with no user part."""
        parsed = httpx.URL(str(url))
        if parsed.userinfo or origin_of(parsed) != self.origin:
            scheme, host, port = self.origin
            raise Breach(f"{what} leads to {str(url)!r}, off the base URL's origin "
                         f"{scheme}://{host}:{port}: not sent there (it would carry the "
                         "token and the -H headers)", "origin")

    def send(self, request: httpx.Request) -> httpx.Response:
        """`request`, if it stays on the origin, and its answer within the bounds."""
        self.check(request.url, f"{request.method} {request.url}")
        return exchange(self.client, request, self.bounds)


# -- schemathesis' side: `requests` through the same gate --------------------------------------
class _GateAdapter(requests.adapters.BaseAdapter):
    """A `requests` transport that sends through a Gate: schemathesis' cases, their cleanup
    and the re-sent unauthenticated request get the origin check and the bounds too."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        sent = httpx.Request(str(request.method), str(request.url),
                             headers=[(k, str(v)) for k, v in request.headers.items()],
                             content=body if isinstance(body, bytes) else b"")
        try:
            answer = self.gate.send(sent)
        except httpx.TimeoutException as error:
            raise requests.exceptions.Timeout(str(error), request=request) from None
        except Breach:
            raise
        except httpx.HTTPError as error:
            raise requests.exceptions.ConnectionError(str(error), request=request) from None
        return _as_requests(answer, request)

    def close(self) -> None:
        """The gate's client outlives the session: nothing to close here."""


def _as_requests(answer: httpx.Response, request: requests.PreparedRequest
                 ) -> requests.Response:
    """An answer the gate read (its body decoded) as `requests` hands one over; its raw
    part holds the same body, without the coding it came in."""
    headers = urllib3.HTTPHeaderDict()
    for name, value in answer.headers.multi_items():
        if name.lower() not in ("content-encoding", "transfer-encoding", "content-length"):
            headers.add(name, value)
    response = requests.Response()
    response.status_code = answer.status_code
    response.reason = answer.reason_phrase
    response.headers = requests.structures.CaseInsensitiveDict(headers)
    response.raw = urllib3.HTTPResponse(io.BytesIO(answer.content), headers=headers,
                                        status=answer.status_code, version=11,
                                        preload_content=False, decode_content=False)
    response._content = answer.content  # what requests' own read sets
    response.url = str(request.url)
    response.request = request
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.elapsed = answer.elapsed
    return response


class GatedSession(requests.Session):
    """A `requests` session whose every request passes `gate`, and that follows no redirect
    (a 3xx is the answer to judge)."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.mount("http://", _GateAdapter(gate))
        self.mount("https://", _GateAdapter(gate))

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None
