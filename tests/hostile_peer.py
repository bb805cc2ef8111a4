"""A hostile HTTP server on loopback for the tests of what our clients do against servers
that mean harm (issue 45), with a second listener on another loopback address: the "other
host", which records whatever arrives there (a token must never).

    with other_host() as other, hostile_peer(script, upstream=mock_url) as peer:
        ... point conform (or the proxy, the client) at peer.url ...
        assert other.seen == []

`script(request, upstream)` answers each request: raw bytes (written, then the connection
closed), an iterable of bytes (each written as it comes: a slow or endless answer; the
generator may sleep), or None to pass the request to `upstream` (a real mock) and relay its
answer. `run_measured` runs a command (conform) and says its peak RSS and wall time. Each
connection carries one exchange (`Connection: close`). Raw sockets, so that an answer may
be anything a hostile server can send.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

OTHER_ADDRESS = "127.0.0.21"  # the "other host": a second loopback address


@dataclass
class Request:
    method: str
    target: str  # the path and query, as sent
    headers: dict[str, str]  # names in lower case
    body: bytes = b""


Reply = bytes | Iterable[bytes] | None
Upstream = Callable[[Request], httpx.Response]  # the request as the real mock answers it
Script = Callable[[Request, Upstream], Reply]


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*line.split(" ", 2), "", ""][:3]
    headers = {}
    for one in lines:
        name, _, value = one.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body[:length])


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: str, answer: Callable[[Request], Reply]) -> None:
        self.answer = answer
        super().__init__((address, 0), _Handler)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        with contextlib.suppress(OSError):
            request = _read_request(sock)
            if request is None:
                return
            reply = self.server.answer(request)  # type: ignore[attr-defined]
            for chunk in [reply] if isinstance(reply, bytes) else reply or []:
                sock.sendall(chunk)


def response(status: int = 200, body: bytes = b"", *headers: str,
             reason: str = "X") -> bytes:
    """A whole HTTP/1.1 answer with a Content-Length (unless a header sets framing)."""
    framed = any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers)
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close", *headers]
    if not framed:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def json_answer(body: bytes, status: int = 200, *headers: str) -> bytes:
    return response(status, body, "Content-Type: application/json", *headers)


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


@dataclass
class Listener:
    """A server of ours on loopback, answering with `answer`, that records each request."""

    url: str
    seen: list[Request] = field(default_factory=list)


@contextlib.contextmanager
def _serve(address: str, answer: Callable[[Request], Reply]) -> Iterator[Listener]:
    listener: Listener

    def recorded(request: Request) -> Reply:
        listener.seen.append(request)
        return answer(request)

    server = _Server(address, recorded)
    listener = Listener(f"http://{address}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def other_host(address: str = OTHER_ADDRESS) -> Iterator[Listener]:
    """The other host: answers 200 `{}` to anything and records it (`seen`)."""
    with _serve(address, lambda request: json_answer(b"{}")) as listener:
        yield listener


@contextlib.contextmanager
def hostile_peer(script: Script, upstream: str | None = None,
                 address: str = "127.0.0.1") -> Iterator[Listener]:
    """The hostile server: `script(request, upstream)` answers; None relays the request to
    `upstream` (a real mock). A script may also ask `upstream` itself and change what it
    answered (`relayed`)."""
    with httpx.Client(base_url=upstream or "http://invalid", timeout=30) as client:
        def ask(request: Request) -> httpx.Response:
            # Host kept: the mock writes its Locations and links for the peer
            headers = {k: v for k, v in request.headers.items()
                       if k not in ("connection", "content-length", "accept-encoding")}
            return client.request(request.method, request.target, headers=headers,
                                  content=request.body)

        def answer(request: Request) -> Reply:
            reply = script(request, ask)
            return reply if reply is not None else relayed(ask(request))
        with _serve(address, answer) as listener:
            yield listener


def relayed(answer: httpx.Response, body: bytes | None = None, **headers: str) -> bytes:
    """An upstream's answer as bytes to write back (framing redone: one exchange per
    connection), with `body` and `headers` (`Location="..."`) in place of its own."""
    replaced = {name.lower() for name in headers}
    kept = [f"{k}: {v}" for k, v in answer.headers.multi_items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                 "content-encoding", *replaced)]
    return response(answer.status_code, answer.content if body is None else body, *kept,
                    *(f"{k}: {v}" for k, v in headers.items()), reason=answer.reason_phrase)


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
