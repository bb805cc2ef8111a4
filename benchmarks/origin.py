"""The raw origin the attack benchmarks put behind the mock's edge and the proxy (soak.py
--attacks, hostile_origins.py): an HTTP/1.1 server on raw sockets that keeps connections
open, as an origin does, and makes its large answers as it sends them (a 4 GiB body costs
it no memory), so that what the figures measure is the server attacked, not this one.

    origin = Origin()       # serving on 127.0.0.1:origin.port from here on
    ... point the mock's --origin-port 80 or the proxy's --upstream at it ...
    origin.shutdown()
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Callable
from io import BufferedIOBase

MIB = 1024 * 1024
BLOCK = b"x" * MIB


def _sized(declared: int, sent: int) -> Callable[[BufferedIOBase], bool]:
    """A 200 that declares `declared` bytes and sends `sent` of them, a MiB at a time; the
    connection stays open only if the answer was whole."""
    def write(out: BufferedIOBase) -> bool:
        out.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                  b"content-length: %d\r\n\r\n" % declared)
        for _ in range(sent // MIB):
            out.write(BLOCK)
        return sent == declared
    return write


def _endless_header(out: BufferedIOBase) -> bool:
    """One header line that never ends (4 GiB, or until the reader hangs up)."""
    out.write(b"HTTP/1.1 200 OK\r\nx-endless: ")
    for _ in range(4096):
        out.write(BLOCK)
    return False


def _one_byte(out: BufferedIOBase) -> bool:
    # one write: a second small one would wait for a delayed ACK (18 requests/s)
    out.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1\r\n\r\nx")
    return True


ANSWERS: dict[bytes, Callable[[BufferedIOBase], bool]] = {
    b"/big": _sized(16 * MIB, 16 * MIB),
    b"/huge": _sized(4096 * MIB, 4096 * MIB),
    b"/cut": _sized(64 * MIB, 16 * MIB),  # then closed: an answer cut short
    b"/endless": _endless_header,
}


class Origin(socketserver.ThreadingTCPServer):
    """/big: 16 MiB; /huge: 4 GiB; /cut: 64 MiB declared, 16 MiB sent, then closed;
    /endless: a header that never ends; anything else: one byte."""

    daemon_threads = allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.port: int = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Answer(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(OSError):
            while line := self.rfile.readline():
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass  # the headers: no answer depends on them
                path = line.split()[1].partition(b"?")[0]
                if not ANSWERS.get(path, _one_byte)(self.wfile):
                    return
