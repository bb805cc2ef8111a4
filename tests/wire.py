"""A raw HTTP/1.1 client connection for the tests that need the bytes on the wire:
pipelining, interim responses, malformed and hostile requests."""

from __future__ import annotations

import socket
from typing import NamedTuple


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class Wire:
    """One client connection that writes raw bytes and reads whole responses."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def reply(self, head_only: bool = False) -> Reply:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed mid-response: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Reply(int(status_line.split()[1]), headers, body)

    def closed(self) -> bool:
        """True when the server has closed its end (and sent nothing more)."""
        return not self.buffer and not self._fill()

    def close(self) -> None:
        self.sock.close()
