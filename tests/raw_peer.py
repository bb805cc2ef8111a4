"""A scripted HTTP server on raw sockets, for the generated client's tests: the server a
client meets in production (a reset, a body cut short, a byte every few seconds, a stall, a
redirect, a listing without end), which no well-behaved framework will play.

Each request is read (head and Content-Length body), recorded, and answered by the test's
script, which writes bytes, waits, resets or closes as it likes; the connection is then
closed. A second listener on another loopback address (`OTHER_HOST`) stands for "another
host": it answers 200 and records whatever arrives, so a test can assert that nothing did.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

OTHER_HOST = "127.0.0.27"  # this task's own loopback address (tests run in parallel)


@dataclass
class Exchange:
    """One request as it arrived, and the means to answer it."""

    connection: socket.socket
    head: bytes
    body: bytes
    number: int  # 0 for the first request the peer got
    stop: threading.Event

    @property
    def method(self) -> str:
        return self.head.split(b" ", 1)[0].decode()

    @property
    def target(self) -> str:
        return self.head.split(b" ", 2)[1].decode()

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode()
        return None

    def send(self, data: bytes) -> None:
        self.connection.sendall(data)

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
               reason: str = "Whatever") -> None:
        """A whole answer (JSON unless said otherwise), then the connection closes."""
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body)),
                  "Connection": "close", **(headers or {})}
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in fields.items()) + "\r\n"
        self.send(head.encode() + body)

    def drip(self, data: bytes, every: float) -> None:
        """`data` one byte at a time, `every` seconds apart, until the peer stops."""
        for byte in data:
            if self.stop.wait(every):
                return
            self.send(bytes([byte]))

    def stall(self) -> None:
        """Say nothing until the peer stops."""
        self.stop.wait()

    def reset(self) -> None:
        """Abort the connection: the client reads a reset (RST), not an end."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()


Script = Callable[[Exchange], None]


@dataclass
class Peer:
    url: str
    other_url: str
    requests: list[Exchange] = field(default_factory=list)
    other: list[bytes] = field(default_factory=list)  # what reached the other host


def _read_request(connection: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def _serve(listener: socket.socket, handle: Callable[[socket.socket], None],
           stop: threading.Event) -> None:
    listener.settimeout(0.1)  # to see the stop
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=handle, args=(connection,), daemon=True).start()


@contextmanager
def run_peer(script: Script) -> Iterator[Peer]:
    """The peer on 127.0.0.1 answering with `script`, and the other host on OTHER_HOST."""
    stop = threading.Event()
    main, other = socket.socket(), socket.socket()
    main.bind(("127.0.0.1", 0))
    other.bind((OTHER_HOST, 0))
    peer = Peer(f"http://127.0.0.1:{main.getsockname()[1]}",
                f"http://{OTHER_HOST}:{other.getsockname()[1]}")
    lock = threading.Lock()

    def handle(connection: socket.socket) -> None:
        with connection:
            request = _read_request(connection)
            if request is None:
                return
            with lock:
                exchange = Exchange(connection, *request, len(peer.requests), stop)
                peer.requests.append(exchange)
            with contextlib.suppress(OSError):  # the client went away, as tested often
                script(exchange)

    def record(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(2)
            try:
                peer.other.append(connection.recv(65536))
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                   b"Connection: close\r\n\r\n")
            except OSError:
                pass

    for listener, handler in ((main, handle), (other, record)):
        listener.listen(16)
        threading.Thread(target=_serve, args=(listener, handler, stop), daemon=True).start()
    try:
        yield peer
    finally:
        stop.set()
        for listener in (main, other):
            listener.close()
        time.sleep(0.05)  # let the scripts see the stop
