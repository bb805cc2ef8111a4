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
them. A client that pipelines and does not read is read no further once the answers it
has not taken hold `OWED_BYTES` (a reply held keeps of its request its method and path
alone; a large read is parsed in slices, see HttpConnection).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

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
from contract.http.serving import MAX_HEAD, HttpConnection, Keeper, Refused
from contract.mock.app import MockApp
from contract.mock.faults import SLOW_PIECES, SLOW_SECONDS, STALL_SECONDS, Faulted

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
OWED_BYTES = 1024 * 1024  # what queued replies hold: past this, parsing waits
REPLY_BYTES = 1024  # a reply held with its request: their objects, beyond body and headers
HEADER_BYTES = 160  # a header held: its pair's objects, beyond its characters
_NO_CONTENT = frozenset({204, 304})
_NO_CRLF = str.maketrans("\r\n", "  ")


@dataclass(slots=True)
class _Reply:
    """A response waiting in its connection's queue for its commit and its due time."""

    due: float  # loop time; 0 unless --latency-ms holds it back
    response: Outgoing
    keep_alive: bool
    request: Incoming | None  # None for a request the parser refused
    started: float
    size: int  # its body's bytes (held by latency, all it holds), counted in `owed`


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


class Connection(HttpConnection):
    """One client connection: each whole request becomes an `Incoming`, answered by the
    app's pipeline at once, its response queued for the commit."""

    def __init__(self, app: MockApp, outbox: Outbox, keeper: Keeper):
        super().__init__(keeper, app.max_body)
        self.app = app
        self.outbox = outbox
        self.base_url = "http://127.0.0.1"
        self.replies: collections.deque[_Reply] = collections.deque()  # in request order
        self.unconfirmed = 0  # the last replies in the queue, whose writes await the commit
        self.owed = 0  # bytes the queued replies hold (see `_send`)

    def _reset(self) -> None:
        super()._reset()
        self.early: Outgoing | None = None  # a 414 decided from the head, or a path not UTF-8
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        host, port = transport.get_extra_info("sockname")[:2]
        self.base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def owes(self) -> bool:
        return bool(self.replies)

    def backed_up(self) -> bool:
        return self.paused or self.owed > OWED_BYTES

    def quiet(self) -> bool:
        """No response waits for its commit, its due time or the socket."""
        return not self.replies and (self.transport is None or self.transport.is_closing()
                                     or not self.transport.get_write_buffer_size())

    def refuse(self, status: int, message: str) -> None:
        self._send(error_response(status, message), False, 0.0)

    def too_large(self) -> str:
        return self.app.too_large()

    # -- httptools callbacks, beyond the shared ones -----------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.started = time.perf_counter()

    def on_url(self, url: bytes) -> None:
        self.target += url
        if len(self.target) > MAX_HEAD:  # the documented 414, before the head is all read
            message = self.app.uri_too_long(len(self.target))
            raise Refused(414, message) if message else \
                Refused(431, f"the request line and headers are over {MAX_HEAD} bytes")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        too_long = self.app.uri_too_long(len(self.target))
        self.early = error_response(414, too_long) if too_long else None

    def on_message_complete(self) -> None:
        self.in_head, self.deadline = False, float("inf")  # busy: answered, never expired
        self.counting = True
        if self.closing:
            return
        keep_alive = self.parser.should_keep_alive()
        if self.refused is not None:
            self._send(error_response(*self.refused), False, 0.0)
            return
        request = self._request()
        if self.early is None and self.size > self.max_body:  # a chunked body: read, dropped
            self.early = error_response(413, self.too_large())
        self._send(self.early or self.app.answer(request), keep_alive, self.app.delay(request),
                   request)

    # -- the request in, the response out ---------------------------------------------------

    def _request(self) -> Incoming:
        target = self.target.decode("latin-1")
        raw_path, _, query = target.partition("?")
        headers: dict[str, str] = {}
        for name, value in self.headers:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        host = headers.get("host")
        request = Incoming(self.parser.get_method().decode("ascii"), raw_path, [], headers,
                           base_url=f"http://{host}" if host else self.base_url)
        try:
            request.path, request.query = decode_path(raw_path), parse_query(query)
        except NotUtf8 as error:
            self.early = self.early or error_response(400, str(error))
        request.body = b"".join(self.body)
        return request

    def _send(self, response: Outgoing, keep_alive: bool, delay: float,
              request: Incoming | None = None) -> None:
        if type(response) is Faulted:  # the last answer of its connection
            keep_alive = False
        if not keep_alive:
            self.closing = True
        due = asyncio.get_running_loop().time() + delay if delay else 0.0
        size = len(response.body)
        if delay:  # held by --latency-ms: counted whole (204s to pipelined pings with 7 KB
            # heads, counted by their bodies alone, took 525 MB), its request kept as the
            # access log needs it, not its headers (a thousand small ones held 16 times
            # what they were counted for)
            size += REPLY_BYTES + sum(HEADER_BYTES + len(name) + len(value)
                                      for name, value in response.headers)
            if request is not None:
                request = Incoming(request.method, request.path)
                size += len(request.path)
        self.owed += size
        self.replies.append(_Reply(due, response, keep_alive, request, self.started, size))
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

    def _release(self) -> None:
        """Write the confirmed responses that are due, oldest first, in one write."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        data: list[bytes] = []
        close = False
        while len(self.replies) > self.unconfirmed and self.replies[0].due <= now:
            reply = self.replies.popleft()
            self.owed -= reply.size
            with_body = reply.request is None or reply.request.method != "HEAD"
            wire = encode(reply.response, reply.keep_alive, with_body)
            if reply.request is not None:
                self.app.log(reply.request, reply.response, reply.started)
            if type(reply.response) is Faulted:
                self.replies.clear()
                self._break(data, wire, reply.response)
                return
            data.append(wire)
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
            self.since, self.deadline = now, now + self.keeper.limits.idle_timeout
        if self.stopped:  # reading waited for these answers to be taken
            self.unblock()

    # -- faults (mock.faults): the last answer of a connection, broken on the wire ----------

    def _break(self, data: list[bytes], wire: bytes, response: Faulted) -> None:
        """Write the answers before it, then break this one as its fault says."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if data:
            transport.write(b"".join(data))
        fault, loop = response.fault, asyncio.get_running_loop()
        self.closing, self.deadline = True, float("inf")  # read no more; the fault ends it
        if fault == "reset":
            self._reset_connection()
        elif fault == "truncate":
            cut = len(wire) - len(response.body) // 2 if response.body else len(wire) // 2
            transport.write(wire[:cut])
            self._hang_up()
        elif fault == "slow-body":
            pieces = _pieces(wire, SLOW_PIECES)
            for n, piece in enumerate(pieces):
                loop.call_later(SLOW_SECONDS * n / len(pieces), self._write, piece)
            loop.call_later(SLOW_SECONDS, self._hang_up)
        else:  # stall: nothing, past any client's timeout; then a reset
            loop.call_later(STALL_SECONDS, self._reset_connection)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _reset_connection(self) -> None:
        """Close with a TCP RST (SO_LINGER 0): the client reads ECONNRESET, not an end."""
        transport = self.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


def _pieces(data: bytes, count: int) -> list[bytes]:
    size = max(1, -(-len(data) // count))
    return [data[n:n + size] for n in range(0, len(data), size)]


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
    servers = []
    edge_url = None
    if app.settings.edge_port is not None:  # the CDN edge, on the same loop and state
        from contract.mock.edge.server import Edge

        # first: once the API answers, its health names an edge that listens (the other
        # way round, a client quick off the mark read no edge from /__mock__/health)
        edge_keeper = Keeper(app.settings.limits)
        edge = await serving.listen(Edge(app.runtime), host, app.settings.edge_port,
                                    edge_keeper)
        servers.append((edge, edge_keeper))
        edge_url = app.runtime.edge_url = serving.bound_url(edge, host)
    keeper = Keeper(app.settings.limits)
    try:
        api = await listen(app, host, port, keeper)
    except BaseException:  # the API's port is taken, say: the edge does not stay behind
        for server, _ in servers:
            server.close()
        raise
    servers.insert(0, (api, keeper))
    started(serving.bound_url(api, host), edge_url)
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
