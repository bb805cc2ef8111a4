"""A hostile HTTP server on loopback, for the tests of what our clients (conform, the proxy,
the generated client) do against servers that mean harm (issues 45 and 47), and a second
listener on another loopback address: the "other host", which records whatever arrives there
(a token must never).

    def script(exchange: Exchange) -> Reply:
        if exchange.target.endswith("/flavors"):
            return huge_body(2 << 30)            # bytes, or an iterable written as it comes
        if exchange.method == "DELETE":
            exchange.drip(b"HTTP/1.1 204 X\\r\\n\\r\\n", 0.3)   # or act on the connection
            return None
        return None                              # None: relayed to `upstream` (a real mock)

    with other_host() as other, hostile_peer(script, upstream=mock_url) as peer:
        ... point conform (or the proxy, the client) at peer.url ...
    assert other.seen == [] and [e.method for e in peer.seen] == [...]

Each connection carries one exchange: the request is read (head, body chunked or not),
recorded in `seen`, and handed to the script as an `Exchange`, which holds the parsed request
and the means to act on the connection (send, answer, drip, stall, reset) or to ask the
upstream (`ask_upstream`). What the script returns is then written: bytes, an iterable of
bytes (each written as it comes: a slow or endless answer), or None, which relays the request
to `upstream` unless the script acted on the connection itself; the connection then closes.
When the test leaves the block, a stop event ends drips, stalls and endless answers.

`raw_origin(answer)` is the same listener as an origin (or upstream) behind the edge or the
proxy: it keeps its connections alive, as they expect of an origin, and answers each request
with the parts `answer(host, path)` gives (bytes to write, a float to sleep, None to close):
what a hostile or broken origin sends, including bytes no request asked for.

`run_measured` runs a command (conform) and says its peak RSS and wall time. Raw sockets,
so that an answer may be anything a hostile server can send.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

OTHER_ADDRESS = "127.0.0.21"  # the "other host": a second loopback address
READ_TIMEOUT = 30  # a client that sends half a request does not hold its thread for ever


@dataclass
class Exchange:
    """One request as it arrived (`headers` named in lower case), and the means to answer
    it: the same object serves a script that returns its answer and one that acts."""

    method: str
    target: str  # the path and query, as sent
    headers: dict[str, str]
    body: bytes
    connection: socket.socket = field(repr=False)
    stop: threading.Event = field(repr=False)  # set when the test is over
    number: int = 0  # 0 for the first request the listener got
    upstream: httpx.Client | None = field(default=None, repr=False)
    acted: bool = False  # the script wrote, stalled or reset: nothing to relay

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def send(self, data: bytes) -> None:
        self.acted = True
        self.connection.sendall(data)

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
               reason: str = "Whatever") -> None:
        """A whole answer (JSON unless said otherwise), then the connection closes."""
        self.send(response(status, body, *(f"{k}: {v}" for k, v in {
            "Content-Type": "application/json", **(headers or {})}.items()), reason=reason))

    def drip(self, data: bytes, every: float) -> None:
        """`data` one byte at a time, `every` seconds apart, until the test is over."""
        for byte in data:
            if self.stop.wait(every):
                return
            self.send(bytes([byte]))

    def stall(self) -> None:
        """Say nothing until the test is over."""
        self.acted = True
        self.stop.wait()

    def reset(self) -> None:
        """Abort the connection: the client reads a reset (RST), not an end."""
        self.acted = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def ask_upstream(self) -> httpx.Response:
        """This request as the upstream (a real mock) answers it, for a script to change."""
        if self.upstream is None:
            raise RuntimeError("this peer has no upstream to ask")
        # Host kept: the mock writes its Locations and links for the peer
        headers = {k: v for k, v in self.headers.items()
                   if k not in ("connection", "content-length", "accept-encoding")}
        return self.upstream.request(self.method, self.target, headers=headers,
                                     content=self.body)


Reply = bytes | Iterable[bytes] | None
Script = Callable[[Exchange], Reply]
Part = bytes | float | None  # bytes to write, seconds to sleep, None to close
Answer = bytes | list[Part]  # a raw origin's answer to one request


@dataclass
class Listener:
    """A server of ours on loopback, and every request it got, in order."""

    url: str
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    seen: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def asked(self) -> list[tuple[str, str]]:
        """(Host, target) of every request, in order: what an origin was asked for."""
        with self.lock:
            return [(exchange.header("host") or "", exchange.target) for exchange in self.seen]

    def record(self, exchange: Exchange) -> None:
        with self.lock:
            exchange.number = len(self.seen)
            self.seen.append(exchange)


class _Received(io.RawIOBase):
    """What a connection receives, under a buffered reader that keeps the bytes one request
    did not use for the next (keep-alive, pipelining). Unlike socket.makefile it holds no
    reference to the socket, which would put off the close of an `Exchange.reset`."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        return self.connection.recv_into(buffer)


def _read_request(reader: io.BufferedIOBase, connection: socket.socket,
                  stop: threading.Event) -> Exchange | None:
    """The next request on `connection` (`reader` its bytes): as much of it as came, None
    if nothing did."""
    lines = []
    while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
        lines.append(line.decode("latin-1").rstrip("\r\n"))
    if not lines:
        return None
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for one in lines[1:]:
        name, _, value = one.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Exchange(method, target, headers, _read_body(reader, headers), connection, stop)


def _read_body(reader: io.BufferedIOBase, headers: dict[str, str]) -> bytes:
    """The request's body, chunked or of Content-Length (none if that is not a number): read
    whole, or the next request on a kept-alive connection would begin inside it."""
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        length = headers.get("content-length", "")
        return reader.read(int(length)) if length.isdigit() else b""
    body = b""
    while (size := _chunk_size(reader.readline())) > 0:
        body += reader.read(size)
        reader.readline()  # the chunk's CRLF
    while reader.readline() not in (b"\r\n", b"\n", b""):  # the trailer
        pass
    return body


def _chunk_size(line: bytes) -> int:
    """A chunk's size line read as the last chunk (0) when it is not hex: a malformed body
    ends there, instead of a ValueError in the connection's thread."""
    size = line.split(b";")[0].strip()
    return int(size, 16) if size and all(c in b"0123456789abcdefABCDEF" for c in size) else 0


def _write(exchange: Exchange, parts: Iterable[Part]) -> bool:
    """`parts` in turn on the exchange's connection, until the test is over: whether the
    connection may carry another request (not after a None, nor once the test is over)."""
    for part in parts:
        if part is None or exchange.stop.is_set():
            return False
        if isinstance(part, float):
            if exchange.stop.wait(part):
                return False
        else:
            exchange.send(part)
    return True


def _accept(server: socket.socket, handle: Callable[[socket.socket], None],
            stop: threading.Event) -> None:
    server.settimeout(0.1)  # to see the stop
    while not stop.is_set():
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        threading.Thread(target=handle, args=(connection,), daemon=True).start()


@contextlib.contextmanager
def _serve(address: str, answer: Callable[[Exchange], bool],
           idle: float | None = READ_TIMEOUT) -> Iterator[Listener]:
    """A listener on `address` (a port of its own): each request on a connection recorded,
    then `answer`ed, which says whether the connection carries another (waited for up to
    `idle` seconds); a thread per connection, all told to stop when the block ends."""
    server = socket.socket()
    server.bind((address, 0))
    server.listen(64)
    listener = Listener(f"http://{address}:{server.getsockname()[1]}")

    open_connections: set[socket.socket] = set()  # for the stop to end them

    def handle(connection: socket.socket) -> None:
        reader = io.BufferedReader(_Received(connection))
        with listener.lock:
            open_connections.add(connection)
        with connection, contextlib.suppress(OSError):  # the client went away, as tested often
            connection.settimeout(idle)
            while not listener.stop.is_set() and \
                    (exchange := _read_request(reader, connection, listener.stop)) is not None:
                listener.record(exchange)
                if not answer(exchange):
                    break
        with listener.lock:
            open_connections.discard(connection)

    accepting = threading.Thread(target=_accept, args=(server, handle, listener.stop),
                                 daemon=True)
    accepting.start()
    try:
        yield listener
    finally:
        listener.stop.set()
        accepting.join()
        server.close()
        with listener.lock:  # a kept-alive connection waiting for a request ends too
            for connection in open_connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def other_host(address: str = OTHER_ADDRESS) -> Iterator[Listener]:
    """The other host: answers 200 `{}` to anything and records it (`seen`)."""
    with _serve(address, lambda exchange: _write(exchange, [json_answer(b"{}"), None])) as \
            listener:
        yield listener


@contextlib.contextmanager
def hostile_peer(script: Script, upstream: str | None = None,
                 address: str = "127.0.0.1") -> Iterator[Listener]:
    """The hostile server: `script(exchange)` answers or acts; None (and no act) relays the
    request to `upstream` (a real mock)."""
    asking = httpx.Client(base_url=upstream, timeout=30) if upstream else contextlib.nullcontext()
    with asking as client:
        def answer(exchange: Exchange) -> bool:
            exchange.upstream = client
            reply = script(exchange)
            if reply is None and client is not None and not exchange.acted:
                reply = relayed(exchange.ask_upstream())
            _write(exchange, [reply] if isinstance(reply, bytes) else reply or [])
            return False  # one exchange per connection
        with _serve(address, answer) as listener:
            yield listener


@contextlib.contextmanager
def raw_origin(answer: Callable[[str, str], Answer],
               address: str = "127.0.0.1") -> Iterator[Listener]:
    """An origin that answers every request with the parts `answer(host, path)` gives, on
    connections kept alive (and never timed out, as the edge's and the proxy's pools expect
    of an origin): bytes to write, a float to sleep that many seconds, None to close."""
    def reply(exchange: Exchange) -> bool:
        parts = answer(exchange.header("host") or "", exchange.target)
        return _write(exchange, [parts] if isinstance(parts, bytes) else parts)
    with _serve(address, reply, idle=None) as listener:
        yield listener


def response(status: int = 200, body: bytes = b"", *headers: str,
             reason: str = "X", close: bool = True) -> bytes:
    """A whole HTTP/1.1 answer with a Content-Length (unless a header sets framing), that
    ends its connection unless `close` is False."""
    framed = any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers)
    head = [f"HTTP/1.1 {status} {reason}", *(["Connection: close"] if close else []), *headers]
    if not framed:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def json_answer(body: bytes, status: int = 200, *headers: str) -> bytes:
    return response(status, body, "Content-Type: application/json", *headers)


def ok(body: bytes, *headers: str) -> bytes:
    """A 200 that leaves its connection open: what a raw origin answers most often."""
    return response(200, body, *headers, reason="OK", close=False)


def relayed(answer: httpx.Response, body: bytes | None = None, **headers: str) -> bytes:
    """An upstream's answer as bytes to write back (framing redone: one exchange per
    connection), with `body` and `headers` (`Location="..."`) in place of its own."""
    replaced = {name.lower() for name in headers}
    kept = [f"{k}: {v}" for k, v in answer.headers.multi_items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                 "content-encoding", *replaced)]
    return response(answer.status_code, answer.content if body is None else body, *kept,
                    *(f"{k}: {v}" for k, v in headers.items()), reason=answer.reason_phrase)


def huge_body(size: int) -> Iterator[bytes]:
    """A 200 that announces `size` bytes of JSON-looking text and sends them."""
    yield (f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
           f"Content-Length: {size}\r\n\r\n").encode()
    block = b" " * 65536
    for _ in range(size // len(block)):
        yield block


def endless_chunks() -> Iterator[bytes]:
    """A 200 whose chunked body never ends."""
    yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    block = b" " * 65536
    for _ in itertools.count():
        yield b"%x\r\n%s\r\n" % (len(block), block)


def bomb(size: int, coding: str = "gzip") -> bytes:
    """A 200 whose body inflates to `size` bytes of spaces (`gzip` or `deflate`), packed a
    MiB at a time (the test never holds the inflated body)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | (16 if coding == "gzip" else 0))
    block = b" " * (1 << 20)
    packed = b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()
    return response(200, packed, "Content-Type: application/json",
                    f"Content-Encoding: {coding}")


def trickle(every: float, body: bytes = b'{"x": 1}') -> Iterator[bytes]:
    """A 200 that sends its body one byte every `every` seconds."""
    yield (f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode()
    for byte in body:
        time.sleep(every)
        yield bytes([byte])


def deep_json(depth: int) -> bytes:
    return json_answer(b"[" * depth + b"]" * depth)


RSS_WRAPPER = ("import resource, subprocess, sys\n"
               "done = subprocess.run(sys.argv[1:])\n"
               "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
               "print(f'peak-rss-kib={peak}', file=sys.stderr)\n"
               "sys.exit(done.returncode)\n")


def run_measured(command: list[str], timeout: float) -> tuple[subprocess.CompletedProcess[str],
                                                               float, float]:
    """`command` run to its end: the process, its peak RSS in MB (its largest process,
    children included) and its wall time in seconds."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *command], capture_output=True,
                          text=True, timeout=timeout)
    peak = re.search(r"peak-rss-kib=(\d+)", done.stderr)
    return done, int(peak.group(1)) / 1024 if peak else 0.0, time.monotonic() - started
