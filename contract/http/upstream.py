"""Pooled keep-alive HTTP/1.1 connections to one upstream (the proxy's implementation, the
edge's origins).

httptools parses the upstream's responses; header names keep the case and order the
upstream sent, so the proxy can pass them on unchanged; trailers are dropped (a trailer is
never a header, RFC 9110 6.5). A response's body is buffered until it is complete (the
proxy validates it) or passes the buffer limit; from then on its chunks arrive through a
stream the proxy drains, and the upstream is read no further while `STREAM_HIGH` bytes wait
in it. A body with neither a length nor chunking ends when the upstream closes (RFC 9112
6.3). One timer per request bounds the wait (no `wait_for`, which costs a task each time).

A pooled connection that receives bytes while no request is under way (a late or
unrequested response) is closed, and one with bytes waiting when it is taken from the pool
is not used: such bytes would be read as the next request's answer.

A response head is bounded as a request head is (contract/http/serving.py `MAX_HEAD`, and
`MAX_HEADER_LINES`), interim heads and chunked trailers included: the parser joins the
pieces of a header value at every read, so an endless header would cost quadratic time on
the loop every tenant shares (and its memory). Past a bound the exchange fails at once.
"""

from __future__ import annotations

import array
import asyncio
import collections
import fcntl
import re
import termios
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

from contract.http.serving import MAX_HEAD

# Headers of one connection, never passed on (RFC 9110 7.6.1), and the framing a forwarder
# sets itself (content-length): what the proxy and the edge drop from what they relay.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"trailers",
                        b"transfer-encoding", b"upgrade", b"content-length"})
_END = b""  # the end of a body in the chunk queue (an empty chunk is never queued)
STREAM_HIGH = 1024 * 1024  # bytes of a streamed body waiting to be taken: reading pauses
MAX_HEADER_LINES = 256  # of a response head (its interim heads with it), or of its trailers
_HTTP_URL = re.compile(rb"http://([^/?#]*)(.*)", re.IGNORECASE | re.DOTALL)


class UpstreamError(Exception):
    """The upstream could not be reached, broke the connection, or did not answer in time."""

    def __init__(self, message: str, timeout: bool = False):
        super().__init__(message)
        self.timeout = timeout


class _HeadTooLarge(Exception):
    """Raised in a parser callback: the head passed a bound (its message says which)."""


class _Stream:
    """The chunks of a body past the buffer limit, between the upstream and the consumer:
    past `STREAM_HIGH` bytes waiting, the upstream is not read until they are taken."""

    def __init__(self, transport: asyncio.Transport | None):
        self.transport = transport
        self.chunks: collections.deque[bytes | UpstreamError] = collections.deque()
        self.size = 0
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None

    def put(self, chunk: bytes | UpstreamError) -> None:
        self.chunks.append(chunk)
        if isinstance(chunk, bytes):
            self.size += len(chunk)
            if self.size > STREAM_HIGH and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> bytes | UpstreamError:
        while not self.chunks:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        chunk = self.chunks.popleft()
        if isinstance(chunk, bytes):
            self.size -= len(chunk)
            if self.paused and self.size <= STREAM_HIGH // 2:
                self.paused = False
                if self.transport is not None and not self.transport.is_closing():
                    self.transport.resume_reading()
        return chunk


@dataclass
class UpstreamResponse:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    buffered: list[bytes] = field(default_factory=list)  # the body, until the limit
    size: int = 0
    complete: bool = False  # the whole body is in `buffered`
    rest: _Stream | None = None  # past the limit: streamed
    abort: Callable[[], None] = lambda: None  # past the limit, not wanted: close the connection

    async def remainder(self) -> AsyncIterator[bytes]:
        """The chunks past the buffer limit, as they arrive (the caller bounds the wait)."""
        assert self.rest is not None
        while True:
            chunk = await self.rest.get()
            if isinstance(chunk, UpstreamError):
                raise chunk
            if chunk == _END:
                return
            yield chunk


class _Connection(asyncio.Protocol):
    def __init__(self, pool: UpstreamPool):
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiting: asyncio.Future[UpstreamResponse] | None = None
        self.response: UpstreamResponse | None = None
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.closed = False
        self.head_only = False  # a HEAD's response: its head is all that comes
        self.limit = 0  # the buffer limit of the response under way
        self.timer: asyncio.TimerHandle | None = None
        self.lent = False  # a request is under way: the pool must not hand it out
        self.interim = False  # the message being parsed is a 1xx, not the response
        self.in_body = False  # the head is read: a header now is a trailer (dropped)
        self.until_close = False  # the body has no length and no chunking: EOF ends it
        self.counting = False  # the bytes that arrive belong to a head (or to trailers)
        self.head_bytes = 0  # of that head, as they arrive
        self.lines = 0  # header lines of that head

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.lent:  # nobody asked: a late or unrequested answer is never taken
            self.close()
            return
        while data and not self.closed:
            part = data
            if self.counting:  # a head is fed no further than one byte past its bound
                part = data[:MAX_HEAD + 1 - self.head_bytes]
                self.head_bytes += len(part)
            data = data[len(part):]
            self._feed(part)
            if self.counting and self.head_bytes > MAX_HEAD and not self.closed:
                self._refuse(f"upstream {self.pool.netloc}: its response head is over "
                             f"{MAX_HEAD} bytes")

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            bound = error.__context__
            self._refuse(str(bound) if isinstance(bound, _HeadTooLarge) else
                         f"the upstream sent malformed HTTP: {error}")

    def _refuse(self, message: str) -> None:
        self._fail(UpstreamError(message))
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.until_close and self.response is not None and exc is None and not self.closed:
            self.until_close = False  # the upstream's close ends its body (RFC 9112 6.3)
            self.closed = True
            self.on_message_complete()
        self.closed = True
        self._fail(UpstreamError("the upstream closed the connection"))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.reason, self.headers, self.in_body = b"", [], False
        if not self.lent:  # a message after the answer, in the same bytes: never pooled
            self.close()

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.lines += 1
        if self.lines > MAX_HEADER_LINES:
            raise _HeadTooLarge(f"upstream {self.pool.netloc}: its response head is over "
                                f"{MAX_HEADER_LINES} header lines")
        if not self.in_body:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_body = True
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # interim (100 Continue, 103 Early Hints): the answer follows
            self.interim = True  # its head counts with the answer's
            return
        self.counting, self.head_bytes, self.lines = False, 0, 0
        self.response = UpstreamResponse(status, self.reason, self.headers, abort=self.close)
        self.until_close = not self.head_only and status not in (204, 304) and not any(
            name.lower() in (b"content-length", b"transfer-encoding")
            for name, _ in self.headers)
        if self.head_only:  # the parser would wait for a body that never comes: not reused
            self.response.complete = True
            self._deliver()
            self.close()

    def on_chunk_header(self) -> None:
        # a chunk's size line; after the last one come the trailers, counted as a head is
        self.counting, self.head_bytes = True, 0

    def on_chunk_complete(self) -> None:
        self.counting = False

    def on_body(self, chunk: bytes) -> None:
        self.counting = False
        response = self.response
        if response is None or not chunk:
            return
        if response.rest is not None:
            response.rest.put(chunk)
            return
        response.buffered.append(chunk)
        response.size += len(chunk)
        if response.size > self.limit:  # past the limit: hand over now, stream the rest
            response.rest = _Stream(self.transport)
            self._deliver()

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        self.until_close = False
        response = self.response
        if response is not None and response.rest is not None:
            response.rest.put(_END)
            if response.rest.paused and self.transport is not None:
                response.rest.paused = False  # nothing more comes for it: read on
                self.transport.resume_reading()
        elif response is not None:
            response.complete = True
            self._deliver()
        self.response = None
        if self.lent and self.parser.should_keep_alive() and not self.closed:
            self.pool.release(self)
        else:  # not kept alive, or a response nobody asked for: never pooled
            self.close()

    def _deliver(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.waiting is not None and not self.waiting.done() and self.response is not None:
            self.waiting.set_result(self.response)
        self.waiting = None

    # -- use ---------------------------------------------------------------------------------

    def send(self, data: bytes, head_only: bool, limit: int, timeout: float
             ) -> asyncio.Future[UpstreamResponse]:
        """The response, once its body is complete or past `limit` bytes."""
        assert self.transport is not None and not self.lent
        self.lent = True
        self.head_only, self.limit = head_only, limit
        self.counting, self.head_bytes, self.lines = True, 0, 0
        loop = asyncio.get_running_loop()
        self.waiting = loop.create_future()
        self.timer = loop.call_later(timeout, self._timed_out, timeout)
        self.transport.write(data)
        return self.waiting

    def _timed_out(self, timeout: float) -> None:
        self.timer = None
        self._fail(UpstreamError(f"upstream {self.pool.netloc} did not answer within "
                                 f"{timeout:g} s", timeout=True))
        self.close()

    def _fail(self, error: UpstreamError) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(error)
        if self.response is not None and self.response.rest is not None:
            self.response.rest.put(error)
        self.response = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _waiting(transport: asyncio.Transport | None) -> int:
    """Bytes the kernel holds for the connection that the loop has not read yet."""
    socket = transport.get_extra_info("socket") if transport is not None else None
    if socket is None:
        return 0
    count = array.array("i", [0])
    try:
        fcntl.ioctl(socket.fileno(), termios.FIONREAD, count)
    except OSError:
        return 1  # unreadable: not to be trusted with a request
    return count[0]


class UpstreamPool:
    """Idle keep-alive connections to one upstream, reused first in, first out."""

    def __init__(self, base_url: str, timeout: float, size: int = 256):
        parts = urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"{base_url}: only http:// upstreams are supported")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.netloc = parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.size = size
        self.idle: list[_Connection] = []

    def within(self, url: bytes) -> bytes | None:
        """What follows the upstream's base URL in `url` (its path below the base, query,
        fragment), or None when `url` is not the upstream's: the scheme (any case), host and
        port must be its own, with no userinfo (`http://UP@other/` is a URL of `other`), and
        the base path must end at a segment boundary."""
        match = _HTTP_URL.fullmatch(url)
        if match is None or b"@" in match[1]:
            return None
        try:
            parts = urlsplit("http://" + match[1].decode("latin-1"))
            origin = (parts.hostname, parts.port or 80)
        except ValueError:  # not a port, not an address
            return None
        rest, base = match[2], self.prefix.encode()
        if origin != (self.host, self.port) or not rest.startswith(base) or \
                rest[len(base):len(base) + 1] not in (b"", b"/", b"?", b"#"):
            return None
        return rest[len(base):]

    async def request(self, head: bytes, body: bytes, limit: int, head_only: bool = False
                      ) -> UpstreamResponse:
        """Send one request (its head already encoded); the response once its body is
        complete, or past `limit` bytes (then `remainder()` streams the rest). `head_only`
        for a HEAD request, whose response has no body whatever it declares."""
        connection = await self._connection()
        return await connection.send(head + body, head_only, limit, self.timeout)

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and not _waiting(connection.transport):
                return connection
            connection.close()
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), self.host, self.port),
                self.timeout)
        except TimeoutError:
            raise UpstreamError(f"upstream {self.netloc}: no connection within "
                                f"{self.timeout:g} s", timeout=True) from None
        except OSError as error:
            raise UpstreamError(f"upstream {self.netloc} unreachable: "
                                f"{error.strerror or error}") from None
        return protocol

    def release(self, connection: _Connection) -> None:
        """Take a connection back once its response is whole: once per request, so it can
        never be idle twice or serve two requests at once."""
        connection.lent = False
        if len(self.idle) < self.size:
            self.idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
