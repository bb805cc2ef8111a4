"""The mock's own HTTP/1.1 server: httptools parses, an asyncio protocol (on uvloop when it
is installed) calls the app's synchronous pipeline directly.

Why not uvicorn, which parses with the same httptools: ASGI costs more than the mock's own
work on the purge path (a task, a receive and two send messages, headers re-encoded per
request), and issue 4 asks for 5x Prism's throughput. `MockApp` stays an ASGI app for
whoever wants to embed it.

The pipeline never waits on I/O, so a request is parsed and answered within one
`data_received`. Its response then waits in the connection's queue until the end of that
turn of the event loop, when one commit makes the writes of every request answered in the
turn durable and the responses go out (group commit: a commit per batch, not per request,
and still nothing acknowledged before it is stored). Pipelined requests are answered in
order, in one write.

What the server adds to HTTP/1.1 itself: a declared body (`Content-Length`) past the S19
limit gets the 413 as soon as the head is read, then the connection closes (its body is not
awaited); a chunked body past it is read and dropped, and the 413 keeps the connection
usable; a path or query that is not UTF-8 once percent-decoded gets 400; a request head over
`MAX_HEAD` is refused (414 or 431) before it is all read; a request the parser rejects gets
400 with the documented error body; `--latency-ms` holds responses back without reordering
them.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import httptools

from contract.checks.messages import (
    Incoming,
    NotUtf8,
    Outgoing,
    decode_path,
    error_response,
    parse_query,
)
from contract.errors import InputError
from contract.http import serving
from contract.http.serving import CONTINUE, LINGER, MAX_HEAD, Keeper, refusal
from contract.mock.app import MockApp

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_NO_CONTENT = frozenset({204, 304})
_NO_CRLF = str.maketrans("\r\n", "  ")


class _Refused(Exception):
    """Raised in a parser callback to stop reading a request and answer it at once."""

    def __init__(self, response: Outgoing):
        self.response = response


@dataclass(slots=True)
class _Reply:
    """A response waiting in its connection's queue for its commit and its due time."""

    due: float  # loop time; 0 unless --latency-ms holds it back
    response: Outgoing
    keep_alive: bool
    request: Incoming | None  # None for a request the parser refused
    started: float


class Outbox:
    """The connections with responses awaiting the commit at the end of this loop turn."""

    def __init__(self, app: MockApp):
        self.app = app
        self.waiting: list[Connection] = []

    def add(self, connection: Connection) -> None:
        if not self.waiting:
            asyncio.get_running_loop().call_soon(self.flush)
        self.waiting.append(connection)

    def flush(self) -> None:
        failure = self.app.commit()
        waiting, self.waiting = self.waiting, []
        for connection in waiting:
            connection.confirm(failure)


_date = (0, b"")


def _date_header() -> bytes:
    """`date: ...` (RFC 9110 asks an origin server with a clock for it), made once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, b"date: %s\r\n" % formatdate(now, usegmt=True).encode())
    return _date[1]


def encode(response: Outgoing, keep_alive: bool, with_body: bool = True) -> bytes:
    """The response as bytes on the wire: status line, headers, content-length, body."""
    status = response.status
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"")), _date_header()]
    for name, value in response.headers:
        text = f"{name}: {value}\r\n"
        if text.count("\n") > 1 or text.count("\r") > 1:  # never let a value split the head
            text = f"{name}: {str(value).translate(_NO_CRLF)}\r\n"
        lines.append(text.encode("latin-1", "replace"))
    if status not in _NO_CONTENT:  # RFC 9110 8.6: no Content-Length on 204, 304
        lines.append(b"content-length: %d\r\n" % len(response.body))
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    if with_body and status not in _NO_CONTENT:
        lines.append(response.body)
    return b"".join(lines)


class Connection(asyncio.Protocol):
    """One client connection: the httptools callbacks build an `Incoming` per request."""

    def __init__(self, app: MockApp, outbox: Outbox, keeper: Keeper):
        self.app = app
        self.outbox = outbox
        self.keeper = keeper
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.base_url = "http://127.0.0.1"
        self.replies: collections.deque[_Reply] = collections.deque()  # in request order
        self.unconfirmed = 0  # the last replies in the queue, whose writes await the commit
        self.closing = False
        self.deadline = float("inf")  # loop time; the keeper closes the connection past it
        self.in_head = False  # a request has begun and is not whole yet (else: idle or busy)
        self.counting = True  # the bytes that arrive belong to a request head
        self.head_bytes = 0  # of that head, as they arrive (one header may be mid-parse)
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.size = 0  # of the body
        self.head_size = 0
        self.early: Outgoing | None = None  # a 413/414 decided before the body is read
        self.started = 0.0

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.loop = asyncio.get_running_loop()
        deadline = self.keeper.take(self, self.transport)
        if deadline is None:
            self.closing = True
            return
        self.deadline = deadline
        host, port = transport.get_extra_info("sockname")[:2]
        self.base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.counting:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # the request was answered as plain HTTP/1.1; the upgrade is not taken
        except httptools.HttpParserError as error:
            refused = error.__context__
            if isinstance(refused, _Refused):
                self._send(refused.response, False, 0.0)
            else:
                reason = str(error) or type(error).__name__
                self._send(error_response(400, f"malformed HTTP request: {reason}"), False, 0.0)
            return
        if self.counting and self.head_bytes > MAX_HEAD and not self.closing:
            self._send(_head_too_large(), False, 0.0)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.keeper.forget(self)

    def expire(self, now: float) -> None:
        """Called by the keeper's sweep: close if the deadline passed (a 408 first when a
        request had begun)."""
        if now < self.deadline or self.closing or self.transport is None:
            return
        self.closing = True
        if self.in_head:
            self.transport.write(refusal(408, f"the request did not arrive within "
                                         f"{self.keeper.limits.header_timeout:g} s"))
        self.transport.close()

    def quiet(self) -> bool:
        """No response waits for its commit, its due time or the socket: a draining server
        may close it."""
        return not self.replies and (self.transport is None or self.transport.is_closing()
                                     or not self.transport.get_write_buffer_size())

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def pause_writing(self) -> None:  # the client is not reading: stop reading from it too
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()
        self.started = time.perf_counter()
        self.in_head = True
        self.deadline = self.loop.time() + self.keeper.limits.header_timeout

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_size += len(url)
        if self.head_size > MAX_HEAD:
            raise _Refused(self.app.uri_too_long(len(self.url)) or _head_too_large())

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value)
        if self.head_size > MAX_HEAD:
            raise _Refused(_head_too_large())
        self.headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self.counting, self.head_bytes = False, 0
        self.early = self.app.uri_too_long(len(self.url))
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.app.max_body:
            # answer from the head, then close: a body that may never come is not awaited
            self.early = self.app.body_too_large()
            self._send(self.early, False, 0.0)
        elif self.headers.get("expect", "").lower() == "100-continue" and self.transport \
                and not self.replies:  # never ahead of an earlier response still queued
            self.transport.write(CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.app.max_body:
            self.early = self.early or self.app.body_too_large()
            self.body.clear()
        elif self.early is None:
            self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.in_head, self.deadline = False, float("inf")  # busy: answered, never expired
        self.counting = True
        if self.closing:
            return
        request = self._request()
        response = self.early or self.app.answer(request)
        keep_alive = self.parser.should_keep_alive()
        self._send(response, keep_alive, self.app.delay(request), request)

    # -- the request in, the response out ---------------------------------------------------

    def _request(self) -> Incoming:
        target = self.url.decode("latin-1")
        raw_path, _, query = target.partition("?")
        host = self.headers.get("host")
        request = Incoming(self.parser.get_method().decode("ascii"), raw_path, [],
                           self.headers, base_url=f"http://{host}" if host else self.base_url)
        try:
            request.path, request.query = decode_path(raw_path), parse_query(query)
        except NotUtf8 as error:
            self.early = self.early or error_response(400, str(error))
        request.body = b"".join(self.body)
        return request

    def _send(self, response: Outgoing, keep_alive: bool, delay: float,
              request: Incoming | None = None) -> None:
        if not keep_alive:
            self.closing = True
        due = asyncio.get_running_loop().time() + delay if delay else 0.0
        self.replies.append(_Reply(due, response, keep_alive, request, self.started))
        self.unconfirmed += 1
        if self.unconfirmed == 1:
            self.outbox.add(self)

    def confirm(self, failure: Outgoing | None) -> None:
        """The commit is done (or failed: then `failure` answers every unconfirmed request)."""
        if failure is not None:
            for reply in list(self.replies)[len(self.replies) - self.unconfirmed:]:
                reply.response = failure
        self.unconfirmed = 0
        self._release()

    def _hang_up(self) -> None:
        """Close after the last response. The write side first: a client still sending (a
        head or body that was refused) would otherwise get a reset that can destroy the
        response before it reads it; what it sends meanwhile is dropped."""
        assert self.transport is not None
        if self.transport.can_write_eof():
            self.transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER, self.transport.close)
        else:
            self.transport.close()

    def _release(self) -> None:
        """Write the confirmed responses that are due, oldest first, in one write."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        data: list[bytes] = []
        close = False
        while len(self.replies) > self.unconfirmed and self.replies[0].due <= now:
            reply = self.replies.popleft()
            with_body = reply.request is None or reply.request.method != "HEAD"
            data.append(encode(reply.response, reply.keep_alive, with_body))
            if reply.request is not None:
                self.app.log(reply.request, reply.response, reply.started)
            if not reply.keep_alive:
                close = True
                self.replies.clear()
                break
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(data))
            if close:
                self._hang_up()
        if len(self.replies) > self.unconfirmed:
            # held by --latency-ms; asked again, since uvloop's timers (millisecond
            # resolution) may fire a little before the due time
            loop.call_at(self.replies[0].due, self._release)
        elif not self.replies and not self.in_head:  # all answered: idle until the next
            self.deadline = now + self.keeper.limits.idle_timeout


def _head_too_large() -> Outgoing:
    return error_response(431, f"the request line and headers are over {MAX_HEAD} bytes")


async def listen(app: MockApp, host: str, port: int, keeper: Keeper | None = None
                 ) -> asyncio.Server:
    """The mock's server, listening on the running loop (port 0: any free port)."""
    loop = asyncio.get_running_loop()
    outbox = Outbox(app)
    keeper = keeper or Keeper(app.settings.limits)
    try:
        return await loop.create_server(lambda: Connection(app, outbox, keeper), host, port,
                                        backlog=2048)
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


async def _serve(app: MockApp, host: str, port: int,
                 started: Callable[[str, str | None], None]) -> None:
    stop = serving.stop_requested()
    keeper = Keeper(app.settings.limits)
    servers = [(await listen(app, host, port, keeper), keeper)]
    edge_url = None
    if app.settings.edge_port is not None:  # the CDN edge, on the same loop and state
        from contract.mock.edge.server import Edge

        edge_keeper = Keeper(app.settings.limits)
        edge = await serving.listen(Edge(app.runtime), host, app.settings.edge_port,
                                    edge_keeper)
        servers.append((edge, edge_keeper))
        edge_url = app.runtime.edge_url = serving.bound_url(edge, host)
    started(serving.bound_url(servers[0][0], host), edge_url)
    await serving.until_stopped(servers, stop)


def serve(app: MockApp, host: str, port: int,
          started: Callable[[str, str | None], None] = lambda url, edge: None) -> None:
    """Serve until SIGINT or SIGTERM, then close the store (everything is committed).
    `started(url, edge_url)` is called once listening, with the ports actually bound (port
    0: any); `edge_url` is None without an edge."""
    try:
        serving.run(lambda: _serve(app, host, port, started))
    finally:
        app.close()
