"""Our HTTP/1.1 serving, and what every server of ours does about careless and hostile
clients: a cap on open connections, and deadlines for slow and idle ones.

`HttpConnection` is the one reading of HTTP/1.1 under every server of ours: requests parsed
with httptools as they come, and what HTTP itself asks of a server (head size, Host, body
limit, 100-continue, deadlines) decided there. Two kinds of connection answer: `Connection`
serves a `Handler` whose answers await I/O (the proxy awaits its upstream, the edge its
origins), in order, one at a time; the mock's API (contract/mock/transport.py) answers
within the read, from its synchronous pipeline, and writes after its group commit.

A client that opens connections and never finishes its request head (slowloris) would
otherwise hold a file descriptor each until none is left for anyone. The keeper gives a
request head `header_timeout` seconds to arrive (then 408 and close) and an idle keep-alive
connection `idle_timeout` seconds (then close). At the cap, a new connection takes the place
of the longest-idle one of the client holding the most connections (idle sockets cannot
lock anyone out); only when none is idle is it refused with a 503 and the documented error
body. Deadlines are checked by one sweep a few times per timeout period, not by a timer per
request, so the request path pays one clock read.

A client that sends and never reads makes a server buffer its answers without end: reading
stops while the answers owed pass a high-water mark (`pause_writing` past the transport's
own, requests queued or answered but not yet written past `backed_up`), and a large read is
parsed in slices, so one read of pipelined requests cannot make gigabytes of answers.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import json
import re
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, cast

import httptools

from contract.errors import InputError
from contract.http.asgi import error_document


@dataclass(frozen=True)
class ServerLimits:
    header_timeout: float = 10.0  # seconds for a request head to arrive, once begun
    idle_timeout: float = 60.0  # seconds a keep-alive connection may wait for a request
    max_connections: int = 1024  # open at once; past this, new ones get 503 and are closed


LINGER = 2.0  # seconds a refusing connection keeps reading (and dropping) what still comes
DRAIN_SECONDS = 5.0  # on SIGTERM: how long open connections get to receive what they are owed
MAX_HEAD = 65536  # request line and headers, in bytes: past this the request is refused
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
SLICE = 4096  # a read larger than this is parsed in slices, stopping once backed up
QUEUED = 16  # requests read ahead of the one being answered: past this, reading stops
QUEUED_BYTES = 1024 * 1024  # their bodies, in bytes: past this, reading stops
_ABSOLUTE = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)(.*)", re.DOTALL)


class Kept(Protocol):
    """A connection the keeper watches: `expire(now)` closes it if its deadline passed,
    `quiet()` says it owes no response (a stopping server closes it then), `idle_since()`
    when it began waiting for a request (None while one is under way or owed)."""

    client: str

    def expire(self, now: float) -> None: ...

    def idle_since(self) -> float | None: ...

    def evict(self) -> None: ...

    def quiet(self) -> bool: ...

    def close(self) -> None: ...


class Keeper:
    def __init__(self, limits: ServerLimits):
        self.limits = limits
        self.open: set[Kept] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self.every = min(1.0, max(0.05, min(limits.header_timeout, limits.idle_timeout) / 4))

    def take(self, connection: Kept, transport: asyncio.Transport) -> float | None:
        """A new connection's first deadline (loop time), or None when it was refused: at
        the cap the longest-idle connection makes room for it; with none idle it gets a 503
        with the error body and is closed."""
        if len(self.open) >= self.limits.max_connections:
            idlest = self.idlest()
            if idlest is None:
                transport.write(refusal(503, f"too many connections: this server holds "
                                        f"{self.limits.max_connections} at once, none idle; "
                                        "try again later"))
                transport.close()
                return None
            self.open.discard(idlest)
            idlest.evict()
        self.open.add(connection)
        loop = asyncio.get_running_loop()
        if self._sweep is None:
            self._sweep = loop.call_later(self.every, self.sweep)
        return loop.time() + self.limits.header_timeout

    def idlest(self) -> Kept | None:
        """The idle connection to close for a new one: of the client holding the most
        connections (one client's idle sockets go before anyone else's), the longest idle."""
        held = collections.Counter(connection.client for connection in self.open)
        best: tuple[int, float] | None = None
        chosen: Kept | None = None
        for connection in self.open:
            since = connection.idle_since()
            if since is not None and (best is None or (-held[connection.client], since) < best):
                best, chosen = (-held[connection.client], since), connection
        return chosen

    def forget(self, connection: Kept) -> None:
        self.open.discard(connection)

    def close_all(self) -> None:
        for connection in list(self.open):
            connection.close()

    def sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for connection in list(self.open):
            connection.expire(now)
        self._sweep = asyncio.get_running_loop().call_later(self.every, self.sweep) \
            if self.open else None


def refusal(status: int, message: str) -> bytes:
    """A complete response that closes the connection: for answers given outside any app
    (too many connections, a head that never arrived)."""
    return json_bytes(status, error_document(message), False)


def json_bytes(status: int, body: object, keep_alive: bool,
               headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """A whole JSON response on the wire (the documented error body, mostly)."""
    data = json.dumps(body).encode()
    extra = b"".join(b"%s: %s\r\n" % pair for pair in headers or [])
    return (status_line(status, HTTPStatus(status).phrase.encode())
            + b"content-type: application/json\r\ncontent-length: %d\r\n" % len(data) + extra
            + (b"" if keep_alive else b"connection: close\r\n") + b"\r\n" + data)


def status_line(status: int, reason: bytes) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, reason)


def header_value(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    """The first value of a header (`name` in lower case), or ""."""
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


@dataclass(slots=True)
class Request:
    """One request as a handler gets it: bytes as sent, header names as written."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool
    client: str = ""  # the peer's address


class Output:
    """What a handler answers through: `output(data)` writes, `await output.drained()`
    waits while the client is not reading (False once the connection is gone: stop)."""

    __slots__ = ("connection", "wrote")

    def __init__(self, connection: Connection):
        self.connection = connection
        self.wrote = False  # part of the current request's answer is written

    def __call__(self, data: bytes) -> None:
        self.wrote = True
        transport = self.connection.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    async def drained(self) -> bool:
        return await self.connection.drained()

    def abort(self) -> None:
        """Drop the connection at once, with what was written so far and no more: a
        response cut short must not end as a whole one would, nor be followed by another
        answer; requests read behind it are not answered."""
        self.connection.abort()


class Handler(Protocol):
    limits: ServerLimits
    max_request_body: int  # read whole before `exchange`: a declared body past this is a 413

    def exchange(self, request: Request, write: Output) -> Awaitable[None]:
        """Answer one request through `write` (the whole response, or its parts; a long
        one awaits `write.drained()` between parts)."""
        ...

    def close(self) -> None: ...


class Refused(Exception):
    """Raised in a parser callback to stop reading a request and refuse it at once."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class HttpConnection(asyncio.Protocol, abc.ABC):
    """What every connection of ours does while a request comes in, whatever answers it.

    What HTTP/1.1 itself asks of a server is decided here, for the mock, the edge and the
    proxy alike: the head's size is counted as its bytes arrive (431 past `MAX_HEAD`, even
    inside one header the parser is still buffering), a request without exactly one `Host`
    is refused (RFC 9112 3.2), a declared body past `max_body` gets its 413 from the head
    (its body is not awaited), `Expect: 100-continue` is answered here and never ahead of a
    response still owed, a request the parser cannot read is refused, and the keeper's
    deadlines apply (408 for a head that does not arrive). A client that stops reading is
    not read from either.

    Beyond the head: chunked trailers count against `MAX_HEAD` as a head does and are
    dropped (never read as headers); an absolute-form target is answered by its path (its
    authority is the Host, RFC 9112 3.2.2) and any other form that is not a path is a 400;
    an `Upgrade` is not taken: the request is answered as HTTP/1.1 and a request pipelined
    after it is read and answered too.

    Subclasses answer: `refuse` (stop reading; answer after every earlier request, then
    close), `owes` (a response to an earlier request is still to be written),
    `on_message_complete` (the request is whole: `target`, `headers`, `body`, `size`, and
    `refused` when its head was refused), `backed_up` (stop parsing: too much is owed),
    `close` and `quiet` (for the keeper).
    """

    def __init__(self, keeper: Keeper, max_body: int):
        self.keeper = keeper
        self.max_body = max_body
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client = ""  # the peer's address
        self.closing = False  # no more requests are read; those owed are still answered
        self.deadline = float("inf")  # loop time; the keeper closes the connection past it
        self.in_head = False  # a request has begun and is not whole yet
        self.counting = True  # the bytes that arrive belong to a request head (or trailers)
        self.head_bytes = 0  # of that head, as they arrive (one header may be mid-parse)
        self.in_body = False  # the head is read: a header now is a trailer
        self.paused = False  # the transport's write buffer is past its high-water mark
        self.stopped = False  # reading is paused (until `unblock` finds it need not be)
        self.backlog = b""  # read, parsed up to `parsed`: the rest waits until not backed up
        self.parsed = 0
        self.since = 0.0  # loop time it became idle (see idle_since)
        self._waiter: asyncio.Future[None] | None = None  # resolved when writing resumes
        self._reset()

    def _reset(self) -> None:
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []  # names as written
        self.body: list[bytes] = []  # up to max_body
        self.size = 0  # of the body, as sent
        self.refused: tuple[int, str] | None = None  # decided from the head; whole, then close

    # -- what subclasses decide ------------------------------------------------------------

    @abc.abstractmethod
    def refuse(self, status: int, message: str) -> None:
        """Stop reading; answer `status` after every earlier request, then close."""

    @abc.abstractmethod
    def owes(self) -> bool:
        """A response to an earlier request is still to be written."""

    @abc.abstractmethod
    def quiet(self) -> bool:
        """Nothing is owed or waits to be sent: a draining server may close it."""

    def backed_up(self) -> bool:
        """Parsing more now would only pile up answers the client has not taken."""
        return self.paused

    def idle_since(self) -> float | None:
        return None if self.in_head or self.owes() else self.since

    def evict(self) -> None:
        """Close it now: one whose client does not read is aborted (a close would wait for
        the client to take what it was sent, for ever)."""
        if self.paused and self.transport is not None:
            self.closing = True
            self.transport.abort()
        else:
            self.close()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def too_large(self) -> str:
        """The 413's message."""
        return f"the request body is over {self.max_body} bytes"

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.loop = asyncio.get_running_loop()
        self.since = self.loop.time()
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        deadline = self.keeper.take(self, self.transport)
        if deadline is None:
            self.closing = True
            return
        self.deadline = deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.transport = None
        self.backlog = b""
        self.keeper.forget(self)
        self._wake()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if len(data) > SLICE or self.backlog:
            self.backlog = self.backlog[self.parsed:] + data if self.backlog else data
            self.parsed = 0
            self.unblock()
        else:
            self._feed(data)

    def unblock(self) -> None:
        """Parse what waits in the backlog, a slice at a time, until it is all parsed (then
        read again) or answers pile up (then stop reading until they are taken)."""
        while self.parsed < len(self.backlog) and not self.closing:
            if self.backed_up():
                self.stop_reading()
                return
            start = self.parsed
            self.parsed += SLICE
            self._feed(self.backlog[start:self.parsed])
        self.backlog, self.parsed = b"", 0
        if self.stopped and self.transport is not None and not self.closing \
                and not self.backed_up():
            self.stopped = False
            self.transport.resume_reading()

    def stop_reading(self) -> None:
        if not self.stopped and self.transport is not None:
            self.stopped = True
            self.transport.pause_reading()

    def _feed(self, data: bytes) -> None:
        if self.counting:
            self.head_bytes += len(data)
        while True:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as upgrade:
                # answered as plain HTTP/1.1, the upgrade not taken: what follows is the
                # next request, for a parser of its own (this one stops at an upgrade)
                offset = int(upgrade.args[0]) if upgrade.args else len(data)
                self.parser = httptools.HttpRequestParser(self)
                if offset < len(data) and not self.closing:
                    data = data[offset:]
                    continue
            except httptools.HttpParserError as error:
                refused = error.__context__
                if isinstance(refused, Refused):
                    self.refuse(refused.status, refused.message)
                else:
                    self.refuse(400, "malformed HTTP request: "
                                f"{str(error) or type(error).__name__}")
                return
            break
        if self.counting and self.head_bytes > MAX_HEAD and not self.closing:
            self.refuse(431, f"the request line and headers are over {MAX_HEAD} bytes")

    def pause_writing(self) -> None:  # the client is not reading: stop reading from it too
        self.paused = True
        self.stop_reading()

    def resume_writing(self) -> None:
        self.paused = False
        self._wake()
        self.unblock()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._waiter = None

    async def drained(self) -> bool:
        """Wait while the client is not reading what it was sent (for at most
        `idle_timeout`: then the keeper closes the connection); False once it is gone."""
        while self.paused and self.transport is not None:
            deadline, self.deadline = self.deadline, \
                self.loop.time() + self.keeper.limits.idle_timeout
            self._waiter = self.loop.create_future()
            await self._waiter
            self.deadline = deadline
        return self.transport is not None and not self.transport.is_closing()

    def expire(self, now: float) -> None:
        """Called by the keeper's sweep: close if the deadline passed (a 408 first when a
        request had begun)."""
        if now < self.deadline or self.closing or self.transport is None:
            return
        if self.paused:
            self.evict()
            return
        if self.in_head:
            self.transport.write(refusal(408, f"the request did not arrive within "
                                         f"{self.keeper.limits.header_timeout:g} s"))
        self.close()

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()
        self.in_head, self.in_body = True, False
        self.deadline = self.loop.time() + self.keeper.limits.header_timeout

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.in_body:  # a trailer is dropped: it never becomes a header
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.counting, self.head_bytes, self.in_body = False, 0, True
        if self.target[:1] != b"/":
            self._origin_form()
        hosts, declared, expect, upgrade = 0, "", False, False
        for name, value in self.headers:  # one pass: this runs for every request
            lower = name.lower()
            if lower == b"host":
                hosts += 1
            elif lower == b"content-length":
                declared = value.decode("latin-1")
            elif lower == b"expect":
                expect = value.lower() == b"100-continue"
            elif lower == b"upgrade":
                upgrade = True
        if upgrade and (declared not in ("", "0") or header_value(
                self.headers, b"transfer-encoding")):
            # the parser would take the body for the upgraded protocol's bytes
            self.refused = (400, "a request asking for an Upgrade carries no body here: "
                                 "this server does not upgrade (send it without Upgrade)")
        elif hosts != 1 and self.parser.get_http_version() == "1.1":
            self.refused = (400, f"an HTTP/1.1 request carries exactly one Host header; this "
                                 f"one has {hosts} (RFC 9112 3.2)")
        elif declared.isdigit() and int(declared) > self.max_body:
            # answered from the head, then closed: a body that may never come is not awaited
            self.refuse(413, self.too_large())
        elif expect and self.transport is not None and not self.owes():
            self.transport.write(CONTINUE)  # never ahead of an earlier response

    def _origin_form(self) -> None:
        """A target that is not a path: absolute-form is answered by its path, its
        authority the Host (RFC 9112 3.2.2); anything else (`*`, authority-form) is a 400."""
        absolute = _ABSOLUTE.fullmatch(self.target)
        if absolute is None:
            self.refused = (400, f"the request target {self.target[:80].decode('latin-1')!r} "
                                 "is not a path: this server answers origin-form targets "
                                 "(and absolute-form ones by their path)")
            return
        authority, rest = absolute.group(1), absolute.group(2)
        self.target = rest if rest.startswith(b"/") else b"/" + rest
        self.headers = [(b"Host", authority)] + [
            (name, value) for name, value in self.headers if name.lower() != b"host"]

    def on_chunk_header(self) -> None:
        # a chunk's size line; after the last one come the trailers, counted as a head is
        self.counting, self.head_bytes = True, 0

    def on_chunk_complete(self) -> None:
        self.counting, self.head_bytes = False, 0

    def on_body(self, chunk: bytes) -> None:
        self.counting = False
        self.size += len(chunk)
        if self.size <= self.max_body:
            self.body.append(chunk)

    def _hang_up(self) -> None:
        """Close after a refusal. The write side first: a client still sending (the rest
        of a head or body that was refused) would otherwise get a reset that can destroy
        the answer before it reads it; what it sends meanwhile is dropped."""
        self.closing = True
        if self.transport is not None and self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER, self.transport.close)
        elif self.transport is not None:
            self.transport.close()


class Connection(HttpConnection):
    """A connection served by a `Handler`: requests answered in order, one at a time."""

    def __init__(self, handler: Handler, keeper: Keeper):
        super().__init__(keeper, handler.max_request_body)
        self.handler = handler
        self.queue: collections.deque[Request | bytes] = collections.deque()
        self.queued = 0  # bytes of the queued requests' bodies
        self.busy = False
        self.output = Output(self)

    def owes(self) -> bool:
        return self.busy or bool(self.queue)

    def backed_up(self) -> bool:
        return self.paused or len(self.queue) >= QUEUED or self.queued >= QUEUED_BYTES

    def quiet(self) -> bool:
        return not self.busy and not self.queue and (
            self.transport is None or not self.transport.get_write_buffer_size())

    def close(self) -> None:
        self.queue.clear()
        super().close()

    def abort(self) -> None:
        self.queue.clear()
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def _failed(self, error: Exception) -> None:
        """A handler failed (a bug of ours): a 500 if nothing of its answer was written;
        else the answer is cut off, as no 500 can follow part of one (the client would
        take it for the answer to its next request)."""
        if self.output.wrote:
            self.abort()
            return
        self.output(json_bytes(500, error_document(
            f"the server failed on this request ({type(error).__name__}); this is a "
            "bug in cdn-contract, please report it"), False))
        self.close()

    def on_message_complete(self) -> None:
        self.in_head, self.counting, self.deadline = False, True, float("inf")
        if self.closing:
            return
        if self.refused is not None:
            self.refuse(*self.refused)
        elif self.size > self.max_body:
            self.refuse(413, self.too_large())
        else:
            body = b"".join(self.body)
            self.queue.append(Request(self.parser.get_method(), self.target, self.headers,
                                      body, self.parser.should_keep_alive(), self.client))
            self.queued += len(body)
            if self.backed_up():
                self.stop_reading()  # resumed once the queue is answered
            self._start()

    def refuse(self, status: int, message: str) -> None:
        """Stop reading; answer `status` once every request before it is answered."""
        self.queue.append(json_bytes(status, error_document(message), False))
        self.closing, self.in_head, self.deadline = True, False, float("inf")
        self._start()

    def _start(self) -> None:
        if not self.busy:
            self.busy = True
            self.loop.create_task(self._work())

    async def _work(self) -> None:
        while self.queue and self.transport is not None:
            request = self.queue.popleft()
            if isinstance(request, bytes):  # refused: the answer, then the end
                self.output(request)
                self.queue.clear()
                self._hang_up()
                break
            self.queued -= len(request.body)
            self.output.wrote = False
            try:
                await self.handler.exchange(request, self.output)
            except Exception as error:  # a bug of ours: answer, keep serving the others
                self._failed(error)
                break
            if not request.keep_alive:
                self.close()
                break
            if self.paused and not await self.drained():  # the client reads first
                break
            if self.stopped and not self.backed_up():
                self.unblock()
        self.busy = False
        if not self.in_head:  # all answered: idle until the next request
            self.since = self.loop.time()
            self.deadline = self.since + self.keeper.limits.idle_timeout


async def listen(handler: Handler, host: str, port: int, keeper: Keeper | None = None
                 ) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    kept = keeper or Keeper(handler.limits)
    try:
        return await loop.create_server(lambda: Connection(handler, kept), host, port,
                                        backlog=2048)
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def bound_url(server: asyncio.Server, host: str) -> str:
    """The URL a listening server answers at, with the port actually bound (port 0: any)."""
    port = server.sockets[0].getsockname()[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def stop_requested() -> asyncio.Event:
    """An event SIGINT or SIGTERM sets. Call it before listening: a signal that arrives as
    soon as the port answers must reach the drain, not the default handler (exit -15)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def until_stopped(servers: list[tuple[asyncio.Server, Keeper]],
                        stop: asyncio.Event) -> None:
    """Keep the servers serving until `stop` (see stop_requested), then drain: no new
    connection is taken, and each open one is closed once it owes no response (at most
    DRAIN_SECONDS), so a write that was committed is also answered."""
    loop = asyncio.get_running_loop()
    await stop.wait()
    for server, _ in servers:
        server.close()
    deadline = loop.time() + DRAIN_SECONDS
    while True:
        owing = [c for _, keeper in servers for c in keeper.open if not c.quiet()]
        if not owing or loop.time() > deadline:
            break
        await asyncio.sleep(0.01)
    for _, keeper in servers:
        keeper.close_all()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main()` on uvloop when it is installed (it is Unix only; the standard loop is
    slower, not different). SIGINT and SIGTERM are handled as before once it returns:
    uvloop leaves its closed loop's handlers behind, and a process that served in-process
    (a test) then ignored Ctrl-C."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def serve(handler: Handler, host: str, port: int,
          started: Callable[[str], None] = lambda url: None) -> None:
    """Serve until SIGINT or SIGTERM; `started(url)` once listening, with the real port."""
    async def main() -> None:
        stop = stop_requested()
        keeper = Keeper(handler.limits)
        server = await listen(handler, host, port, keeper)
        started(bound_url(server, host))
        await until_stopped([(server, keeper)], stop)

    try:
        run(main)
    finally:
        handler.close()

